"""XDoG line extraction (Winnemöller et al. 2012) with the paper's parameters."""
from typing import Sequence

import cv2
import numpy as np
from mmcv.transforms import BaseTransform

from colorizer.invalid_argument import InvalidArgumentError, check_number
from colorizer.registry import TRANSFORMS
# the paper's parameters (§4.1), shared with the model's XDoGLineArt; SIGMAS is read from here
from colorizer.xdog_parameters import EPSILON, K, P, PHI, SIGMAS  # noqa: F401
from .random_state import sample_rng

__all__ = ['XDoG', 'xdog', 'rgb_to_gray_float', 'xdog_sketch']


def rgb_to_gray_float(img: np.ndarray) -> np.ndarray:
    """uint8 RGB (or single-channel) image to float32 grayscale in [0, 1].

    Args:
        img: ``(H, W, 3)`` RGB, or ``(H, W)`` / ``(H, W, 1)`` gray, uint8.

    Returns:
        ``(H, W)`` float32 array in [0, 1].
    """
    if img.ndim == 3 and img.shape[2] == 3:
        # RGB order: the images of this project are RGB, not OpenCV's BGR.
        img = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    elif img.ndim == 3:
        img = img[..., 0]
    if img.dtype == np.uint8:
        # One pass: uint8 -> float32 is exact, then the same float32 product as before.
        return np.multiply(img, np.float32(1.0 / 255.0), dtype=np.float32)
    return np.clip(img.astype(np.float32), 0.0, 1.0)


def xdog(gray: np.ndarray,
         sigma: float,
         k: float = K,
         p: float = P,
         epsilon: float = EPSILON,
         phi: float = PHI) -> np.ndarray:
    """Extended difference of Gaussians on a grayscale image in [0, 1].

    ``S = (1 + p) G_sigma(I) - p G_{k sigma}(I)``, ``SI = I * S``, output ``1`` where
    ``SI >= epsilon`` and ``1 + tanh(phi (SI - epsilon))`` elsewhere (the authors' variant, which
    multiplies the sharpened image by the input before thresholding).

    Args:
        gray: ``(H, W)`` float array in [0, 1].
        sigma: Standard deviation of the small Gaussian (line thickness).
        k: Ratio of the large to the small Gaussian.
        p: Sharpening strength.
        epsilon: Threshold.
        phi: Steepness of the soft threshold; 1e9 makes it a step.

    Returns:
        ``(H, W)`` float32 array in [0, 1]: 1 is paper, dark values are lines.
    """
    arg = _xdog_arg(gray, sigma, k, p, epsilon, phi)
    out = (arg >= 0).astype(np.float32)
    soft = _soft(arg)
    out.flat[soft] = np.float32(1.0) + np.tanh(arg.flat[soft])
    return out


#: Below this float32 tanh is exactly -1, so ``1 + tanh`` is 0 without computing it.
_TANH_SATURATED = np.float32(-20.0)


def _xdog_arg(gray, sigma, k, p, epsilon, phi) -> np.ndarray:
    """``phi * (SI - epsilon)`` as float32 (the argument of the soft threshold's tanh)."""
    gray = np.asarray(gray, dtype=np.float32)
    small = cv2.GaussianBlur(gray, (0, 0), sigma)
    large = cv2.GaussianBlur(gray, (0, 0), sigma * k)
    # In place, but operation for operation the float32 arithmetic of
    # si = gray * (small * (1 + p) - large * p); arg = (si - epsilon) * phi
    # (float32 holds phi * x up to 3e38, and tanh saturates without overflow).
    small *= np.float32(1.0 + p)
    large *= np.float32(p)
    small -= large
    small *= gray
    small -= np.float32(epsilon)
    small *= np.float32(phi)
    return small


