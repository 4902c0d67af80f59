"""Reading images from disk into the project's conventions (uint8, RGB, HWC, upright).

OpenCV decodes BGR; this module converts once, here, so the rest of the code base only ever sees
RGB. The reader is strict on purpose: a damaged file raises :class:`ImageReadError` naming the file
instead of silently yielding a half-grey picture that would poison training.

Every read goes through the same three steps, whatever the format:

1. the header is parsed (Pillow, without decoding pixels): files Pillow cannot identify and
   images above :data:`MAX_PIXELS` are refused before any pixel is decoded;
2. the pixels are decoded (OpenCV, or Pillow for what OpenCV lacks); any error of either library
   becomes an :class:`ImageReadError` with the file and the reason;
3. the EXIF orientation is applied (JPEG, PNG, WebP, TIFF, ... alike), so an image is read the
   way image viewers show it.
"""
import io
import struct
from pathlib import Path
from typing import Optional, Union

import cv2
import numpy as np
from mmengine import fileio
from PIL import Image, ImageFile

__all__ = ['ImageReadError', 'IMAGE_EXTENSIONS', 'read_color_image', 'read_gray_image',
           'decode_color_image', 'decode_gray_image', 'to_rgb_uint8']

#: File name suffixes treated as images when scanning folders (lower case).
IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.webp', '.bmp')

PathLike = Union[str, Path]

_JPEG_SOI = b'\xff\xd8'

#: Images with more pixels are refused before decoding (a 16k x 16k RGB image alone needs
#: 768 MB; bigger files are usually decompression bombs or scans that need downscaling first).
#: This limit replaces Pillow's own ``Image.MAX_IMAGE_PIXELS`` for the files read here.
MAX_PIXELS = 16384 * 16384

#: EXIF orientation tag (0x0112) value -> the operations that make the image upright, as
#: ``PIL.ImageOps.exif_transpose`` does them, for OpenCV arrays of any dtype and channel count.
_ORIENTATION_OPS = {
    2: lambda a: cv2.flip(a, 1),
    3: lambda a: cv2.rotate(a, cv2.ROTATE_180),
    4: lambda a: cv2.flip(a, 0),
    5: lambda a: cv2.transpose(a),
    6: lambda a: cv2.rotate(a, cv2.ROTATE_90_CLOCKWISE),
    7: lambda a: cv2.rotate(cv2.transpose(a), cv2.ROTATE_180),
    8: lambda a: cv2.rotate(a, cv2.ROTATE_90_COUNTERCLOCKWISE),
}
_EXIF_ORIENTATION = 0x0112

#: Formats (Pillow's names) decoded by OpenCV, which is faster; OpenCV leaves their EXIF
#: orientation alone with the flags used here. Everything else is decoded by Pillow: OpenCV's
#: TIFF reader, for one, applies the orientation itself whatever the flags, without saying so.
_OPENCV_FORMATS = ('JPEG', 'MPO', 'PNG', 'WEBP', 'BMP')


class ImageReadError(ValueError):
    """A file could not be read as an image (missing, empty, truncated or not an image).

    Args:
        path: The offending file.
        reason: Why it could not be read.
    """

    def __init__(self, path: Optional[PathLike], reason: str):
        self.path = None if path is None else str(path)
        self.reason = reason
        where = '<bytes>' if path is None else f"'{path}'"
        super().__init__(f'cannot read image {where}: {reason}')


def read_color_image(path: PathLike, backend_args: Optional[dict] = None) -> np.ndarray:
    """Read an image file as uint8 RGB.

    Grayscale is replicated to three channels, alpha is composited on white, palette images are
    expanded, 16-bit and float images are rescaled to uint8. The EXIF orientation is applied
    for every format that carries one (JPEG, PNG, WebP, TIFF).

    Args:
        path: Image file (any path MMEngine's file backends understand).
        backend_args: MMEngine ``fileio`` backend arguments (e.g. for remote storage).

    Returns:
        ``(H, W, 3)`` uint8 RGB array.

    Raises:
        ImageReadError: The file is missing, empty, truncated, not a decodable image, or its
            header claims more than :data:`MAX_PIXELS` pixels.
    """
    return decode_color_image(read_image_bytes(path, backend_args), path)


