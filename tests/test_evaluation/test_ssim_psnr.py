"""SSIM (windowed and global) and PSNR against known values."""
import math

import numpy as np
import pytest
import torch
from skimage.metrics import structural_similarity

from colorizer.evaluation.metrics import PSNR, SSIM
from colorizer.registry import METRICS
from eval_samples import make_samples, random_images, shifted


def evaluate(metric, samples):
    metric.process(None, samples)
    return metric.evaluate(len(samples))


def test_windowed_ssim_equals_scikit_image_gaussian_setting():
    targets = random_images(3, size=40, seed=1)
    outputs = shifted(random_images(3, size=40, seed=2), 7)
    result = evaluate(SSIM(), make_samples(outputs, targets))
    expected = np.mean([structural_similarity(
        o.permute(1, 2, 0).numpy().astype(float), t.permute(1, 2, 0).numpy().astype(float),
        win_size=11, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
        data_range=255, channel_axis=-1) for o, t in zip(outputs, targets)])
    assert list(result) == ['random_ref/ssim']
    assert result['random_ref/ssim'] == pytest.approx(expected, rel=1e-12)


def test_windowed_ssim_of_identical_images_is_one():
    images = random_images(2, size=24)
    assert evaluate(SSIM(), make_samples(images, images))['random_ref/ssim'] == pytest.approx(1)


def test_global_ssim_matches_a_hand_computation():
    # Grey images (R = G = B), so BT.601 luma is the value itself; pixels x = [0, 100],
    # y = [50, 150]: means 50 and 100, population variances 2500, covariance 2500.
    x = torch.tensor([0, 100], dtype=torch.uint8).view(1, 1, 2).expand(3, 1, 2).contiguous()
    y = torch.tensor([50, 150], dtype=torch.uint8).view(1, 1, 2).expand(3, 1, 2).contiguous()
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    expected = ((2 * 50 * 100 + c1) * (2 * 2500 + c2)
                / ((50 ** 2 + 100 ** 2 + c1) * (2500 + 2500 + c2)))
    metric = METRICS.build(dict(type='SSIM', mode='global'))
    result = evaluate(metric, make_samples(x[None], y[None], protocol='self'))
    assert list(result) == ['self_ref/ssim_global']
    assert result['self_ref/ssim_global'] == pytest.approx(expected, rel=1e-9)


def test_global_and_windowed_ssim_differ():
    targets = random_images(2, size=32, seed=3)
    outputs = random_images(2, size=32, seed=4)
    windowed = evaluate(SSIM(), make_samples(outputs, targets))['random_ref/ssim']
    global_ = evaluate(SSIM(mode='global'), make_samples(outputs, targets))
    assert global_['random_ref/ssim_global'] != pytest.approx(windowed, abs=1e-3)


def test_ssim_rejects_unknown_mode_and_float_images():
    with pytest.raises(ValueError, match='windowed'):
        SSIM(mode='local')
    images = random_images(1)
    sample = make_samples(images.float(), images)[0]
    with pytest.raises(TypeError, match='uint8'):
        SSIM().process(None, [sample])


def test_psnr_known_value_and_identity():
    target = torch.zeros(1, 3, 8, 8, dtype=torch.uint8)
    output = torch.full((1, 3, 8, 8), 10, dtype=torch.uint8)
    result = evaluate(PSNR(), make_samples(output, target, protocol='self', as_dict=True))
    assert result == {'self_ref/psnr': pytest.approx(10 * math.log10(255 ** 2 / 100))}
    same = evaluate(PSNR(), make_samples(target, target, protocol='self'))
    assert same['self_ref/psnr'] == math.inf


def test_psnr_averages_per_image_values():
    target = torch.zeros(2, 3, 4, 4, dtype=torch.uint8)
    output = torch.stack([torch.full((3, 4, 4), 10), torch.full((3, 4, 4), 100)]).to(torch.uint8)
    expected = np.mean([10 * math.log10(255 ** 2 / v ** 2) for v in (10, 100)])
    result = evaluate(PSNR(prefix='demo'), make_samples(output, target))
    assert result['demo/psnr'] == pytest.approx(expected)


def test_missing_protocol_and_mixed_protocols_are_named():
    images = random_images(2, size=16)
    samples = make_samples(images, images, protocol=None)
    assert list(evaluate(PSNR(), samples)) == ['unknown_ref/psnr']
    mixed = make_samples(images[:1], images[:1], 'self') + make_samples(images[1:], images[1:])
    assert list(evaluate(PSNR(), mixed)) == ['random+self_ref/psnr']
