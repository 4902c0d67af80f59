"""Colour jitter that turns the loaded image into the training target."""
from typing import Sequence, Tuple, Union

import albumentations as A
import numpy as np
from mmcv.transforms import BaseTransform

from colorizer.registry import TRANSFORMS
from .random_state import sample_rng

__all__ = ['ColorJitter']

Range = Union[float, Sequence[float]]


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
    """

    def __init__(self,
                 brightness: Range = 0.2,
                 contrast: Range = 0.2,
                 saturation: Range = 0.2,
                 hue: Range = 0.05,
                 prob: float = 1.0,
                 jitter_reference: bool = True):
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

    def _draw(self, rng: np.random.Generator) -> Tuple[bool, dict]:
        params = {name: float(rng.uniform(lo, hi)) for name, (lo, hi) in self.ranges.items()}
        params['order'] = [int(i) for i in rng.permutation(4)]
        return bool(rng.random() < self.prob), params

    def _apply(self, img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        apply, params = self._draw(rng)
        return self._jitter.apply(img, **params) if apply else img.copy()

    def transform(self, results: dict) -> dict:
        rng = sample_rng(results, 'ColorJitter')
        results['target'] = self._apply(results['img'], rng)
        if self.jitter_reference and 'reference' in results:
            results['reference'] = self._apply(results['reference'], rng)
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}({self.ranges}, prob={self.prob}, '
                f'jitter_reference={self.jitter_reference})')
