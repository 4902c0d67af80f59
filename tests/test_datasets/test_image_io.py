import io

import cv2
import numpy as np
import pytest
from data_helpers import smooth_image, write_rgb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from colorizer.datasets import ImageReadError, read_color_image, read_gray_image
from colorizer.datasets.image_io import decode_color_image, to_rgb_uint8


def test_reads_rgb_not_bgr(tmp_path):
    img = np.zeros((8, 8, 3), np.uint8)
    img[..., 0] = 255  # pure red in RGB
    out = read_color_image(write_rgb(tmp_path / 'red.png', img))
    assert out.dtype == np.uint8 and out.shape == (8, 8, 3)
    assert (out[..., 0] == 255).all() and (out[..., 1:] == 0).all()


def test_grayscale_png_becomes_three_equal_channels(tmp_path):
    gray = np.tile(np.arange(0, 256, 16, dtype=np.uint8), (4, 1))
    cv2.imwrite(str(tmp_path / 'g.png'), gray)
    out = read_color_image(tmp_path / 'g.png')
    assert out.shape == (4, 16, 3)
    np.testing.assert_array_equal(out[..., 0], gray)
    np.testing.assert_array_equal(out[..., 0], out[..., 2])


def test_rgba_is_composited_on_white(tmp_path):
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., 2] = 200  # blue channel (RGBA order in Pillow)
    rgba[:2, :, 3] = 255  # top half opaque, bottom half transparent
    Image.fromarray(rgba, 'RGBA').save(tmp_path / 'a.png')
    out = read_color_image(tmp_path / 'a.png')
    np.testing.assert_array_equal(out[0, 0], [0, 0, 200])
    np.testing.assert_array_equal(out[3, 0], [255, 255, 255])


def test_half_transparent_alpha(tmp_path):
    rgba = np.zeros((2, 2, 4), np.uint8)
    rgba[..., 3] = 128
    Image.fromarray(rgba, 'RGBA').save(tmp_path / 'h.png')
    out = read_color_image(tmp_path / 'h.png')
    assert np.all(np.abs(out.astype(int) - 127) <= 1)


def test_palette_png(tmp_path):
    img = smooth_image(16)
    pal = Image.fromarray(img).convert('P', palette=Image.Palette.ADAPTIVE, colors=16)
    pal.save(tmp_path / 'p.png')
    out = read_color_image(tmp_path / 'p.png')
    np.testing.assert_array_equal(out, np.asarray(pal.convert('RGB')))


def test_palette_png_with_transparency(tmp_path):
    pal = Image.new('P', (4, 4), 0)
    pal.putpalette([10, 20, 30] + [200, 100, 50] * 255)
    pal.putpixel((0, 0), 1)
    pal.save(tmp_path / 'pt.png', transparency=0)
    out = read_color_image(tmp_path / 'pt.png')
    np.testing.assert_array_equal(out[0, 0], [200, 100, 50])
    np.testing.assert_array_equal(out[1, 1], [255, 255, 255])  # transparent index -> white


def test_16bit_png(tmp_path):
    rgb16 = np.zeros((2, 3, 3), np.uint16)
    rgb16[..., 0] = 65535
    rgb16[0, 0] = (257 * 100, 0, 65535)
    cv2.imwrite(str(tmp_path / 'c16.png'), rgb16[..., ::-1])
    out = read_color_image(tmp_path / 'c16.png')
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out[0, 0], [100, 0, 255])
    np.testing.assert_array_equal(out[1, 2], [255, 0, 0])


def test_16bit_gray_png(tmp_path):
    cv2.imwrite(str(tmp_path / 'g16.png'), np.full((3, 3), 257 * 80, np.uint16))
    assert (read_color_image(tmp_path / 'g16.png') == 80).all()
    assert read_gray_image(tmp_path / 'g16.png').shape == (3, 3)


def test_webp_and_bmp(tmp_path):
    img = smooth_image(16)
    for name in ('x.bmp', 'x.webp'):
        Image.fromarray(img).save(tmp_path / name, **({'lossless': True} if 'webp' in name else {}))
        np.testing.assert_array_equal(read_color_image(tmp_path / name), img)