def read_gray_image(path: PathLike, backend_args: Optional[dict] = None) -> np.ndarray:
    """Read an image file as a single-channel uint8 array (used for precomputed sketches).

    Args:
        path: Image file.
        backend_args: MMEngine ``fileio`` backend arguments.

    Returns:
        ``(H, W)`` uint8 array; colour files are converted with the ITU-R 601 luma weights.

    Raises:
        ImageReadError: As :func:`read_color_image`.
    """
    return decode_gray_image(read_image_bytes(path, backend_args), path)


def decode_color_image(data: bytes, path: Optional[PathLike] = None) -> np.ndarray:
    """Decode encoded image bytes to uint8 RGB; ``path`` only names the source in errors.

    Args:
        data: Encoded file content.
        path: Where the bytes came from, for error messages.

    Returns:
        ``(H, W, 3)`` uint8 RGB array.
    """
    return _raw_to_rgb(_decode(data, path), path)


def decode_gray_image(data: bytes, path: Optional[PathLike] = None) -> np.ndarray:
    """Decode encoded image bytes to a single-channel uint8 array.

    Args:
        data: Encoded file content.
        path: Where the bytes came from, for error messages.

    Returns:
        ``(H, W)`` uint8 array.
    """
    raw = _decode(data, path)
    if raw.ndim == 2 and raw.dtype == np.uint8:
        return raw  # the common case of a stored sketch: nothing to convert
    return cv2.cvtColor(_raw_to_rgb(raw, path), cv2.COLOR_RGB2GRAY)


def to_rgb_uint8(img: np.ndarray, bgr: bool = False) -> np.ndarray:
    """Convert a decoded array of any common layout to uint8 RGB.

    Args:
        img: ``(H, W)``, ``(H, W, 1)``, ``(H, W, 2)`` (gray + alpha), ``(H, W, 3)`` or
            ``(H, W, 4)`` array of dtype uint8, uint16, bool or float (floats in [0, 1]).
        bgr: Whether colour channels are in OpenCV's BGR(A) order.

    Returns:
        ``(H, W, 3)`` uint8 RGB array (alpha composited on white).
    """
    img = _to_unit_float_or_uint8(img)
    if img.ndim == 2:
        img = img[..., None]
    if img.ndim != 3 or img.shape[2] not in (1, 2, 3, 4):
        raise ValueError(f'unsupported image shape {img.shape}')
    channels = img.shape[2]
    color = img[..., :1] if channels <= 2 else img[..., :3]
    if bgr and channels >= 3:
        color = color[..., ::-1]
    if channels in (2, 4):
        color = _composite_on_white(color, img[..., -1:])
    if color.dtype != np.uint8:
        color = np.clip(color * 255.0 + 0.5, 0, 255).astype(np.uint8)
    if color.shape[2] == 1:
        color = np.repeat(color, 3, axis=2)
    return np.ascontiguousarray(color)


def _raw_to_rgb(raw: np.ndarray, path: Optional[PathLike]) -> np.ndarray:
    try:
        return to_rgb_uint8(raw, bgr=True)
    except ValueError as err:
        raise ImageReadError(path, str(err)) from err


def read_image_bytes(path: PathLike, backend_args: Optional[dict] = None) -> bytes:
    """The file's bytes through MMEngine's file backends.

    Raises:
        ImageReadError: The file is missing, unreadable or empty.
    """
    try:
        data = fileio.get(path, backend_args=backend_args)
    except (OSError, ValueError) as err:
        raise ImageReadError(path, f'{type(err).__name__}: {err}') from err
    if not data:
        raise ImageReadError(path, 'the file is empty (0 bytes)')
    return data


