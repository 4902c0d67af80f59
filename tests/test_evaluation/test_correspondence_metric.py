"""CorrespondenceMetric on data samples with hand-built maps of known values."""
import pytest
import torch

from colorizer.evaluation.metrics import CorrespondenceMetric
from colorizer.structures import ColorizationDataSample


def _labels(blocks):
    """(2, 2) region ids per 2x2-pixel token -> (4, 4) pixel labels."""
    return torch.tensor(blocks).repeat_interleave(2, 0).repeat_interleave(2, 1)


def _sample(mass=0.7, protocol='random'):
    sketch = _labels([[0, 1], [2, 2]])
    reference = _labels([[2, 0], [1, 2]])
    rows, cols = sketch[::2, ::2].flatten(), reference[::2, ::2].flatten()
    same = (rows[:, None] == cols[None, :]).float()
    attn = mass * same / same.sum(-1, keepdim=True) + (1 - mass) * (1 - same) / (
        1 - same).sum(-1, keepdim=True)
    diagonal = torch.full((4, 4), 0.1)
    diagonal.fill_diagonal_(0.7)  # rows sum to 1: 0.7 on the diagonal
    return ColorizationDataSample(
        labels=sketch, reference_labels=reference, cross_attention=attn * 3.0,
        diagonal_attention=diagonal, reference_token_norm=torch.tensor([1.0, 2.0, 3.0, 4.0]),
        metainfo=dict(protocol=protocol))


def test_known_region_and_diagonal_mass():
    metric = CorrespondenceMetric()
    metric.process({}, [_sample(0.7), _sample(0.9)])
    out = metric.evaluate(2)
    assert out['random_ref/corr/region_mass'] == pytest.approx(0.8)
    # chance: rows of region 0, 1 see 1 of 4 tokens, rows of region 2 see 2 of 4
    assert out['random_ref/corr/region_chance'] == pytest.approx((0.25 + 0.25 + 0.5 + 0.5) / 4)
    assert out['random_ref/corr/diagonal_mass'] == pytest.approx(0.7)
    assert out['random_ref/corr/diagonal_chance'] == pytest.approx(0.25)
    for key in ('entropy', 'entropy_max', 'row_max', 'topk_mass', 'mass_norm_spearman'):
        assert f'random_ref/corr/{key}' in out


def test_samples_without_labels_give_the_label_free_statistics():
    sample = _sample()
    del sample.labels
    metric = CorrespondenceMetric()
    metric.process({}, [sample])
    out = metric.evaluate(1)
    assert 'random_ref/corr/region_mass' not in out and 'random_ref/corr/entropy' in out


def test_missing_map_says_how_to_get_it():
    sample = _sample()
    del sample.cross_attention
    with pytest.raises(KeyError, match='correspondence_outputs=True'):
        CorrespondenceMetric().process({}, [sample])


def test_ignore_index_leaves_those_sketch_rows_out():
    # sketch tokens: [0, 1, 2, 2]; without region 0's row the chance is (0.25 + 0.5 + 0.5) / 3
    sample = _sample(0.7)
    attn = sample.cross_attention / 3.0
    attn[1] = torch.tensor([0.0, 0.0, 1.0, 0.0])  # region 1's row: all mass on its own token
    sample.cross_attention = attn
    metric = CorrespondenceMetric(ignore_index=0)
    metric.process({}, [sample])
    out = metric.evaluate(1)
    assert out['random_ref/corr/region_mass'] == pytest.approx((1.0 + 0.7 + 0.7) / 3)
    assert out['random_ref/corr/region_chance'] == pytest.approx((0.25 + 0.5 + 0.5) / 3)
    # the argument is checked where it is given
    with pytest.raises(ValueError, match='ignore_index'):
        CorrespondenceMetric(ignore_index=-2)
