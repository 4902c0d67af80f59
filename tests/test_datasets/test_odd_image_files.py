"""Decompression bombs and EXIF orientation, for every format the readers accept."""
import io

import numpy as np
import pytest
from data_helpers import smooth_image, write_rgb
from odd_images import BOMBS, png_claiming, stored_sideways, upright_picture
from PIL import Image, ImageOps

from colorizer.datasets import ColorizationDataset, ImageReadError, read_color_image
from colorizer.datasets.image_io import MAX_PIXELS, decode_color_image, read_gray_image
from colorizer.datasets.transforms import LoadColorImage, LoadSketch

PIPELINE = [dict(type='LoadColorImage'), dict(type='Resize', size=16), dict(type='XDoG'),
            dict(type='TPSWarp'), dict(type='PackColorizationInputs')]

LOSSLESS = ('PNG', 'WEBP', 'TIFF')
SUFFIX = {'JPEG': 'jpg', 'PNG': 'png', 'WEBP': 'webp', 'TIFF': 'tif'}


class TestDecompressionBombs:
    """A header claiming 100000x100000 pixels gets the project's MAX_PIXELS message, naming the
    file, from every entry point, and ``on_bad_image='skip'`` skips it."""

    @pytest.mark.parametrize('suffix', sorted(BOMBS))
    def test_every_format_is_refused_from_its_header(self, tmp_path, suffix):
        path = tmp_path / f'bomb.{suffix}'
        side = 60000  # JPEG stores 16-bit sizes; libwebp refuses canvases of 2**32 pixels
        path.write_bytes(BOMBS[suffix](side, side))
        with pytest.raises(ImageReadError, match=rf'bomb\.{suffix}.*{side}x{side} pixels.*'
                           rf'more than the {MAX_PIXELS}'):
            read_color_image(path)
        with pytest.raises(ImageReadError, match=rf'bomb\.{suffix}'):
            read_gray_image(path)

    def test_load_rgb(self, tmp_path):
        from colorizer.apis import load_rgb
        path = tmp_path / 'bomb.png'
        path.write_bytes(png_claiming(100000, 100000))
        with pytest.raises(ImageReadError, match=r'bomb\.png.*100000x100000.*downscale'):
            load_rgb(str(path), 'sketch')

    def test_dataset_raises_naming_the_file(self, tmp_path):
        write_rgb(tmp_path / 'a.png', smooth_image(24))
        (tmp_path / 'b.png').write_bytes(png_claiming(100000, 100000))
        ds = ColorizationDataset(data_root=str(tmp_path), pipeline=PIPELINE)
        with pytest.raises(ImageReadError, match=r'b\.png.*100000x100000'):
            ds[1]

    def test_dataset_skip_takes_the_next_image(self, tmp_path, monkeypatch):
        from colorizer.datasets import colorization_dataset
        logged = []
        monkeypatch.setattr(colorization_dataset, 'print_log',
                            lambda msg, logger, level: logged.append(msg))
        write_rgb(tmp_path / 'a.png', smooth_image(24))
        (tmp_path / 'b.png').write_bytes(png_claiming(100000, 100000))
        ds = ColorizationDataset(data_root=str(tmp_path), pipeline=PIPELINE, on_bad_image='skip')
        sample = ds[1]
        assert sample['data_samples'].metainfo['img_path'].endswith('a.png')
        assert len(logged) == 1 and 'b.png' in logged[0] and '100000x100000' in logged[0]

    def test_size_limit_is_this_modules_not_pillows(self, tmp_path):
        # Between Pillow's bomb limit (2 x MAX_IMAGE_PIXELS) and MAX_PIXELS the header check
        # passes (the decoder then reports the missing pixel data, not a bomb).
        side = int((2 * Image.MAX_IMAGE_PIXELS) ** 0.5) + 100
        assert 2 * Image.MAX_IMAGE_PIXELS < side * side <= MAX_PIXELS
        with pytest.raises(ImageReadError) as err:
            decode_color_image(png_claiming(side, side), 'big.png')
        assert 'more than the' not in str(err.value) and 'bomb' not in str(err.value).lower()


