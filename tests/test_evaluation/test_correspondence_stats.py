"""Correspondence statistics on hand-built maps whose values are known."""
import math

import pytest
import torch

from colorizer.evaluation.correspondence_stats import correspondence_statistics
from colorizer.structures.token_grid import pool_labels, token_grid


def region_map(rows, cols, mass):
    """A (1, N, N') map giving each row exactly ``mass`` on its own region, spread evenly."""
    same = (rows[:, None] == cols[None, :]).float()
    other = 1.0 - same
    attn = mass * same / same.sum(-1, keepdim=True) + (1 - mass) * other / other.sum(
        -1, keepdim=True)
    return attn[None]


def test_region_mass_of_a_map_with_known_mass():
    rows = torch.tensor([0, 0, 1, 1, 2, 2])
    cols = torch.tensor([0, 1, 1, 2, 2, 2, 0, 1])
    stats = correspondence_statistics(region_map(rows, cols, 0.7), rows[None], cols[None])
    assert stats['region_mass'].item() == pytest.approx(0.7, abs=1e-6)
    # chance: uniform map, share of the reference tokens in the row's region
    chance = ((2 / 8) * 2 + (3 / 8) * 2 + (3 / 8) * 2) / 6
    assert stats['region_chance'].item() == pytest.approx(chance)


def test_region_mass_reads_the_row_normalised_map():
    # scaling a row (SGA's Â rows do not sum to 1) must not change the shares
    rows, cols = torch.tensor([0, 1]), torch.tensor([0, 1, 1])
    attn = region_map(rows, cols, 0.9) * torch.tensor([[3.0], [0.5]])
    stats = correspondence_statistics(attn, rows[None], cols[None])
    assert stats['region_mass'].item() == pytest.approx(0.9)


def test_unlabelled_rows_are_left_out():
    rows, cols = torch.tensor([0, -1]), torch.tensor([0, 1])
    attn = torch.tensor([[[1.0, 0.0], [0.0, 1.0]]])
    assert correspondence_statistics(attn, rows[None], cols[None])['region_mass'].item() == 1.0


def test_entropy_row_max_topk_of_uniform_and_one_hot_rows():
    n = 16
    uniform = correspondence_statistics(torch.ones(1, 4, n), topk=4)
    assert uniform['entropy'].item() == pytest.approx(math.log(n))
    assert uniform['entropy_max'].item() == pytest.approx(math.log(n))
    assert uniform['row_max'].item() == pytest.approx(1 / n)
    assert uniform['topk_mass'].item() == pytest.approx(4 / n)
    one_hot = torch.zeros(1, 4, n)
    one_hot[0, torch.arange(4), torch.tensor([3, 1, 2, 0])] = 5.0
    stats = correspondence_statistics(one_hot, topk=4)
    assert stats['entropy'].item() == pytest.approx(0.0, abs=1e-6)
    assert stats['row_max'].item() == pytest.approx(1.0)
    assert stats['topk_mass'].item() == pytest.approx(1.0)


def test_diagonal_mass():
    n = 5
    attn = torch.full((1, n, n), 0.1 / (n - 1))
    attn[0].diagonal().fill_(0.9)
    stats = correspondence_statistics(torch.ones(1, n, n), diagonal_attn=attn)
    assert stats['diagonal_mass'].item() == pytest.approx(0.9)
    assert stats['diagonal_chance'].item() == pytest.approx(1 / n)


def test_mass_norm_spearman():
    norm = torch.tensor([[1.0, 3.0, 2.0, 5.0]])
    # every row puts its mass in proportion to the norm: rank correlation 1
    attn = norm[:, None, :].expand(1, 3, 4).clone()
    assert correspondence_statistics(attn, reference_norm=norm)[
        'mass_norm_spearman'].item() == pytest.approx(1.0)
    reverse = correspondence_statistics(1.0 / attn, reference_norm=norm)
    assert reverse['mass_norm_spearman'].item() == pytest.approx(-1.0)
    # uniform map: no order to correlate
    assert math.isnan(correspondence_statistics(
        torch.ones(1, 3, 4), reference_norm=norm)['mass_norm_spearman'].item())


def test_pool_labels_by_majority():
    labels = torch.tensor([[[0, 0, 1, 1],
                            [0, 2, 1, 1],
                            [3, 3, -1, -1],
                            [3, 2, -1, -1]]])
    # top-left block: three 0s; bottom-right: no valid pixel -> -1
    assert pool_labels(labels, (2, 2)).tolist() == [[0, 1, 3, -1]]
    # a 2-2 tie goes to the smaller id
    tie = torch.tensor([[[4, 4], [1, 1]]])
    assert pool_labels(tie, (1, 1)).tolist() == [[1]]


def test_token_grid():
    assert token_grid(64, (64, 64)) == (8, 8)
    assert token_grid(32, (32, 64)) == (4, 8)
    with pytest.raises(ValueError, match='do not form a grid'):
        token_grid(60, (64, 64))


def test_shape_errors_name_the_shapes():
    with pytest.raises(ValueError, match='do not match'):
        correspondence_statistics(torch.ones(1, 4, 4), torch.zeros(1, 3), torch.zeros(1, 4))
