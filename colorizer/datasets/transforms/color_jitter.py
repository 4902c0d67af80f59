"""Colour jitter that turns the loaded image into the training target."""
from typing import Sequence, Tuple, Union

import albumentations as A
import cv2
import numpy as np
from albucore.functions import sz_lut
from mmcv.transforms import BaseTransform

from colorizer.registry import TRANSFORMS
from .random_state import sample_rng

__all__ = ['ColorJitter', 'color_jitter']

Range = Union[float, Sequence[float]]

_IDENTITY = np.arange(256, dtype=np.float32)
_IDENTITY_I16 = np.arange(256, dtype=np.int16)


def _lut(values: np.ndarray) -> np.ndarray:
    # albucore's rounding: clip, then truncate to uint8.
    return np.clip(values, 0, 255).astype(np.uint8)


def _brightness(img: np.ndarray, factor: float) -> np.ndarray:
    return sz_lut(img, _lut(_IDENTITY * np.float32(factor)), inplace=False)


def _contrast(img: np.ndarray, factor: float) -> np.ndarray:
    mean = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).mean()  # np.float64, as albumentations
    return sz_lut(img, _lut(_IDENTITY * factor + mean * (1 - factor)), inplace=False)


def _saturation(img: np.ndarray, factor: float) -> np.ndarray:
    gray = cv2.cvtColor(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)
    return cv2.addWeighted(img, factor, gray, 1 - factor, 0)


def _hue(img: np.ndarray, factor: float) -> np.ndarray:
    hue, sat, val = cv2.split(cv2.cvtColor(img, cv2.COLOR_RGB2HSV))
    # OpenCV's 8-bit hue is in [0, 180): shift by 180 * factor, wrap around.
    sz_lut(hue, np.mod(_IDENTITY_I16 + 180 * factor, 180).astype(np.uint8), inplace=True)
    return cv2.cvtColor(cv2.merge([hue, sat, val]), cv2.COLOR_HSV2RGB)


_OPERATIONS = (_brightness, _contrast, _saturation, _hue)
_NEUTRAL = (1.0, 1.0, 1.0, 0.0)


def color_jitter(img: np.ndarray, brightness: float, contrast: float, saturation: float,
                 hue: float, order: Sequence[int]) -> np.ndarray:
    """torchvision's colour jitter on a uint8 RGB image, with albumentations' exact arithmetic.

    The same operations, rounding and clipping as ``albumentations.ColorJitter.apply`` (tests
    check equality bit for bit), called directly: brightness and contrast as one 256-entry
    lookup table each, saturation as a blend with the grey image, hue as a lookup table on
    OpenCV's 8-bit HSV hue. About 0.4 ms at 256 px against albumentations' 0.7 ms, most of
    which is its per-call checks and decorators.

    Args:
        img: ``(H, W, 3)`` uint8 RGB image.
        brightness: Brightness factor (1 = unchanged).
        contrast: Contrast factor (1 = unchanged), around the grey image's mean.
        saturation: Saturation factor (1 = unchanged).
        hue: Hue shift in turns, in [-0.5, 0.5].
        order: Permutation of ``range(4)``: the order of brightness, contrast, saturation, hue.

    Returns:
        ``(H, W, 3)`` uint8 RGB image (a new array).
    """
    factors = (brightness, contrast, saturation, hue)
    out = img
    for i in order:
        if factors[i] != _NEUTRAL[i]:
            out = _OPERATIONS[i](out, factors[i])
    return out.copy() if out is img else out


@TRANSFORMS.register_module()
class ColorJitter(BaseTransform):
    """Random brightness / contrast / saturation / hue: ``target = jitter(img)``.

    The paper's "appearance noise" (the authors add +-1 to uint8 values) is almost a no-op; a real
    colour jitter makes the model take colours from the reference rather than memorising them.
    The operations are albumentations' (torchvision-compatible) ``ColorJitter``; the parameters
    are drawn here so evaluation samples can be deterministic (see ``random_state``).

    ``img`` itself is left untouched, so ``XDoG`` after this transform still draws the sketch
    from the original image. When the dataset supplied an independent ``reference`` (the
    random-reference protocol) it gets its own, independent draw if ``jitter_reference``; the
    synthetic set's ``oracle`` is never jittered, so evaluation pipelines have no jitter.

    Required keys: ``img``. Added keys: ``target``. Modified: ``reference`` (see above).

    Args:
        brightness: Factor range, or ``b`` for ``(1 - b, 1 + b)``.
        contrast: Factor range, or ``c`` for ``(1 - c, 1 + c)``.
        saturation: Factor range, or ``s`` for ``(1 - s, 1 + s)``.
        hue: Shift range in turns, or ``h`` for ``(-h, h)``; at most 0.5.
        prob: Probability to jitter at all (else ``target`` is a copy of ``img``).
        jitter_reference: Jitter a dataset-supplied ``reference`` independently.
        implementation: ``'fast'`` (:func:`color_jitter`) or ``'albumentations'``
            (``ColorJitter.apply``, the reference; same output).
    """

    def __init__(self,
                 brightness: Range = 0.2,
                 contrast: Range = 0.2,
                 saturation: Range = 0.2,
                 hue: Range = 0.05,
                 prob: float = 1.0,
                 jitter_reference: bool = True,
                 implementation: str = 'fast'):
        # albumentations validates and normalises the ranges; only `apply` is used afterwards.
        self._jitter = A.ColorJitter(
            brightness=brightness, contrast=contrast, saturation=saturation, hue=hue, p=1.0)
        self.ranges = dict(
            brightness=tuple(self._jitter.brightness),
            contrast=tuple(self._jitter.contrast),
            saturation=tuple(self._jitter.saturation),
            hue=tuple(self._jitter.hue))
        self.prob = prob
        self.jitter_reference = jitter_reference
        if implementation not in ('fast', 'albumentations'):
            raise ValueError("implementation must be 'fast' or 'albumentations', "
                             f'got {implementation!r}')
        self.implementation = implementation

    def _draw(self, rng: np.random.Generator) -> Tuple[bool, dict]:
        params = {name: float(rng.uniform(lo, hi)) for name, (lo, hi) in self.ranges.items()}
        params['order'] = [int(i) for i in rng.permutation(4)]
        return bool(rng.random() < self.prob), params

    def _apply(self, img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        apply, params = self._draw(rng)
        if not apply:
            return img.copy()
        if self.implementation == 'fast' and img.ndim == 3 and img.shape[2] == 3 \
                and img.dtype == np.uint8 and min(params[k] for k in ('brightness', 'contrast',
                                                                      'saturation')) > 0:
            return color_jitter(img, **params)
        # Grey or float images and zero factors (all-black, all-grey): albumentations' branches.
        return self._jitter.apply(img, **params)

    def transform(self, results: dict) -> dict:
        rng = sample_rng(results, 'ColorJitter')
        results['target'] = self._apply(results['img'], rng)
        if self.jitter_reference and 'reference' in results:
            results['reference'] = self._apply(results['reference'], rng)
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}({self.ranges}, prob={self.prob}, '
                f'jitter_reference={self.jitter_reference}, '
                f'implementation={self.implementation!r})')
