"""SegmentAccuracy on hand-built outputs whose score is known."""
import numpy as np
import pytest
import torch
from skimage.color import deltaE_cie76, rgb2lab

from colorizer.evaluation.metrics import SegmentAccuracy
from colorizer.evaluation.metrics.segment_accuracy import segment_scores
from colorizer.registry import METRICS

RED, GREEN, BLUE, WHITE = (255, 0, 0), (0, 160, 0), (0, 0, 255), (255, 255, 255)


def drawing():
    """Paper (0), three 10x10 regions (1-3) separated by ink (-1), a 9-px region 4."""
    labels = np.zeros((24, 36), np.int64)
    target = np.full((24, 36, 3), 255, np.uint8)
    for k, (x, colour) in enumerate(((1, RED), (13, GREEN), (25, BLUE)), start=1):
        labels[1:13, x - 1:x + 11] = -1
        labels[2:12, x:x + 10] = k
        target[1:13, x - 1:x + 11] = 0
        target[2:12, x:x + 10] = colour
    labels[15:18, 15:18] = 4
    target[15:18, 15:18] = RED
    return target, labels


def sample(output, target, labels, **meta):
    chw = [torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1))) for a in (output, target)]
    return dict(output=chw[0], target=chw[1], labels=torch.from_numpy(labels),
                metainfo=dict(protocol='self', **meta))


def de(a, b):
    lab = [rgb2lab(np.array([[c]], np.float64) / 255.0) for c in (a, b)]
    return float(deltaE_cie76(*lab)[0, 0])


def evaluate(samples, **kwargs):
    metric = SegmentAccuracy(**kwargs)
    metric.process({}, samples)
    return metric.evaluate(len(samples))


def test_perfect_output_scores_one_and_zero_delta_e():
    target, labels = drawing()
    result = evaluate([sample(target, target, labels)], ignore_index=0)
    assert result == {'self_ref/segment_accuracy': 1.0, 'self_ref/segment_delta_e': 0.0}


def test_swapped_regions_are_wrong_and_delta_e_is_their_colour_distance():
    target, labels = drawing()
    output = target.copy()
    output[labels == 1], output[labels == 2] = GREEN, RED
    output[labels == 4] = BLUE  # too small to be scored: changes nothing
    result = evaluate([sample(output, target, labels)], ignore_index=0)
    assert result['self_ref/segment_accuracy'] == pytest.approx(1 / 3)
    assert result['self_ref/segment_delta_e'] == pytest.approx(
        (100 * de(RED, GREEN) * 2) / 300, rel=1e-6)
    # with a smaller minimum the 9-px region counts too, wrongly coloured
    result = evaluate([sample(output, target, labels)], ignore_index=0, min_pixels=9)
    assert result['self_ref/segment_accuracy'] == pytest.approx(1 / 4)


def test_near_colour_is_right_and_paper_scored_unless_ignored():
    target, labels = drawing()
    output = target.copy()
    output[labels == 1] = (230, 40, 30)  # off, but nearest to its own red
    output[labels == 0] = (200, 200, 190)  # greyish paper: still nearest to white
    scores = segment_scores(output, target, labels)
    assert scores['regions'] == 4 and scores['correct'] == 4
    assert scores['pixels'] == int((labels >= 0).sum()) - 9
    output[labels == 0] = BLUE
    assert segment_scores(output, target, labels)['correct'] == 3
    assert segment_scores(output, target, labels, ignore_index=0)['correct'] == 3
    assert segment_scores(output, target, labels, ignore_index=0)['regions'] == 3


def test_regions_of_one_colour_are_not_rivals():
    target, labels = drawing()
    target[labels == 2] = RED  # regions 1 and 2 alike
    output = target.copy()
    output[labels == 1] = (250, 10, 0)
    scores = segment_scores(output, target, labels, ignore_index=0)
    assert scores['correct'] == 3


def test_pooled_over_samples_and_refuses_inexact_targets():
    target, labels = drawing()
    wrong = target.copy()
    wrong[labels == 3] = GREEN
    result = evaluate([sample(target, target, labels), sample(wrong, target, labels)],
                      ignore_index=0)
    assert result['self_ref/segment_accuracy'] == pytest.approx(5 / 6)
    with pytest.raises(ValueError, match='exact_target=False'):
        evaluate([sample(target, target, labels, exact_target=False)])
    with pytest.raises(ValueError, match='sizes differ'):
        evaluate([sample(target, target, labels[:-1])])
    with pytest.raises(ValueError, match='min_pixels'):
        SegmentAccuracy(min_pixels=0)


def test_registered_and_empty_is_nan():
    metric = METRICS.build(dict(type='SegmentAccuracy'))
    assert isinstance(metric, SegmentAccuracy)
    target, labels = drawing()
    result = evaluate([sample(target, target, np.full_like(labels, -1))])
    assert all(np.isnan(v) for v in result.values())
