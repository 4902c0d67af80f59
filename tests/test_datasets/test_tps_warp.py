import numpy as np
from data_helpers import smooth_image
from hypothesis import given, settings
from hypothesis import strategies as st

from colorizer.datasets.transforms import TPSWarp, tps_warp
from colorizer.datasets.transforms.tps_warp import min_area_ratio, tps_grid


def _hist(img):
    return np.stack([np.histogram(img[..., c], bins=16, range=(0, 256))[0] for c in range(3)])


def test_identity_when_points_do_not_move():
    img = smooth_image(32)
    src = np.array([[0, 0], [1, 0], [0, 1], [1, 1], [0.4, 0.4], [0.6, 0.6]])
    np.testing.assert_array_equal(tps_warp(img, src, src), img)


def test_control_points_are_moved():
    img = np.zeros((64, 64, 3), np.uint8)
    img[14:18, 14:18] = 255  # a white dot near (1/4, 1/4)
    src = np.array([[0, 0], [1, 0], [0, 1], [1, 1], [0.25, 0.25], [0.75, 0.75]])
    dst = src.copy()
    dst[4] = [0.4, 0.3]
    out = tps_warp(img, src, dst, grid_step=2)
    ys, xs = np.nonzero(out[..., 0] > 128)
    assert abs(xs.mean() / 63 - 0.4) < 0.05 and abs(ys.mean() / 63 - 0.3) < 0.05


def test_transform_moves_pixels_but_keeps_colours():
    img = smooth_image(64, seed=1)
    out = TPSWarp(strength=0.25)(dict(target=img, sample_seed=3))
    ref = out['reference']
    assert ref.shape == img.shape and ref.dtype == np.uint8
    assert np.abs(ref.astype(int) - img).mean() > 3  # pixels moved
    h_img, h_ref = _hist(img), _hist(ref)
    # Histogram intersection: most of the colour mass is shared.
    assert np.minimum(h_img, h_ref).sum() / h_img.sum() > 0.75
    assert np.abs(ref.mean((0, 1)) - img.mean((0, 1))).max() < 12


def test_transform_skips_supplied_reference_and_falls_back_to_img():
    given = np.zeros((8, 8, 3), np.uint8)
    out = TPSWarp()(dict(target=smooth_image(8), reference=given))
    assert out['reference'] is given
    out = TPSWarp()(dict(img=smooth_image(16)))
    assert out['reference'].shape == (16, 16, 3)


def test_no_folds():
    t = TPSWarp(strength=0.5)
    for seed in range(20):
        rng = np.random.default_rng(seed)
        grid = t._unfolded_grid(rng, (64, 64))
        assert min_area_ratio(grid, t.grid_step) >= t.min_area


def test_fold_is_detected():
    src = np.array([[0, 0], [1, 0], [0, 1], [1, 1], [0.3, 0.3], [0.7, 0.7]])
    dst = src.copy()
    dst[4], dst[5] = [0.7, 0.7], [0.3, 0.3]  # swapped: the middle turns inside out
    assert min_area_ratio(tps_grid(src, dst, (64, 64))) < 0


def test_deterministic_with_seed_and_works_on_gray():
    img = smooth_image(32)
    a = TPSWarp()(dict(target=img, sample_seed=5))['reference']
    b = TPSWarp()(dict(target=img, sample_seed=5))['reference']
    np.testing.assert_array_equal(a, b)
    gray = TPSWarp()(dict(target=img[..., 0], sample_seed=5))['reference']
    assert gray.shape == (32, 32)


@settings(max_examples=25, deadline=None)
@given(h=st.integers(1, 40), w=st.integers(1, 40), channels=st.sampled_from([None, 1, 3]),
       step=st.integers(1, 12), seed=st.integers(0, 1000))
def test_warp_any_shape(h, w, channels, step, seed):
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 256, (h, w) if channels is None else (h, w, channels)).astype(np.uint8)
    out = TPSWarp(grid_step=step)(dict(target=img, sample_seed=seed))['reference']
    assert out.shape == img.shape and out.dtype == np.uint8


@settings(max_examples=15, deadline=None)
@given(h=st.integers(2, 50), w=st.integers(2, 50), step=st.integers(1, 12))
def test_identity_any_shape(h, w, step):
    img = np.random.default_rng(h * w).integers(0, 256, (h, w, 3)).astype(np.uint8)
    src = np.array([[0, 0], [1, 0], [0, 1], [1, 1], [0.3, 0.6]])
    np.testing.assert_array_equal(tps_warp(img, src, src, grid_step=step), img)


def test_remap_grid_equals_remap_with_separate_maps():
    """One contiguous two-channel map samples exactly where separate x / y maps do."""
    import cv2

    from colorizer.datasets.transforms.tps_warp import random_tps_points, remap_grid
    img = smooth_image(48)
    for seed in range(5):
        src, dst = random_tps_points(np.random.default_rng(seed), 2, 0.25)
        grid = tps_grid(src, dst, img.shape[:2], 9)
        dense = cv2.resize(grid, (grid.shape[1] * 9, grid.shape[0] * 9),
                           interpolation=cv2.INTER_LINEAR)[4:4 + 48, 4:4 + 48]
        for border in (cv2.BORDER_REFLECT_101, cv2.BORDER_CONSTANT, cv2.BORDER_REPLICATE):
            expected = cv2.remap(img, dense[..., 0].copy(), dense[..., 1].copy(),
                                 cv2.INTER_LINEAR, borderMode=border)
            np.testing.assert_array_equal(remap_grid(img, grid, 9, border_mode=border), expected)
            # one channel and float images take the plain path
            np.testing.assert_array_equal(remap_grid(img[..., :1], grid, 9, border_mode=border),
                                          expected[..., :1])


def test_tps_fit_with_coincident_points_falls_back_to_least_squares():
    src = np.array([[0, 0], [1, 0], [0, 1], [1, 1], [0.5, 0.5], [0.5, 0.5]])
    grid = tps_grid(src, src, (16, 16), 3)
    assert np.all(np.isfinite(grid))
