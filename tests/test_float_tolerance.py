"""The float32 tolerance helper: the bound follows magnitude and reduction length, and an error
beyond rounding fails."""
import math

import pytest
import torch

from float_tolerance import EPS32, K, assert_close_float32, float32_atol


def test_bound_scales_with_magnitude_and_sqrt_of_the_length():
    assert float32_atol(1.0, 1) == pytest.approx(K * EPS32)
    assert float32_atol(10.0, 100) == pytest.approx(K * EPS32 * 10 * math.sqrt(100))


def test_reordered_float32_sum_passes_and_a_real_error_fails():
    torch.manual_seed(0)
    terms = torch.randn(64, 4096)
    forward, backward = terms.sum(dim=1), terms.flip(1).sum(dim=1)  # another summation order
    assert_close_float32(backward, forward, 4096, magnitude=terms.abs().max())
    wrong = forward.clone()
    wrong[3] += 1e-3  # a bug-sized error, far above rounding
    with pytest.raises(AssertionError, match='float32 bound'):
        assert_close_float32(wrong, forward, 4096, magnitude=terms.abs().max())
