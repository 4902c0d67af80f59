import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from colorizer.datasets import derangement


@settings(max_examples=60, deadline=None)
@given(n=st.integers(2, 300), seed=st.integers(-2**40, 2**40))
def test_derangement_is_a_permutation_without_fixed_points(n, seed):
    perm = derangement(n, seed)
    assert sorted(perm.tolist()) == list(range(n))
    assert not np.any(perm == np.arange(n))
    np.testing.assert_array_equal(perm, derangement(n, seed))  # deterministic


def test_seeds_give_different_pairings():
    assert not np.array_equal(derangement(50, 0), derangement(50, 1))


def test_two_items_swap():
    np.testing.assert_array_equal(derangement(2, 7), [1, 0])


@pytest.mark.parametrize('n', [0, 1])
def test_too_few_items(n):
    with pytest.raises(ValueError, match='at least 2'):
        derangement(n, 0)
