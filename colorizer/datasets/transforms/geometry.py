"""Crops, resizes and flips applied identically to everything bound to the sketch's geometry.

The colour image, its sketch, the region labels and the oracle describe the same picture, so one
random draw moves them together (``keys``). A reference supplied by the dataset (random-reference
protocol) is another picture: it gets its own, independent draw (``independent_keys``).
Labels are resized with nearest-neighbour interpolation, everything else with area averaging
when shrinking and bilinear interpolation when enlarging.
"""
import math
import warnings
from abc import abstractmethod
from typing import Sequence, Tuple, Union

import cv2
import numpy as np
from mmcv.transforms import BaseTransform

from colorizer.invalid_argument import InvalidArgumentError, check_choice, check_number, check_size
from colorizer.registry import TRANSFORMS
from .random_state import sample_rng

__all__ = ['RandomResizedCrop', 'Resize', 'CenterCrop', 'RandomFlip']

GEOMETRY_KEYS = ('img', 'sketch', 'labels', 'oracle')
INDEPENDENT_KEYS = ('reference', )
NEAREST_KEYS = ('labels', )

Size = Union[int, Sequence[int]]


def _resize(arr: np.ndarray, size: Tuple[int, int], nearest: bool,
            fast_shrink: bool = False) -> np.ndarray:
    """Resize to ``size`` (h, w); ``fast_shrink`` takes :func:`_shrink` for downscaling."""
    h, w = size
    if arr.shape[:2] == (h, w):
        return arr
    if nearest:
        interp = cv2.INTER_NEAREST
    elif fast_shrink and h <= arr.shape[0] and w <= arr.shape[1] and arr.dtype != np.int64:
        return _shrink(arr, (h, w))
    elif h <= arr.shape[0] and w <= arr.shape[1]:
        interp = cv2.INTER_AREA
    else:
        interp = cv2.INTER_LINEAR
    if arr.dtype == np.int64:
        # cv2.resize has no int64 path; label ids fit in int32.
        return cv2.resize(arr.astype(np.int32), (w, h), interpolation=interp).astype(np.int64)
    return _keep_channel_dim(arr, cv2.resize(arr, (w, h), interpolation=interp))