def _decode(data: bytes, path: Optional[PathLike]) -> np.ndarray:
    """Header check, decoding (OpenCV, else Pillow) and EXIF orientation; see the module doc.

    Returns:
        The decoded, upright array in OpenCV's layout (BGR(A) or gray, any dtype).

    Raises:
        ImageReadError: For every failure, whichever library reports it.
    """
    if not data:
        raise ImageReadError(path, 'no data (0 bytes)')
    with _open_header(data, path) as header:
        is_jpeg = data[:2] == _JPEG_SOI
        if is_jpeg:
            _check_jpeg_complete(data, path)
        img = None
        if header.format in _OPENCV_FORMATS:
            orientation = _exif_orientation(header, data)
            try:
                # JPEG has no alpha or 16-bit to preserve; the orientation is applied below,
                # once, for every format (IMREAD_UNCHANGED ignores it already).
                flags = (cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION
                         if is_jpeg else cv2.IMREAD_UNCHANGED)
                img = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
            except Exception:  # noqa: BLE001 - any OpenCV failure: Pillow has the last word
                img = None
        if img is None:
            img = _decode_with_pillow(header, path)
            # Read after loading: Pillow orients some formats itself (TIFF) and then drops the
            # tag, so what is left is what still has to be done.
            orientation = _exif_orientation(header, data)
    if img.size == 0:
        raise ImageReadError(path, 'the image has no pixels')
    op = _ORIENTATION_OPS.get(orientation)
    return img if op is None else np.ascontiguousarray(op(img))


def _open_header(data: bytes, path: Optional[PathLike]) -> ImageFile.ImageFile:
    """Parse the header with Pillow (no pixels are decoded) and refuse oversized images.

    ``Image.open`` would apply Pillow's decompression-bomb limit (``MAX_IMAGE_PIXELS``, lower
    than :data:`MAX_PIXELS`) and raise its own error without the file's name; so the format
    plugins that ``Image.open`` tries are called directly here, in Pillow's order, and this
    module's limit is the one that applies.

    Raises:
        ImageReadError: No format recognises the data, or the image is too large.
    """
    Image.init()
    prefix = data[:16]
    for fmt in Image.ID:
        factory, accept = Image.OPEN[fmt]
        try:
            accepted = accept is None or accept(prefix)
            if not accepted or isinstance(accepted, str):  # str: "recognised, unsupported"
                continue
            header = factory(io.BytesIO(data), None)
        except (SyntaxError, IndexError, TypeError, struct.error):
            continue  # not this format (how Pillow's plugins say so)
        except Image.DecompressionBombError as err:  # a plugin that checks sizes itself (GIF)
            raise ImageReadError(path, f'{fmt} image too large: {err}') from err
        except Exception as err:  # noqa: BLE001 - a broken header of this format
            raise ImageReadError(path, f'bad {fmt} header ({type(err).__name__}: {err})') from err
        width, height = header.size
        if width * height > MAX_PIXELS:
            header.close()
            raise ImageReadError(
                path, f'the image is {width}x{height} pixels, more than the {MAX_PIXELS} '
                'this reader accepts (a decompression bomb, or a scan to downscale first)')
        return header
    raise ImageReadError(path, 'not a decodable image (no image format recognises its header)')


def _exif_orientation(header: ImageFile.ImageFile, data: bytes) -> int:
    """The EXIF orientation (1-8; 1 = upright) stored in the file, read from its header."""
    if header.format == 'PNG' and 'exif' not in header.info and b'eXIf' not in data:
        # Pillow looks for a PNG's eXIf chunk by decoding the whole image; skip that when the
        # chunk is absent (the common case).
        return 1
    try:
        return int(header.getexif().get(_EXIF_ORIENTATION, 1))
    except Exception:  # noqa: BLE001 - malformed EXIF: treat as upright, as viewers do
        return 1


