"""XDoG line art of an image batch inside the model (the data pipeline's ``XDoG`` on tensors).

The generator uses it to draw the reference's own line art for fusion modules that compare the
sketch with the reference *as a drawing* (``context_keys`` contains ``'reference_line_feat'``).
It works on any reference, including those given at inference time, where the data pipeline
has not drawn one.
"""
import torch
import torch.nn.functional as F
from torch import nn

from colorizer.xdog_parameters import EPSILON, K, P, PHI

__all__ = ['XDoGLineArt']

# cv2.COLOR_RGB2GRAY's weights (ITU-R BT.601)
_GRAY = (0.299, 0.587, 0.114)


def _gaussian_kernel(sigma: float) -> torch.Tensor:
    # cv2.GaussianBlur's size for float images with ksize=(0, 0): round(8 sigma + 1), made odd
    size = int(round(sigma * 8 + 1)) | 1
    coords = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    kernel = torch.exp(-coords**2 / (2 * sigma**2))
    return (kernel / kernel.sum()).float()


class XDoGLineArt(nn.Module):
    """``XDoG`` (``colorizer/datasets/transforms/xdog.py``, paper §4.1) for (B, 3, H, W) batches.

    Same steps as the pipeline's: grayscale (BT.601 weights), two Gaussian blurs with reflected
    borders (OpenCV's default ``BORDER_REFLECT_101``), ``SI = I ((1+p) G_σ - p G_kσ)``, soft
    threshold, and the uint8 rounding of the pipeline's sketches, so the result is what the
    sketch encoder sees for sketches. A pixel whose value lies within float rounding of the
    threshold may land on the other side than with OpenCV.

    Args:
        sigma: σ of the small Gaussian (the pipeline draws 0.3, 0.4 or 0.5 per sample; a model
            needs one value: the middle one by default).
        k: Ratio of the two Gaussians.
        p: Sharpening strength.
        epsilon: Threshold.
        phi: Steepness of the soft threshold (1e9: a step).
    """

    def __init__(self, sigma: float = 0.4, k: float = K, p: float = P, epsilon: float = EPSILON,
                 phi: float = PHI):
        super().__init__()
        if sigma <= 0:
            raise ValueError(f'sigma must be positive, got {sigma}')
        self.p, self.epsilon, self.phi = float(p), float(epsilon), float(phi)
        self.register_buffer('small', _gaussian_kernel(sigma), persistent=False)
        self.register_buffer('large', _gaussian_kernel(sigma * k), persistent=False)

    @staticmethod
    def _blur(gray: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
        # separable: rows then columns; (B, 1, H, W)
        radius = (kernel.numel() - 1) // 2
        for dim in (3, 2):
            # reflect-101 needs radius < size; a kernel wider than the image is cut to fit
            r = min(radius, gray.shape[dim] - 1)
            k = kernel[radius - r:radius + r + 1]
            k = k / k.sum()
            pad = (r, r, 0, 0) if dim == 3 else (0, 0, r, r)
            weight = k.view(1, 1, 1, -1) if dim == 3 else k.view(1, 1, -1, 1)
            gray = F.conv2d(F.pad(gray, pad, mode='reflect'), weight.to(gray.dtype))
        return gray

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        """Draw the line art.

        Args:
            image: (B, 3, H, W) RGB in [-1, 1] (the data preprocessor's range).

        Returns:
            (B, 1, H, W) line art in [-1, 1] (1: paper, -1: line), quantised to the 256 levels
            of a uint8 sketch.
        """
        if image.dim() != 4 or image.shape[1] != 3:
            raise ValueError(f'image must be (B, 3, H, W), got {tuple(image.shape)}')
        with torch.no_grad():
            levels = ((image.float() + 1.0) * 127.5).round()  # the uint8 values
            weights = torch.tensor(_GRAY, device=image.device).view(1, 3, 1, 1)
            gray = ((levels * weights).sum(1, keepdim=True)).round() / 255.0  # (B, 1, H, W)
            small = self._blur(gray, self.small)
            large = self._blur(gray, self.large)
            si = gray * (small * (1.0 + self.p) - large * self.p)
            line = 1.0 + torch.tanh(((si - self.epsilon) * self.phi).clamp_max(0.0))
            line = torch.floor(line * 255.0 + 0.5)
            return (line / 127.5 - 1.0).to(image.dtype)

    def extra_repr(self) -> str:
        return f'p={self.p}, epsilon={self.epsilon}, phi={self.phi:g}'