def _shrink(arr: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    """Area-average ``arr`` down to ``size``, fast for any factor.

    OpenCV's area resize is fast for integer factors and about 10x slower otherwise (1.1 ms
    for a 400 px crop to 256 px). For a non-integer factor the image is first resized
    bilinearly up to the next integer multiple of ``size`` and then area-averaged by that
    integer: an antialiasing filter of the same width, 48-58 dB PSNR from the direct area
    resize on photos at factors 1.4-2 (docs/benchmarks.md), in 0.5 ms. Used by the random
    crop only: ``Resize`` and ``CenterCrop``, which evaluation uses, keep OpenCV's exact area
    resize, so evaluation inputs are unchanged.
    """
    h, w = size
    src_h, src_w = arr.shape[:2]
    if src_h % h or src_w % w:
        kh, kw = -(-src_h // h), -(-src_w // w)
        arr = cv2.resize(arr, (w * kw, h * kh), interpolation=cv2.INTER_LINEAR)
    return _keep_channel_dim(arr, cv2.resize(arr, (w, h), interpolation=cv2.INTER_AREA))


def _keep_channel_dim(arr: np.ndarray, out: np.ndarray) -> np.ndarray:
    return out[..., None] if arr.ndim == 3 and out.ndim == 2 else out


#: Key of an image -> key of the file it was read from (a message names that key's own file).
SOURCE_PATH_KEYS = {'img': 'img_path', 'reference': 'reference_path', 'sketch': 'sketch_path'}


def _warn_upscale(results: dict, shape: Tuple[int, int], size: Tuple[int, int],
                  what: str, key: str = 'img') -> None:
    """Warn that the ``key`` image (its own file named) is enlarged to ``size``."""
    if shape[0] < size[0] or shape[1] < size[1]:
        sample = f"sample {results.get('index', '?')}"
        path = results.get(SOURCE_PATH_KEYS.get(key, ''))
        if key == 'img':
            name = path or sample
        else:  # e.g. the reference of the random-reference protocol: another picture
            name = f"{path} (the {key} of {sample})" if path else f'the {key} of {sample}'
        warnings.warn(
            f'{name}: image of {shape[1]}x{shape[0]} px is smaller than the {what} size '
            f'{size[1]}x{size[0]} px; it is upscaled', UserWarning)


class _GeometryTransform(BaseTransform):
    """Applies one draw of parameters to ``keys`` and a fresh draw to each independent key."""

    #: Whether ``_draw`` uses its generator (deterministic transforms skip making one).
    random = True

    def __init__(self, keys: Sequence[str] = GEOMETRY_KEYS,
                 independent_keys: Sequence[str] = INDEPENDENT_KEYS):
        self.keys = tuple(keys)
        self.independent_keys = tuple(independent_keys)

    @abstractmethod
    def _draw(self, shape: Tuple[int, int], rng: np.random.Generator, results: dict,
              key: str = 'img'):
        """Draw this transform's parameters for the ``key`` image of ``shape`` (H, W)."""

    @abstractmethod
    def _apply(self, arr: np.ndarray, params, nearest: bool) -> np.ndarray:
        """Apply drawn parameters to one array (nearest-neighbour for label maps)."""

    def transform(self, results: dict) -> dict:
        rng = sample_rng(results, type(self).__name__) if self.random else None
        present = [k for k in self.keys if k in results]
        if present:
            shape = results[present[0]].shape[:2]
            mismatched = {k: results[k].shape[:2] for k in present if results[k].shape[:2] != shape}
            if mismatched:
                raise ValueError(f'{type(self).__name__}: {present[0]} is {shape} but '
                                 f'{mismatched} differ (path: {results.get("img_path")})')
            params = self._draw(shape, rng, results, present[0])
            for key in present:
                results[key] = self._apply(results[key], params, key in NEAREST_KEYS)
            results['img_shape'] = results[present[0]].shape[:2]
        for key in self.independent_keys:
            if key in results:
                params = self._draw(results[key].shape[:2], rng, results, key)
                results[key] = self._apply(results[key], params, key in NEAREST_KEYS)
        return results


@TRANSFORMS.register_module()
class RandomResizedCrop(_GeometryTransform):
    """Crop a random area and aspect ratio, then resize to ``size`` (torchvision's recipe).

    Images smaller than ``size`` are upscaled, with a warning naming the file.

    Required keys: ``img`` (and any other present key of ``keys``).
    Modified keys: ``keys`` and ``independent_keys`` present, ``img_shape``.

    Args:
        size: Output size, ``int`` or ``(h, w)``.
        scale: Range of the crop's area as a fraction of the image's.
        ratio: Range of the crop's aspect ratio (w / h), sampled log-uniformly.
        keys: Keys cropped together with one draw.
        independent_keys: Keys cropped with their own draw (a dataset-supplied reference).
    """

    def __init__(self,
                 size: Size,
                 scale: Sequence[float] = (0.5, 1.0),
                 ratio: Sequence[float] = (3 / 4, 4 / 3),
                 keys: Sequence[str] = GEOMETRY_KEYS,
                 independent_keys: Sequence[str] = INDEPENDENT_KEYS):
        super().__init__(keys, independent_keys)
        self.size = check_size('size', size, 1, type(self).__name__)
        if not 0 < scale[0] <= scale[1] <= 1:
            raise InvalidArgumentError('scale', scale, '(min, max) with 0 < min <= max <= 1',
                                       type(self).__name__)
        self.scale = tuple(scale)
        self.ratio = tuple(ratio)

    def _draw(self, shape, rng, results, key='img'):
        _warn_upscale(results, shape, self.size, 'crop', key)
        h, w = shape
        area = h * w
        log_ratio = np.log(self.ratio)
        for _ in range(10):
            target = area * rng.uniform(*self.scale)
            aspect = math.exp(rng.uniform(*log_ratio))
            cw = int(round(math.sqrt(target * aspect)))
            ch = int(round(math.sqrt(target / aspect)))
            if 0 < cw <= w and 0 < ch <= h:
                top = int(rng.integers(0, h - ch + 1))
                left = int(rng.integers(0, w - cw + 1))
                return top, left, ch, cw
        # Fallback: the largest centred crop with an aspect ratio inside the range.
        aspect = min(max(w / h, self.ratio[0]), self.ratio[1])
        cw, ch = (w, int(round(w / aspect))) if w / h < aspect else (int(round(h * aspect)), h)
        cw, ch = min(cw, w), min(ch, h)
        return (h - ch) // 2, (w - cw) // 2, ch, cw

    def _apply(self, arr, params, nearest):
        top, left, ch, cw = params
        return _resize(arr[top:top + ch, left:left + cw], self.size, nearest, fast_shrink=True)

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(size={self.size}, scale={self.scale}, '
                f'ratio={self.ratio}, keys={self.keys})')


@TRANSFORMS.register_module()
class Resize(_GeometryTransform):
    """Resize to a fixed ``size`` (aspect ratio not kept; AFHQ and the anime set are square).

    Enlarging an image (smaller than ``size``) warns with the file name.

    Modified keys: ``keys`` and ``independent_keys`` present, ``img_shape``.

    Args:
        size: Output size, ``int`` or ``(h, w)``.
        keys: Keys resized together.
        independent_keys: Further keys resized the same way (a dataset-supplied reference).
    """

    def __init__(self,
                 size: Size,
                 keys: Sequence[str] = GEOMETRY_KEYS,
                 independent_keys: Sequence[str] = INDEPENDENT_KEYS):
        super().__init__(keys, independent_keys)
        self.size = check_size('size', size, 1, type(self).__name__)

    random = False

    def _draw(self, shape, rng, results, key='img'):
        _warn_upscale(results, shape, self.size, 'target', key)
        return self.size

    def _apply(self, arr, params, nearest):
        return _resize(arr, params, nearest)

    def __repr__(self) -> str:
        return f'{type(self).__name__}(size={self.size}, keys={self.keys})'


@TRANSFORMS.register_module()
class CenterCrop(_GeometryTransform):
    """Resize the short side to ``size`` (keeping the aspect ratio), then crop the centre.

    Good for evaluation on non-square images. Images smaller than ``size`` are upscaled with a
    warning.

    Modified keys: ``keys`` and ``independent_keys`` present, ``img_shape``.

    Args:
        size: Output size, ``int`` or ``(h, w)``.
        keys: Keys cropped together.
        independent_keys: Further keys cropped the same way, each for its own shape.
    """

    def __init__(self,
                 size: Size,
                 keys: Sequence[str] = GEOMETRY_KEYS,
                 independent_keys: Sequence[str] = INDEPENDENT_KEYS):
        super().__init__(keys, independent_keys)
        self.size = check_size('size', size, 1, type(self).__name__)

    random = False

    def _draw(self, shape, rng, results, key='img'):
        _warn_upscale(results, shape, self.size, 'crop', key)
        h, w = shape
        factor = max(self.size[0] / h, self.size[1] / w)
        rh, rw = max(self.size[0], round(h * factor)), max(self.size[1], round(w * factor))
        return (rh, rw), ((rh - self.size[0]) // 2, (rw - self.size[1]) // 2)

    def _apply(self, arr, params, nearest):
        (rh, rw), (top, left) = params
        arr = _resize(arr, (rh, rw), nearest)
        return arr[top:top + self.size[0], left:left + self.size[1]]

    def __repr__(self) -> str:
        return f'{type(self).__name__}(size={self.size}, keys={self.keys})'


@TRANSFORMS.register_module()
class RandomFlip(_GeometryTransform):
    """Flip with probability ``prob``.

    Modified keys: ``keys`` and ``independent_keys`` present.

    Args:
        prob: Probability to flip.
        direction: ``'horizontal'`` or ``'vertical'``.
        keys: Keys flipped together.
        independent_keys: Keys with their own coin toss (a dataset-supplied reference).
    """

    def __init__(self,
                 prob: float = 0.5,
                 direction: str = 'horizontal',
                 keys: Sequence[str] = GEOMETRY_KEYS,
                 independent_keys: Sequence[str] = INDEPENDENT_KEYS):
        super().__init__(keys, independent_keys)
        check_choice('direction', direction, ('horizontal', 'vertical'), type(self).__name__)
        check_number('prob', prob, 0.0, 1.0, owner=type(self).__name__)
        self.prob = prob
        self.direction = direction

    def _draw(self, shape, rng, results, key='img') -> bool:
        return bool(rng.random() < self.prob)

    def _apply(self, arr, params, nearest):
        if not params:
            return arr
        axis = 1 if self.direction == 'horizontal' else 0
        if arr.dtype in (np.uint8, np.float32):
            # 30x faster than np.flip + copy (0.01 against 0.3 ms at 256 px RGB)
            return _keep_channel_dim(arr, cv2.flip(arr, axis))
        return np.ascontiguousarray(np.flip(arr, axis=axis))

    def __repr__(self) -> str:
        return f'{type(self).__name__}(prob={self.prob}, direction={self.direction!r})'
