"""RegionColorError: ΔE to the oracle per region and the region colour accuracy."""
import numpy as np
import pytest
from skimage.color import rgb2lab

from colorizer.evaluation.metrics import RegionColorError
from colorizer.evaluation.metrics.region_color_error import colour_assignment
from eval_samples import region_sample

PALETTE = np.array([[200, 30, 30], [30, 160, 40], [40, 60, 220]])


def evaluate(metric, samples):
    metric.process(None, samples)
    return metric.evaluate(len(samples))


def test_oracle_output_has_zero_error_and_full_accuracy():
    metric = RegionColorError()
    result = evaluate(metric, [region_sample(PALETTE, PALETTE),
                               region_sample(PALETTE[::-1].copy(), PALETTE[::-1].copy(),
                                             as_dict=True)])
    assert result['random_ref/delta_e'] == pytest.approx(0, abs=1e-9)
    for region in range(3):
        assert result[f'random_ref/delta_e/{region}'] == pytest.approx(0, abs=1e-9)
    assert result['random_ref/region_accuracy'] == 1.0


def test_permuted_palette_is_wrong_everywhere():
    permuted = PALETTE[[1, 2, 0]]
    result = evaluate(RegionColorError(), [region_sample(PALETTE, permuted)])
    assert result['random_ref/region_accuracy'] == 0.0
    assert result['random_ref/delta_e'] > 50


def test_wrong_palette_error_is_the_lab_distance():
    wrong = np.array([[120, 120, 120]] * 3)
    result = evaluate(RegionColorError(), [region_sample(PALETTE, wrong)])
    lab = rgb2lab(np.concatenate([PALETTE, wrong[:1]])[None] / 255.0)[0]
    expected = [np.linalg.norm(lab[r] - lab[3]) for r in range(3)]
    for region in range(3):
        assert result[f'random_ref/delta_e/{region}'] == pytest.approx(expected[region])
    assert result['random_ref/delta_e'] > 30


def test_region_names_from_dataset_meta_and_ignore_index():
    metric = RegionColorError(ignore_index=2, prefix='toon')
    metric.dataset_meta = dict(regions=['skin', 'hair', 'background'])
    output = PALETTE.copy()
    output[2] = [0, 0, 0]  # wrong only in the ignored region
    result = evaluate(metric, [region_sample(PALETTE, output)])
    assert set(result) == {'toon/delta_e', 'toon/delta_e/skin', 'toon/delta_e/hair',
                           'toon/region_accuracy'}
    assert result['toon/delta_e'] == pytest.approx(0, abs=1e-9)


def test_colour_assignment_skips_regions_without_a_differently_coloured_rival():
    same = np.zeros((2, 3))
    assert colour_assignment(same, same) == (0, 0)
    ref = np.array([[50.0, 0, 0], [50.0, 40, 0], [50.0, 40, 0]])
    out = np.array([[50.0, 5, 0], [50.0, 38, 0], [50.0, 2, 0]])
    assert colour_assignment(out, ref) == (2, 3)


def test_missing_oracle_is_explained():
    sample = region_sample(PALETTE, PALETTE, as_dict=True)
    del sample['oracle']
    with pytest.raises(KeyError, match='oracle'):
        RegionColorError().process(None, [sample])