def _damaged(fmt: str, how: str) -> bytes:
    buf = io.BytesIO()
    img = np.random.default_rng(0).integers(0, 256, (32, 32, 3)).astype(np.uint8)
    Image.fromarray(img).save(buf, fmt)
    data = buf.getvalue()
    if how == 'half':
        return data[:len(data) // 2]
    if how == 'header only':
        return data[:40]
    return data[:30] + bytes(reversed(data[30:]))  # scrambled after the first bytes


@pytest.mark.parametrize('how', ['half', 'header only', 'scrambled'])
@pytest.mark.parametrize('fmt', ['PNG', 'JPEG', 'BMP', 'WEBP', 'TIFF', 'GIF'])
def test_every_decoder_error_is_an_image_read_error(tmp_path, fmt, how):
    """Whatever library fails (OpenCV, Pillow and its plugins), the error is the project's,
    with the file named; a damaged file that still decodes gives a proper image."""
    path = tmp_path / f'damaged.{fmt.lower()}'
    path.write_bytes(_damaged(fmt, how))
    try:
        out = read_color_image(path)
    except ImageReadError as err:
        assert err.path == str(path) and str(path) in str(err)
    else:
        assert out.dtype == np.uint8 and out.ndim == 3 and out.shape[2] == 3


def _upright_equal(out: np.ndarray, fmt: str) -> None:
    expected = upright_picture()
    assert out.shape == expected.shape, f'{fmt}: read as {out.shape}, not upright'
    if fmt in LOSSLESS:
        np.testing.assert_array_equal(out, expected)
    else:
        assert np.abs(out.astype(int) - expected).max() < 40, fmt


class TestExifOrientation:
    """The same picture, stored sideways with Orientation=6, reads upright and equal whatever
    its format and whichever path reads it (file, LoadColorImage, LoadSketch, PIL via the API)."""

    @pytest.mark.parametrize('fmt', ['JPEG', 'PNG', 'WEBP', 'TIFF'])
    def test_file_reads_upright(self, tmp_path, fmt):
        path = tmp_path / f'turned.{SUFFIX[fmt]}'
        path.write_bytes(stored_sideways(fmt))
        _upright_equal(read_color_image(path), fmt)
        results = LoadColorImage()(dict(img_path=str(path), reference_path=str(path)))
        _upright_equal(results['img'], fmt)
        _upright_equal(results['reference'], fmt)
        sketch = LoadSketch()(dict(sketch_path=str(path)))['sketch']
        assert sketch.shape == upright_picture().shape[:2]

    @pytest.mark.parametrize('fmt', ['JPEG', 'PNG', 'WEBP', 'TIFF'])
    def test_pil_image_given_to_the_api_reads_upright(self, fmt):
        from colorizer.apis import load_rgb
        pil = Image.open(io.BytesIO(stored_sideways(fmt)))
        size = pil.size
        _upright_equal(load_rgb(pil, 'reference'), fmt)
        assert pil.size == size  # the caller's image is not rotated

    @pytest.mark.parametrize('orientation', range(1, 9))
    @pytest.mark.parametrize('fmt', ['PNG', 'WEBP', 'TIFF'])
    def test_every_orientation_matches_pillows_exif_transpose(self, fmt, orientation):
        data = stored_sideways(fmt, orientation)
        expected = np.asarray(ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert('RGB'))
        np.testing.assert_array_equal(decode_color_image(data, 'x'), expected)
        np.testing.assert_array_equal(expected, upright_picture())

    def test_16bit_png_with_orientation(self):
        img16 = np.arange(12 * 20, dtype=np.uint16).reshape(12, 20) * 250
        pil = Image.fromarray(img16).transpose(Image.Transpose.ROTATE_90)
        exif = Image.Exif()
        exif[0x0112] = 6
        buf = io.BytesIO()
        pil.save(buf, 'PNG', exif=exif)
        out = decode_color_image(buf.getvalue(), 'x.png')
        expected = np.clip(img16 / 65535 * 255 + 0.5, 0, 255).astype(np.uint8)
        np.testing.assert_array_equal(out[..., 0], expected)


class TestUpscaleWarningNamesItsOwnFile:
    """A small reference (random-reference protocol: another picture) is named as the
    reference, not as the sample's own file."""

    @pytest.mark.parametrize('resize', [dict(type='Resize', size=32),
                                        dict(type='CenterCrop', size=32),
                                        dict(type='RandomResizedCrop', size=32)])
    def test_small_reference(self, tmp_path, resize):
        write_rgb(tmp_path / 'big.png', smooth_image(64))
        write_rgb(tmp_path / 'small.png', smooth_image(16, seed=1))
        pipeline = [dict(type='LoadColorImage'), resize, dict(type='XDoG'),
                    dict(type='TPSWarp'), dict(type='PackColorizationInputs')]
        ds = ColorizationDataset(data_root=str(tmp_path), mode='random_reference',
                                 pipeline=pipeline)
        assert ds.get_data_info(0)['img_path'].endswith('big.png')
        with pytest.warns(UserWarning) as record:
            ds[0]  # big.png, coloured with small.png
        messages = [str(w.message) for w in record if 'upscaled' in str(w.message)]
        assert len(messages) == 1, messages
        assert messages[0].startswith(f"{tmp_path / 'small.png'} (the reference of sample 0): "
                                      'image of 16x16 px')
        assert 'big.png' not in messages[0]
        with pytest.warns(UserWarning) as record:
            ds[1]  # small.png itself, coloured with big.png
        messages = [str(w.message) for w in record if 'upscaled' in str(w.message)]
        assert len(messages) == 1 and messages[0].startswith(f"{tmp_path / 'small.png'}: ")
