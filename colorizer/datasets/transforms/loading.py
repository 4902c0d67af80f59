"""Loading colour images and precomputed sketches."""
import io
from typing import Optional, Sequence, Union

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from PIL import Image

from colorizer.registry import TRANSFORMS
from ..image_io import (MAX_PIXELS, _check_jpeg_complete, decode_color_image, read_gray_image,
                        read_image_bytes)

__all__ = ['LoadColorImage', 'LoadSketch', 'read_color_image_at_least', 'jpeg_reduction']

MinSize = Union[int, Sequence[int], None]

_JPEG_SOI = b'\xff\xd8'
_JPEG_EOI = b'\xff\xd9'

#: DCT scaling factors libjpeg decodes at directly (largest first).
_REDUCTIONS = (8, 4, 2)
_REDUCED_FLAGS = {2: cv2.IMREAD_REDUCED_COLOR_2, 4: cv2.IMREAD_REDUCED_COLOR_4,
                  8: cv2.IMREAD_REDUCED_COLOR_8}
# OpenCV >= 4.11 decodes straight to RGB; the REDUCED_COLOR flags contain IMREAD_COLOR (BGR),
# which must be swapped for IMREAD_COLOR_RGB, not combined with it.
_RGB_FLAG = getattr(cv2, 'IMREAD_COLOR_RGB', None)


