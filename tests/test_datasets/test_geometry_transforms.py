import warnings

import numpy as np
import pytest
from data_helpers import smooth_image

from colorizer.datasets.transforms import CenterCrop, RandomFlip, RandomResizedCrop, Resize


def _bound_sample(size=48):
    """img, sketch, labels and oracle that encode the same geometry (x coordinate)."""
    x = np.tile(np.arange(size), (size, 1))
    img = np.repeat((x * 255 // (size - 1)).astype(np.uint8)[..., None], 3, axis=2)
    labels = (x * 5 // size).astype(np.int64)
    return dict(img=img, sketch=img[..., 0].copy(), labels=labels, oracle=img.copy(),
                img_path='x.png')


@pytest.mark.parametrize('transform', [
    RandomResizedCrop(24, scale=(0.2, 0.6)), Resize(24), CenterCrop(24), RandomFlip(prob=1.0)
])
def test_all_geometry_keys_move_together(transform):
    for seed in range(5):
        out = transform(dict(_bound_sample(), sample_seed=seed))
        assert out['img'].shape[:2] == out['sketch'].shape == out['labels'].shape
        assert out['img_shape'] == out['img'].shape[:2]
        np.testing.assert_array_equal(out['img'][..., 0], out['sketch'])
        np.testing.assert_array_equal(out['img'], out['oracle'])
        # labels stay consistent with the image's x coordinate (nearest neighbour, no mixing)
        expected = (out['img'][..., 0].astype(int) * 5 // 256)
        assert np.abs(out['labels'] - expected).max() <= 1
        assert out['labels'].dtype == np.int64
        assert set(np.unique(out['labels'])) <= set(range(5))


def test_reference_gets_an_independent_crop():
    ref = smooth_image(64, seed=9)
    sample = dict(_bound_sample(64), reference=ref)
    outs = [RandomResizedCrop(32)(dict(sample, sample_seed=s)) for s in range(4)]
    assert all(o['reference'].shape == (32, 32, 3) for o in outs)
    # different draws for img and reference: their crops are not the same window
    windows = {(o['img'][0, 0, 0], o['img'][0, -1, 0]) for o in outs}
    assert len(windows) > 1


def test_flip_is_identical_for_bound_keys():
    s = _bound_sample(8)
    out = RandomFlip(prob=1.0)(dict(s))
    np.testing.assert_array_equal(out['img'], s['img'][:, ::-1])
    np.testing.assert_array_equal(out['labels'], s['labels'][:, ::-1])
    out = RandomFlip(prob=0.0)(dict(s))
    np.testing.assert_array_equal(out['img'], s['img'])


@pytest.mark.parametrize('transform', [RandomResizedCrop(32), Resize(32), CenterCrop(32)])
def test_small_images_are_upscaled_with_a_warning(transform):
    small = dict(img=smooth_image(16), img_path='tiny.png')
    with pytest.warns(UserWarning, match='tiny.png.*upscaled'):
        out = transform(small)
    assert out['img'].shape == (32, 32, 3)


def test_large_images_do_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        RandomResizedCrop(16)(dict(img=smooth_image(32)))


def test_mismatched_shapes_raise():
    with pytest.raises(ValueError, match='sketch'):
        Resize(8)(dict(img=smooth_image(16), sketch=np.zeros((12, 12), np.uint8)))


def test_center_crop_keeps_aspect():
    img = np.zeros((20, 40, 3), np.uint8)
    img[:, 18:22] = 255  # a vertical bar in the centre stays centred and thin
    out = CenterCrop(10)(dict(img=img))['img']
    assert out.shape == (10, 10, 3)
    cols = np.nonzero(out[5, :, 0] > 128)[0]
    assert 3 <= cols.min() and cols.max() <= 6


@pytest.mark.parametrize('side', [70, 90, 127])
def test_non_integer_shrink_is_close_to_area_resize(side):
    """The two-stage shrink (bilinear up to an integer multiple, then area) ~ INTER_AREA."""
    import cv2

    from colorizer.datasets.transforms.geometry import _resize
    img = cv2.resize(smooth_image(48, seed=2), (side, side), interpolation=cv2.INTER_CUBIC)
    ours = _resize(img, (48, 48), nearest=False, fast_shrink=True)
    area = cv2.resize(img, (48, 48), interpolation=cv2.INTER_AREA)
    # Resize / CenterCrop (evaluation) keep the exact area resize
    np.testing.assert_array_equal(Resize(48)(dict(img=img))['img'], area)
    mse = np.mean((ours.astype(float) - area) ** 2)
    assert ours.shape == (48, 48, 3) and 10 * np.log10(255 ** 2 / mse) > 38


@pytest.mark.parametrize('shape', [(8, 6, 3), (8, 6, 1), (8, 6), (7, 5, 4)])
@pytest.mark.parametrize('direction', ['horizontal', 'vertical'])
def test_flip_equals_numpy_flip_for_every_layout(shape, direction):
    arr = np.arange(np.prod(shape), dtype=np.uint8).reshape(shape)
    out = RandomFlip(prob=1.0, direction=direction, keys=('img', ))(dict(img=arr))['img']
    np.testing.assert_array_equal(out, np.flip(arr, axis=1 if direction == 'horizontal' else 0))
