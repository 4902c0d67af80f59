"""Fit images of any size and aspect into the model's input size, and bring results back.

A letterbox resizes the image keeping its aspect ratio until it just fits the input size, then
pads the rest. Distorting the image instead (a plain resize) would stretch the shapes the model
learnt to recognise; cropping would lose parts of the sketch. The padding is cut away again from
the output, which is then resized to the original size.
"""
from dataclasses import dataclass
from typing import Optional, Tuple

import cv2
import numpy as np

__all__ = ['Letterbox', 'native_input_size']

Size = Tuple[int, int]


def _resize(image: np.ndarray, size: Size, interpolation: Optional[int] = None) -> np.ndarray:
    """Resize to ``size`` = (h, w); area averaging when shrinking (thin lines fade to grey
    instead of vanishing), bicubic when enlarging, unless ``interpolation`` is given."""
    h, w = size
    if image.shape[:2] == (h, w):
        return image.copy()
    if interpolation is None:
        shrinking = h * w < image.shape[0] * image.shape[1]
        interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC
    return cv2.resize(image, (w, h), interpolation=interpolation)


@dataclass(frozen=True)
class Letterbox:
    """Where an image of ``src_size`` sits inside an input of ``dst_size``.

    Attributes:
        src_size: (h, w) of the original image.
        dst_size: (H, W) of the model input.
        inner_size: (h', w') of the resized image inside the input.
        top: Rows of padding above it.
        left: Columns of padding left of it.
    """

    src_size: Size
    dst_size: Size
    inner_size: Size
    top: int
    left: int

    @classmethod
    def fit(cls, src_size: Size, dst_size: Size) -> 'Letterbox':
        """The letterbox of an image of ``src_size`` in an input of ``dst_size``, centred."""
        (h, w), (dh, dw) = src_size, dst_size
        scale = min(dh / h, dw / w)
        ih, iw = min(dh, max(1, round(h * scale))), min(dw, max(1, round(w * scale)))
        return cls(tuple(src_size), tuple(dst_size), (ih, iw), (dh - ih) // 2, (dw - iw) // 2)

    @property
    def padding(self) -> Tuple[int, int, int, int]:
        """(top, bottom, left, right) rows and columns of padding."""
        (dh, dw), (ih, iw) = self.dst_size, self.inner_size
        return self.top, dh - ih - self.top, self.left, dw - iw - self.left

    def apply(self, image: np.ndarray, fill: Optional[int] = 255) -> np.ndarray:
        """Resize ``image`` (of ``src_size``) into the input and pad it.

        Args:
            image: ``(h, w)`` or ``(h, w, C)`` array.
            fill: Padding value, or ``None`` to repeat the edge pixels (for references: a
                constant colour would add a colour to the palette the model copies from).

        Returns:
            Array of ``dst_size`` with the same channels.
        """
        inner = _resize(image, self.inner_size)
        top, bottom, left, right = self.padding
        if fill is None:
            return cv2.copyMakeBorder(inner, top, bottom, left, right, cv2.BORDER_REPLICATE)
        value = (fill, ) * (1 if inner.ndim == 2 else inner.shape[2])
        return cv2.copyMakeBorder(inner, top, bottom, left, right, cv2.BORDER_CONSTANT,
                                  value=value)

    def invert(self, image: np.ndarray, interpolation: Optional[int] = None) -> np.ndarray:
        """Cut the padding from an array of ``dst_size`` and resize it back to ``src_size``.

        Args:
            image: ``(H, W)`` or ``(H, W, C)`` array (uint8 or float).
            interpolation: OpenCV flag; default: area when shrinking, bicubic when enlarging.

        Returns:
            Array of ``src_size``.
        """
        ih, iw = self.inner_size
        inner = image[self.top:self.top + ih, self.left:self.left + iw]
        return _resize(np.ascontiguousarray(inner), self.src_size, interpolation)

    def to_input(self, x: float, y: float) -> Tuple[float, float]:
        """Map a pixel (x = column, y = row) of the original image into input pixel coordinates.

        Pixel centres map onto pixel centres, so the centre of the original image lands on the
        centre of the resized content.
        """
        (h, w), (ih, iw) = self.src_size, self.inner_size
        return ((x + 0.5) * iw / w - 0.5 + self.left, (y + 0.5) * ih / h - 0.5 + self.top)


def native_input_size(src_size: Size, divisor: int, min_pixels: int, max_pixels: int) -> Size:
    """The model input size that keeps an image's detail: its own size, rescaled (keeping the
    aspect ratio) only to stay within ``[min_pixels, max_pixels]``, each side then rounded up
    to a multiple of ``divisor``.

    The generator is convolutional around its attention, so it runs at any multiple of its
    stride; a 1200x200 sketch squeezed into a 64x64 training size keeps 64x11 pixels of it.

    Args:
        src_size: (h, w) of the image.
        divisor: The generator's stride (``size_divisor``).
        min_pixels: Fewest input pixels (the training size's: smaller images are enlarged to
            the scale the model was trained at).
        max_pixels: Most input pixels (the budget of time and memory; larger images shrink).

    Returns:
        (H, W), multiples of ``divisor``, at least ``divisor`` each.
    """
    h, w = src_size
    scale = 1.0
    if h * w > max_pixels:
        scale = (max_pixels / (h * w)) ** 0.5
    elif h * w < min_pixels:
        scale = (min_pixels / (h * w)) ** 0.5
    return tuple(max(divisor, -(-max(1, round(side * scale)) // divisor) * divisor)
                 for side in (h, w))