def jpeg_reduction(data: bytes, min_size: MinSize) -> int:
    """The largest DCT scaling factor (1, 2, 4 or 8) that keeps a JPEG at least ``min_size``.

    libjpeg can decode a JPEG at 1/2, 1/4 or 1/8 of its size directly from the DCT
    coefficients, which skips most of the inverse DCT and the colour conversion of the pixels a
    following downscale would discard. The factor is chosen on the shorter side against the
    larger of ``min_size``'s sides, so it holds whatever the EXIF orientation.

    Args:
        data: Encoded JPEG file content.
        min_size: Smallest acceptable ``(h, w)`` (or one int for both); ``None`` for 1.

    Returns:
        1 when ``min_size`` is ``None``, the data is not a JPEG, its header cannot be read, or
        no reduction keeps the size; else 2, 4 or 8.
    """
    if min_size is None or data[:2] != _JPEG_SOI:
        return 1
    need = max(min_size) if isinstance(min_size, Sequence) else int(min_size)
    try:
        with Image.open(io.BytesIO(data)) as header:  # lazy: parses the header only
            width, height = header.size
    except Exception:  # not a header Pillow understands: the full decoder reports it
        return 1
    if width * height > MAX_PIXELS:
        return 1  # the full decoder refuses it with the size in the message
    short = min(width, height)
    for factor in _REDUCTIONS:
        if -(-short // factor) >= need:  # libjpeg's scaled size is ceil(size / factor)
            return factor
    return 1


def read_color_image_at_least(path, min_size: MinSize = None,
                              backend_args: Optional[dict] = None) -> np.ndarray:
    """Read an image as uint8 RGB, decoding JPEGs at a reduced scale that keeps ``min_size``.

    This is the one function through which :class:`LoadColorImage` decodes. A JPEG is checked
    for truncation like every JPEG (:mod:`colorizer.datasets.image_io`), then decoded by
    OpenCV's libjpeg straight to RGB, at 1/2, 1/4 or 1/8 scale where :func:`jpeg_reduction`
    allows, with EXIF orientation applied as in the full-size path. Everything else, and any
    file OpenCV cannot decode, goes through
    :func:`colorizer.datasets.image_io.decode_color_image`.

    Against a full-size decode followed by an area resize to the same size, the DCT-scaled
    image differs by JPEG-decoding noise (``docs/benchmarks.md``); it skips part of the
    decoding and the whole resize.

    Args:
        path: Image file (any path MMEngine's file backends understand).
        min_size: Smallest acceptable ``(h, w)`` or side; ``None`` decodes at full size.
        backend_args: MMEngine ``fileio`` backend arguments.

    Returns:
        ``(H, W, 3)`` uint8 RGB array, with ``min(H, W) >= max(min_size)`` unless the image
        itself is smaller.

    Raises:
        ImageReadError: The file is missing, empty, truncated or not a decodable image.
    """
    data = read_image_bytes(path, backend_args)
    if data[:2] == _JPEG_SOI:
        factor = jpeg_reduction(data, min_size)
        if factor > 1 or _check_size_ok(data):
            _check_complete(data, path)
            img = _decode_jpeg(data, factor)
            if img is not None:
                return img
    return decode_color_image(data, path)


def _check_size_ok(data: bytes) -> bool:
    # Full-size decodes of huge images are left to image_io, which refuses them by name.
    try:
        with Image.open(io.BytesIO(data)) as header:
            width, height = header.size
    except Exception:
        return False
    return width * height <= MAX_PIXELS


def _check_complete(data: bytes, path) -> None:
    """Raise for a truncated JPEG (libjpeg pads it with grey and only warns).

    A file that ends in the end-of-image marker is complete: inside the entropy-coded data
    0xFF is always followed by 0x00 or a restart marker, so the last two bytes are 0xFFD9 only
    if the last marker is EOI. Anything else (trailing bytes after EOI, such as appended
    motion-photo videos, or a real truncation) goes through image_io's marker walk, which
    costs about 0.3 ms for a 100 KB file.
    """
    if not data.endswith(_JPEG_EOI):
        _check_jpeg_complete(data, path)


def _decode_jpeg(data: bytes, factor: int) -> Optional[np.ndarray]:
    flag = _REDUCED_FLAGS.get(factor, cv2.IMREAD_COLOR)
    buf = np.frombuffer(data, np.uint8)
    try:
        if _RGB_FLAG is not None:
            img = cv2.imdecode(buf, (flag & ~cv2.IMREAD_COLOR) | _RGB_FLAG)
        else:
            img = cv2.imdecode(buf, flag)
            img = None if img is None else cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    except cv2.error:
        return None
    return img if img is not None and img.size else None


@TRANSFORMS.register_module()
class LoadColorImage(BaseTransform):
    """Read ``img_path`` into ``img`` (and ``reference_path`` into ``reference``) as uint8 RGB.

    The reference is loaded here too because in the random-reference protocol the dataset names
    another image as the reference; in the self-reference protocol and in training there is no
    ``reference_path`` and the reference is made later (``TPSWarp``).

    ``min_size`` lets JPEGs be decoded at a reduced scale when the next geometry transform only
    shrinks the image: the paper's pipeline resizes the 512 px AFHQ images to 256 px, so they
    are decoded at 256 px directly (:func:`read_color_image_at_least`). Leave it ``None`` in
    front of a crop (``RandomResizedCrop``), which needs the full resolution of its window.

    Required keys: ``img_path``. Optional: ``reference_path``.
    Added keys: ``img``, ``ori_shape``, ``img_shape``; ``reference`` when ``reference_path`` is
    given. ``ori_shape`` is the shape as decoded (reduced when ``min_size`` allowed it).
    Samples with a ``sketch_path`` (precomputed sketches) are decoded at full size, like the
    sketch file.

    Args:
        min_size: Smallest ``(h, w)`` (or side) the following transforms need; ``None``
            decodes every image at full size.
        backend_args: MMEngine ``fileio`` backend arguments (local disk when ``None``).

    Raises:
        ImageReadError: A file cannot be read; the message names it.
    """

    def __init__(self, min_size: MinSize = None, backend_args: Optional[dict] = None):
        if min_size is not None:
            sizes = min_size if isinstance(min_size, Sequence) else (min_size, )
            if not all(isinstance(s, int) and s > 0 for s in sizes):
                raise ValueError(f'min_size must be a positive int or (h, w), got {min_size!r}')
        self.min_size = min_size
        self.backend_args = backend_args

    def transform(self, results: dict) -> dict:
        # A precomputed sketch is read at its file's size: the image must then be too, or the
        # geometry transforms would get two sizes of one picture.
        min_size = None if results.get('sketch_path') is not None else self.min_size
        if 'img' not in results:
            results['img'] = read_color_image_at_least(results['img_path'], min_size,
                                                       self.backend_args)
        shape = results['img'].shape[:2]
        results['ori_shape'] = shape
        results['img_shape'] = shape
        if results.get('reference_path') is not None and 'reference' not in results:
            results['reference'] = read_color_image_at_least(
                results['reference_path'], min_size, self.backend_args)
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(min_size={self.min_size}, '
                f'backend_args={self.backend_args})')


@TRANSFORMS.register_module()
class LoadSketch(BaseTransform):
    """Read a precomputed sketch from ``sketch_path`` into ``sketch`` (uint8, HW).

    A no-op for samples without ``sketch_path``, so one pipeline serves datasets with and without
    precomputed sketches; ``XDoG`` later skips samples that already have a ``sketch``.

    Required keys: none. Optional: ``sketch_path``. Added keys: ``sketch``.

    Args:
        backend_args: MMEngine ``fileio`` backend arguments.

    Raises:
        ImageReadError: The sketch file cannot be read.
    """

    def __init__(self, backend_args: Optional[dict] = None):
        self.backend_args = backend_args

    def transform(self, results: dict) -> dict:
        if results.get('sketch_path') is not None and 'sketch' not in results:
            results['sketch'] = read_gray_image(results['sketch_path'], self.backend_args)
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(backend_args={self.backend_args})'