def _soft(arg: np.ndarray) -> np.ndarray:
    """Flat indices where ``1 + tanh(min(arg, 0))`` is neither 1 nor 0 (the soft threshold).

    With the paper's phi = 1e9 these are the rare pixels within 2e-8 of the threshold, so the
    tanh, the costly part of XDoG, runs on almost nothing.
    """
    return np.flatnonzero((arg < 0) & (arg > _TANH_SATURATED))


def xdog_sketch(img: np.ndarray, sigma: float = 0.4, **kwargs) -> np.ndarray:
    """uint8 image (RGB or gray) to a uint8 XDoG sketch (255 = background, dark lines).

    Equal to ``xdog(gray) * 255 + 0.5`` truncated to uint8, computed without the float image:
    pixels at or above the threshold are 255, saturated ones 0, and only the soft band goes
    through tanh.

    Args:
        img: ``(H, W, 3)`` RGB or ``(H, W)`` gray uint8 image.
        sigma: XDoG sigma.
        **kwargs: ``k``, ``p``, ``epsilon``, ``phi`` of :func:`xdog`.

    Returns:
        ``(H, W)`` uint8 sketch.
    """
    params = dict(k=K, p=P, epsilon=EPSILON, phi=PHI)
    params.update(kwargs)
    arg = _xdog_arg(rgb_to_gray_float(img), sigma, **params)
    sketch = np.multiply(arg >= 0, np.uint8(255), dtype=np.uint8)  # 255 where arg >= 0, else 0
    soft = _soft(arg)
    if soft.size:
        out = np.float32(1.0) + np.tanh(arg.flat[soft])
        sketch.flat[soft] = (out * np.float32(255.0) + np.float32(0.5)).astype(np.uint8)
    return sketch


@TRANSFORMS.register_module()
class XDoG(BaseTransform):
    """Draw the sketch of ``img`` with XDoG, sigma picked per sample from ``sigmas``.

    The sketch is computed from the image before colour jitter (as the authors do): the sketch
    is a property of the drawing, not of its colours. A no-op when the sample already has a
    ``sketch`` (precomputed sketches, or the synthetic set's drawn outlines).

    Required keys: ``img``. Added keys: ``sketch`` (uint8, HW), ``xdog_sigma``.

    Args:
        sigmas: Candidate sigmas, one drawn uniformly per sample (paper: 0.3 / 0.4 / 0.5).
        k: Ratio of the two Gaussians (paper: 4.5).
        p: Sharpening strength (paper: 19).
        epsilon: Threshold (paper: 0.01).
        phi: Threshold steepness (paper: 1e9, a step).
        src_key: Image to draw from.
        dst_key: Where to write the sketch.
    """

    def __init__(self,
                 sigmas: Sequence[float] = SIGMAS,
                 k: float = K,
                 p: float = P,
                 epsilon: float = EPSILON,
                 phi: float = PHI,
                 src_key: str = 'img',
                 dst_key: str = 'sketch'):
        sigmas = (sigmas, ) if isinstance(sigmas, (int, float)) else tuple(sigmas)
        if not sigmas or not all(isinstance(s, (int, float)) and s > 0 for s in sigmas):
            raise InvalidArgumentError('sigmas', sigmas, 'positive numbers', 'XDoG')
        # Guards against the `10^9 == 3` trap reaching a config as a small number.
        check_number('phi', phi, 100, owner='XDoG (the paper uses 1e9; note 10^9 == 3 in '
                     'Python)')
        self.sigmas = sigmas
        self.params = dict(k=float(k), p=float(p), epsilon=float(epsilon), phi=float(phi))
        self.src_key = src_key
        self.dst_key = dst_key

    def transform(self, results: dict) -> dict:
        if self.dst_key in results:
            return results
        sigma = self.sigmas[sample_rng(results, 'XDoG').integers(len(self.sigmas))]
        results[self.dst_key] = xdog_sketch(results[self.src_key], sigma, **self.params)
        results['xdog_sigma'] = float(sigma)
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(sigmas={self.sigmas}, {self.params}, '
                f'src_key={self.src_key!r}, dst_key={self.dst_key!r})')
