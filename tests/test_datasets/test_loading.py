"""LoadColorImage: JPEGs decoded at a reduced DCT scale where the next resize allows it."""
import io
import math

import cv2
import numpy as np
import pytest
from data_helpers import smooth_image, write_rgb
from PIL import Image

from colorizer.datasets.image_io import ImageReadError, read_color_image
from colorizer.datasets.transforms import LoadColorImage, Resize
from colorizer.datasets.transforms.loading import jpeg_reduction, read_color_image_at_least


def _psnr(a, b):
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64))**2)
    return 10 * math.log10(255**2 / mse)


@pytest.fixture
def jpeg_128(tmp_path):
    img = cv2.resize(smooth_image(64, seed=3), (128, 128), interpolation=cv2.INTER_CUBIC)
    return write_rgb(tmp_path / 'a.jpg', img)


@pytest.mark.parametrize('min_size,factor', [(None, 1), (128, 1), (64, 2), ((64, 40), 2),
                                             (33, 2), (32, 4), (16, 8), (5, 8)])
def test_reduction_keeps_at_least_min_size(jpeg_128, min_size, factor):
    data = open(jpeg_128, 'rb').read()
    assert jpeg_reduction(data, min_size) == factor
    img = read_color_image_at_least(jpeg_128, min_size)
    assert img.shape == (128 // factor, 128 // factor, 3) and img.dtype == np.uint8
    if min_size is not None:
        assert min(img.shape[:2]) >= (max(min_size) if isinstance(min_size, tuple) else min_size)


def test_full_size_decode_equals_image_io(jpeg_128):
    np.testing.assert_array_equal(read_color_image_at_least(jpeg_128), read_color_image(jpeg_128))


def test_reduced_decode_is_close_to_full_decode_and_area_resize(jpeg_128):
    """DCT scaling differs from decode-then-resize by JPEG decoding noise only."""
    full = cv2.resize(read_color_image(jpeg_128), (64, 64), interpolation=cv2.INTER_AREA)
    reduced = read_color_image_at_least(jpeg_128, 64)
    assert _psnr(reduced, full) > 35
    # channel order: a red square stays red
    assert abs(reduced.astype(float).mean((0, 1)) - full.astype(float).mean((0, 1))).max() < 1


def test_reduced_decode_applies_exif_orientation(tmp_path):
    img = np.zeros((64, 128, 3), np.uint8)
    img[:, :64] = (255, 0, 0)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise on display
    path = tmp_path / 'rotated.jpg'
    Image.fromarray(img).save(path, quality=95, exif=exif)
    full, reduced = read_color_image(path), read_color_image_at_least(path, 32)
    assert full.shape == (128, 64, 3) and reduced.shape == (64, 32, 3)
    np.testing.assert_array_equal(read_color_image_at_least(path), full)  # full size, too
    assert _psnr(reduced, cv2.resize(full, (32, 64), interpolation=cv2.INTER_AREA)) > 30


def test_truncated_jpeg_is_refused_at_reduced_scale(tmp_path, jpeg_128):
    data = open(jpeg_128, 'rb').read()
    path = tmp_path / 'truncated.jpg'
    path.write_bytes(data[:len(data) // 2])
    with pytest.raises(ImageReadError, match='truncated.jpg'):
        read_color_image_at_least(path, 64)


def test_bytes_after_the_end_marker_are_accepted(tmp_path, jpeg_128):
    path = tmp_path / 'trailing.jpg'
    path.write_bytes(open(jpeg_128, 'rb').read() + b'\x00' * 7 + b'appended video')
    assert read_color_image_at_least(path, 64).shape == (64, 64, 3)


def test_png_is_decoded_at_full_size(tmp_path):
    path = write_rgb(tmp_path / 'a.png', smooth_image(40))
    np.testing.assert_array_equal(read_color_image_at_least(path, 10), smooth_image(40))


def test_load_then_resize_gives_the_resize_size(jpeg_128):
    out = Resize(64)(LoadColorImage(min_size=64)(dict(img_path=jpeg_128)))
    assert out['img'].shape == (64, 64, 3) and out['ori_shape'] == (64, 64)


def test_precomputed_sketch_keeps_the_full_size(tmp_path, jpeg_128):
    """A sketch file is read at its size, so the image must not be reduced."""
    sketch = write_rgb(tmp_path / 's.png', smooth_image(128))
    out = LoadColorImage(min_size=64)(dict(img_path=jpeg_128, sketch_path=sketch))
    assert out['img'].shape == (128, 128, 3)


def test_reference_is_reduced_too(tmp_path, jpeg_128):
    out = LoadColorImage(min_size=32)(dict(img_path=jpeg_128, reference_path=jpeg_128))
    assert out['img'].shape == out['reference'].shape == (32, 32, 3)


@pytest.mark.parametrize('bad', [0, -3, 2.5, (64, 0)])
def test_bad_min_size_is_refused(bad):
    with pytest.raises(ValueError, match='min_size'):
        LoadColorImage(min_size=bad)


def test_non_jpeg_data_is_never_reduced():
    # not a JPEG: no reduction, whatever the size asked for
    buf = io.BytesIO()
    Image.fromarray(smooth_image(32)).save(buf, format='PNG')
    assert jpeg_reduction(buf.getvalue(), 4) == 1