def _check_jpeg_complete(data: bytes, path: Optional[PathLike]) -> None:
    # libjpeg pads a truncated scan with grey and only warns, so check for the end-of-image
    # marker ourselves.
    if _jpeg_end(data) == -1:
        raise ImageReadError(path, 'truncated JPEG (the data ends before the end-of-image marker)')


def _jpeg_end(data: bytes) -> Optional[int]:
    """Offset just past the main image's end-of-image marker; -1 if the data stops before it;
    ``None`` if the marker structure is not understood (then the decoder has the last word).

    Walks the marker segments rather than searching for the last EOI: phones append videos or
    further images after the EOI ("motion photos", MPO), whose bytes may contain anything.
    """
    pos, n = 2, len(data)
    while pos + 1 < n:
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xD9:
            return pos + 2
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:  # markers without a length
            pos += 2
            continue
        if pos + 3 >= n:
            return -1
        pos += 2 + int.from_bytes(data[pos + 2:pos + 4], 'big')
        if marker == 0xDA:
            pos = _skip_entropy_coded(data, pos)
    return -1


def _skip_entropy_coded(data: bytes, pos: int) -> int:
    """Position of the first marker after a scan (0xFF00 stuffing and restarts belong to it)."""
    while True:
        pos = data.find(b'\xff', pos)
        if pos < 0 or pos + 1 >= len(data):
            return len(data)
        follower = data[pos + 1]
        if follower == 0x00 or 0xD0 <= follower <= 0xD7:
            pos += 2
        elif follower == 0xFF:
            pos += 1
        else:
            return pos


def _decode_with_pillow(header: ImageFile.ImageFile, path: Optional[PathLike]) -> np.ndarray:
    try:
        header.load()
        arr = np.asarray(_pillow_to_supported_mode(header))
    except Exception as err:  # noqa: BLE001 - whatever Pillow's decoders raise
        raise ImageReadError(path, f'not a decodable image ({type(err).__name__}: {err})') \
            from err
    # Pillow gives RGB(A); turn it into the BGR(A) layout the OpenCV branch produces.
    if arr.ndim == 3 and arr.shape[2] in (3, 4):
        arr = np.concatenate([arr[..., 2::-1], arr[..., 3:]], axis=2)
    return arr


def _pillow_to_supported_mode(pil: Image.Image) -> Image.Image:
    if pil.mode in ('RGB', 'RGBA', 'L', 'LA', 'I;16'):
        return pil
    if pil.mode == 'P':
        return pil.convert('RGBA' if 'transparency' in pil.info else 'RGB')
    if pil.mode in ('I', 'F'):
        return pil  # 32-bit integer / float: rescaled in _to_unit_float_or_uint8
    return pil.convert('RGBA' if 'A' in pil.getbands() else 'RGB')


def _to_unit_float_or_uint8(img: np.ndarray) -> np.ndarray:
    """uint8 stays; other dtypes become float32 in [0, 1]."""
    if img.dtype == np.uint8:
        return img
    if img.dtype == np.bool_:
        return img.astype(np.float32)
    if img.dtype == np.uint16:
        return img.astype(np.float32) / 65535.0
    if np.issubdtype(img.dtype, np.integer):
        # 32-bit integer images (Pillow mode 'I') normally hold 16-bit data.
        top = 65535.0 if img.max() > 255 else 255.0
        return np.clip(img.astype(np.float32) / top, 0.0, 1.0)
    if np.issubdtype(img.dtype, np.floating):
        return np.clip(np.nan_to_num(img.astype(np.float32)), 0.0, 1.0)
    raise ValueError(f'unsupported image dtype {img.dtype}')


def _composite_on_white(color: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    scale = 255.0 if alpha.dtype == np.uint8 else 1.0
    a = alpha.astype(np.float32) / scale
    c = color.astype(np.float32) / scale
    return np.clip((c * a + (1.0 - a)) * 255.0 + 0.5, 0, 255).astype(np.uint8)