def test_truncated_jpeg_raises_naming_file(tmp_path):
    path = write_rgb(tmp_path / 'cut.jpg', smooth_image(64))
    data = open(path, 'rb').read()
    for keep in (len(data) // 2, len(data) - 2):  # mid-scan, and only the EOI marker missing
        with open(path, 'wb') as f:
            f.write(data[:keep])
        with pytest.raises(ImageReadError, match='cut.jpg'):
            read_color_image(path)


def test_truncated_png_raises(tmp_path):
    path = write_rgb(tmp_path / 'cut.png', smooth_image(64))
    data = open(path, 'rb').read()
    with open(path, 'wb') as f:
        f.write(data[:len(data) // 2])
    with pytest.raises(ImageReadError, match='cut.png'):
        read_color_image(path)


def test_empty_file(tmp_path):
    (tmp_path / 'zero.jpg').write_bytes(b'')
    with pytest.raises(ImageReadError, match='zero.jpg.*empty'):
        read_color_image(tmp_path / 'zero.jpg')


def test_text_named_png(tmp_path):
    (tmp_path / 'notes.png').write_text('this is not an image\n' * 10)
    with pytest.raises(ImageReadError, match='notes.png'):
        read_color_image(tmp_path / 'notes.png')


def test_missing_file(tmp_path):
    with pytest.raises(ImageReadError, match='nothere.png'):
        read_color_image(tmp_path / 'nothere.png')


def test_image_read_error_is_value_error():
    assert issubclass(ImageReadError, ValueError)


def test_jpeg_roundtrip_close(tmp_path):
    img = smooth_image(32)
    out = read_color_image(write_rgb(tmp_path / 'ok.jpg', img))
    err = np.abs(out.astype(int) - img).mean()
    swapped = np.abs(out[..., ::-1].astype(int) - img).mean()
    assert err < 10 and err < swapped / 3  # chroma subsampling blurs colour edges a little


def test_read_gray_of_color_file(tmp_path):
    img = smooth_image(16)
    out = read_gray_image(write_rgb(tmp_path / 'c.png', img))
    np.testing.assert_array_equal(out, cv2.cvtColor(img, cv2.COLOR_RGB2GRAY))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    h=st.integers(1, 12),
    w=st.integers(1, 12),
    channels=st.sampled_from([None, 1, 2, 3, 4]),
    dtype=st.sampled_from([np.uint8, np.uint16, np.float32, np.bool_]),
    seed=st.integers(0, 2**16))
def test_to_rgb_uint8_any_layout(h, w, channels, dtype, seed):
    rng = np.random.default_rng(seed)
    shape = (h, w) if channels is None else (h, w, channels)
    if dtype == np.uint8:
        arr = rng.integers(0, 256, shape).astype(np.uint8)
    elif dtype == np.uint16:
        arr = rng.integers(0, 65536, shape).astype(np.uint16)
    elif dtype == np.bool_:
        arr = rng.random(shape) > 0.5
    else:
        arr = rng.uniform(-0.2, 1.2, shape).astype(np.float32)
    out = to_rgb_uint8(arr)
    assert out.shape == (h, w, 3) and out.dtype == np.uint8 and out.flags.c_contiguous


@settings(max_examples=20, deadline=None)
@given(
    h=st.integers(1, 24),
    w=st.integers(1, 24),
    mode=st.sampled_from(['RGB', 'RGBA', 'L', 'LA', 'P', 'I;16']),
    fmt=st.sampled_from(['PNG', 'JPEG', 'BMP', 'WEBP']))
def test_decode_encoded_images(h, w, mode, fmt):
    if fmt in ('JPEG', 'BMP') and mode in ('LA', 'I;16') or fmt == 'JPEG' and mode in ('RGBA', 'P'):
        return  # combinations the formats cannot store
    if fmt == 'WEBP' and mode in ('I;16', 'P', 'L', 'LA'):
        return
    rng = np.random.default_rng(h * 31 + w)
    base = Image.fromarray(rng.integers(0, 256, (h, w, 3)).astype(np.uint8))
    img = base.convert(mode) if mode != 'I;16' else Image.fromarray(
        rng.integers(0, 65536, (h, w)).astype(np.uint16))
    buf = io.BytesIO()
    img.save(buf, fmt)
    out = decode_color_image(buf.getvalue(), 'mem.' + fmt.lower())
    assert out.shape == (h, w, 3) and out.dtype == np.uint8


def test_jpeg_with_appended_data_after_eoi(tmp_path):
    # "Motion photos" append a video after the JPEG's end-of-image marker; its bytes may contain
    # anything, including what looks like a start-of-scan marker.
    img = smooth_image(32)
    path = write_rgb(tmp_path / 'motion.jpg', img)
    data = open(path, 'rb').read()
    with open(path, 'wb') as f:
        f.write(data + b'ftypmp42\x00\xff\xda\x00\x0c' + bytes(range(256)) * 4)
    np.testing.assert_array_equal(read_color_image(path), read_color_image_bytes(data))


def test_progressive_jpeg_and_restart_markers(tmp_path):
    img = smooth_image(64, seed=5)
    for name, params in (('prog.jpg', dict(progressive=True)), ('rst.jpg', dict())):
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, 'JPEG', quality=90, **params)
        data = buf.getvalue()
        if name == 'rst.jpg':
            ok, enc = cv2.imencode('.jpg', img, [cv2.IMWRITE_JPEG_RST_INTERVAL, 2])
            data = enc.tobytes()
        (tmp_path / name).write_bytes(data)
        assert read_color_image(tmp_path / name).shape == (64, 64, 3)
        (tmp_path / name).write_bytes(data[:-2])
        with pytest.raises(ImageReadError, match=name):
            read_color_image(tmp_path / name)


def read_color_image_bytes(data: bytes) -> np.ndarray:
    return decode_color_image(data)


def test_huge_image_is_refused_from_its_header_naming_the_file(tmp_path, monkeypatch):
    import colorizer.datasets.image_io as image_io
    path = tmp_path / 'big.png'
    cv2.imwrite(str(path), np.zeros((40, 50, 3), np.uint8))
    monkeypatch.setattr(image_io, 'MAX_PIXELS', 40 * 50 - 1)
    with pytest.raises(ImageReadError, match=r'big\.png.*50x40'):
        read_color_image(path)


def test_one_pixel_image_reads(tmp_path):
    path = tmp_path / 'dot.png'
    cv2.imwrite(str(path), np.array([[[0, 0, 255]]], np.uint8))  # BGR red
    np.testing.assert_array_equal(read_color_image(path), [[[255, 0, 0]]])
