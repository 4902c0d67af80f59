import cv2
import numpy as np
import pytest
from data_helpers import smooth_image
from hypothesis import given, settings
from hypothesis import strategies as st

from colorizer.datasets.transforms import XDoG, rgb_to_gray_float, xdog, xdog_sketch


def _drawing(size=64) -> np.ndarray:
    """Flat regions with edges: a drawing where XDoG should find lines."""
    img = np.full((size, size, 3), 230, np.uint8)
    cv2.circle(img, (size // 2, size // 2), size // 3, (200, 60, 60), -1)
    cv2.rectangle(img, (4, 4), (size // 3, size // 3), (40, 90, 200), -1)
    return img


def test_sketch_dtype_range_and_white_background():
    sketch = xdog_sketch(_drawing(), sigma=0.4)
    assert sketch.dtype == np.uint8 and sketch.shape == (64, 64)
    assert (sketch == 255).mean() > 0.7  # mostly paper
    assert (sketch < 50).mean() > 0.01  # and some lines


def test_float_output_in_unit_range():
    out = xdog(rgb_to_gray_float(smooth_image(48)), sigma=0.5)
    assert out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0


def test_larger_sigma_gives_thicker_lines():
    img = _drawing(96)
    dark = [(xdog_sketch(img, sigma=s) < 128).sum() for s in (0.3, 0.4, 0.5)]
    assert dark[0] < dark[1] < dark[2]


def test_phi_is_a_step_not_the_xor_trap():
    # With phi = 1e9 the soft threshold is a step: almost no grey pixels. With phi = 10^9 == 3
    # (Python's XOR), a large share of the image would be grey.
    img = smooth_image(64, seed=3)
    sketch = xdog_sketch(img, sigma=0.5)
    grey = ((sketch > 5) & (sketch < 250)).mean()
    assert grey < 0.01
    trap = xdog_sketch(img, sigma=0.5, phi=10 ^ 9)
    assert ((trap > 5) & (trap < 250)).mean() > 0.1


def test_transform_rejects_tiny_phi():
    with pytest.raises(ValueError, match='1e9'):
        XDoG(phi=3)


def test_rgb_channel_order():
    # Pure red and pure blue have very different luma; RGB2GRAY must weigh red by 0.299.
    red = np.zeros((4, 4, 3), np.uint8)
    red[..., 0] = 255
    assert abs(rgb_to_gray_float(red)[0, 0] - 0.299) < 0.01


def test_transform_skips_existing_sketch_and_draws_sigma():
    t = XDoG(sigmas=(0.3, 0.5))
    given_sketch = np.zeros((8, 8), np.uint8)
    out = t(dict(img=_drawing(8), sketch=given_sketch))
    assert out['sketch'] is given_sketch
    out = t(dict(img=_drawing(32)))
    assert out['xdog_sigma'] in (0.3, 0.5) and out['sketch'].shape == (32, 32)


def test_transform_deterministic_with_sample_seed():
    t = XDoG()
    sigmas = {t(dict(img=_drawing(16), sample_seed=s))['xdog_sigma'] for s in range(30)}
    assert sigmas == {0.3, 0.4, 0.5}
    a = t(dict(img=_drawing(16), sample_seed=7))['xdog_sigma']
    assert all(t(dict(img=_drawing(16), sample_seed=7))['xdog_sigma'] == a for _ in range(5))


@settings(max_examples=25, deadline=None)
@given(
    h=st.integers(1, 40),
    w=st.integers(1, 40),
    gray=st.booleans(),
    sigma=st.sampled_from([0.3, 0.4, 0.5, 1.0]),
    seed=st.integers(0, 1000))
def test_xdog_any_shape(h, w, gray, sigma, seed):
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 256, (h, w) if gray else (h, w, 3)).astype(np.uint8)
    sketch = xdog_sketch(img, sigma)
    assert sketch.shape == (h, w) and sketch.dtype == np.uint8


def _textbook_sketch(img, sigma, k=4.5, p=19.0, epsilon=0.01, phi=1e9):
    """XDoG as the formula reads: two blurs, the product, 1 + tanh(min(phi (SI - eps), 0))."""
    import cv2
    gray = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(np.float32) * np.float32(1 / 255)
    small = cv2.GaussianBlur(gray, (0, 0), sigma)
    large = cv2.GaussianBlur(gray, (0, 0), sigma * k)
    si = gray * (small * np.float32(1 + p) - large * np.float32(p))
    arg = np.minimum((si - np.float32(epsilon)) * np.float32(phi), np.float32(0))
    return ((np.float32(1) + np.tanh(arg)) * np.float32(255) + np.float32(0.5)).astype(np.uint8)


@pytest.mark.parametrize('phi', [1e9, 200.0, 5e3])
def test_sketch_equals_the_textbook_formula_exactly(phi):
    """The fast path (tanh only in the soft band) gives the formula's uint8 values exactly."""
    rng = np.random.default_rng(1)
    img = (rng.random((40, 48, 3)) * 255).astype(np.uint8)
    img = np.ascontiguousarray(np.repeat(np.repeat(img, 2, 0), 2, 1))  # some structure
    for sigma in (0.3, 0.4, 0.5):
        np.testing.assert_array_equal(xdog_sketch(img, sigma, phi=phi),
                                      _textbook_sketch(img, sigma, phi=phi))
