"""Turn what a user hands to :func:`colorizer.apis.colorize` into the project's image conventions.

Accepted inputs, each for one image:

- a path (``str`` or :class:`pathlib.Path`): read by
  :func:`colorizer.datasets.image_io.read_color_image` (RGB, alpha composited on white,
  16-bit rescaled, EXIF orientation applied); an unreadable file raises
  :class:`~colorizer.datasets.image_io.ImageReadError` naming it;
- a numpy array ``(H, W)``, ``(H, W, 1)``, ``(H, W, 2)`` (gray + alpha), ``(H, W, 3)`` (RGB) or
  ``(H, W, 4)`` (RGBA). ``uint8`` is used as is, ``uint16`` is divided by 65535, ``bool`` maps to
  0 / 255 and floats are taken as [0, 1] (values outside are clipped, NaN becomes 0). Alpha is
  composited on white. Channel order is RGB (convert OpenCV's BGR first);
- a :class:`PIL.Image.Image` of any mode (palette, CMYK, 16-bit, ... are converted first); its
  EXIF orientation is applied, as for files, so a picture opened with ``Image.open`` is used the
  way image viewers show it.
"""
from pathlib import Path
from typing import Union

import cv2
import numpy as np
from PIL import Image, ImageOps

from colorizer.datasets.image_io import read_color_image, to_rgb_uint8
from colorizer.datasets.transforms.xdog import xdog_sketch

__all__ = ['ImageInput', 'load_rgb', 'line_art', 'describe']

#: One image as :func:`load_rgb` accepts it.
ImageInput = Union[str, Path, np.ndarray, Image.Image]

# Pillow modes whose arrays ``to_rgb_uint8`` understands directly; others are converted first.
_DIRECT_PIL_MODES = ('1', 'L', 'LA', 'RGB', 'RGBA', 'I;16', 'I', 'F')

#: XDoG sigma for colour images turned into line art (the middle of the training range).
XDOG_SIGMA = 0.4


def describe(image: ImageInput, what: str) -> str:
    """A short name of an input for error messages, e.g. ``"sketch 'a.png'"``."""
    if isinstance(image, (str, Path)):
        return f"{what} '{image}'"
    if isinstance(image, np.ndarray):
        return f'{what} (array {image.shape} {image.dtype})'
    if isinstance(image, Image.Image):
        return f'{what} (PIL image {image.mode} {image.size[0]}x{image.size[1]})'
    return f'{what} ({type(image).__name__})'


def load_rgb(image: ImageInput, what: str = 'image') -> np.ndarray:
    """Load one input as an ``(H, W, 3)`` uint8 RGB array.

    Args:
        image: A path, numpy array or PIL image (see the module docstring for the layouts).
        what: What the image is (``'sketch'``, ``'reference'``), used in error messages.

    Returns:
        ``(H, W, 3)`` uint8 RGB array (may share memory with a uint8 RGB input array).

    Raises:
        ImageReadError: A path that is missing, empty or not a decodable image.
        ValueError: An array of an unsupported shape or dtype, or an empty image.
        TypeError: Any other kind of object.
    """
    if isinstance(image, (str, Path)):
        return read_color_image(str(image))
    if isinstance(image, Image.Image):
        upright = ImageOps.exif_transpose(image)  # a copy: the caller's image is left alone
        return _array_to_rgb(_pil_to_array(upright), describe(image, what))
    if isinstance(image, np.ndarray):
        return _array_to_rgb(image, describe(image, what))
    raise TypeError(f'{describe(image, what)}: expected a path, a numpy array or a PIL image')


def line_art(rgb: np.ndarray, is_color: bool) -> np.ndarray:
    """The single-channel line art of an RGB image.

    Args:
        rgb: ``(H, W, 3)`` uint8 RGB.
        is_color: The image is a colour picture: draw its lines with XDoG (as the training
            pipeline does, sigma :data:`XDOG_SIGMA`). Otherwise it already is line art and is
            only converted to gray (ITU-R 601 luma).

    Returns:
        ``(H, W)`` uint8, 255 = paper, dark = lines.
    """
    if is_color:
        return xdog_sketch(rgb, XDOG_SIGMA)
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)


def _pil_to_array(image: Image.Image) -> np.ndarray:
    if image.mode == 'P':
        image = image.convert('RGBA' if 'transparency' in image.info else 'RGB')
    elif image.mode not in _DIRECT_PIL_MODES:
        image = image.convert('RGBA' if 'A' in image.getbands() else 'RGB')
    return np.asarray(image)


def _array_to_rgb(array: np.ndarray, name: str) -> np.ndarray:
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (1, 2, 3, 4)):
        raise ValueError(f'{name}: unsupported image shape {array.shape}; expected (H, W), '
                         '(H, W, 1), (H, W, 2), (H, W, 3) or (H, W, 4) (pass a list for '
                         'several images)')
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(f'{name}: the image has no pixels')
    try:
        return to_rgb_uint8(np.asarray(array))
    except ValueError as err:
        raise ValueError(f'{name}: {err}') from err
