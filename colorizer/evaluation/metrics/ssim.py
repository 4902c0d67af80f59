"""Structural similarity between the colourisation and the target image.

Two definitions, because published numbers use both (the paper's Table 2 comes from the authors'
evaluation script, other papers use the standard one):

- ``'windowed'`` (default): the standard SSIM of Wang et al. (2004): Gaussian window σ = 1.5,
  11×11, population statistics, K1 = 0.01, K2 = 0.03, on the RGB image in [0, 255], averaged
  over the three channels (scikit-image's ``structural_similarity``).
- ``'global'``: the single-window SSIM of the SGA authors' evaluation script: the whole grayscale
  image is one window, so means, variances and the covariance are taken over all pixels
  (population statistics), C1 = (0.01·255)², C2 = (0.03·255)². Grayscale is ITU-R BT.601 luma
  (0.299 R + 0.587 G + 0.114 B, what PIL's ``convert('L')`` and OpenCV use, without rounding).
  The two definitions give different numbers; the paper's Table 2 used this one.
"""
from typing import List, Optional, Sequence

import numpy as np
from skimage.metrics import structural_similarity

from colorizer.invalid_argument import check_choice
from colorizer.registry import METRICS
from .base import ColorizationMetric, image_hwc, sample_fields

#: ITU-R BT.601 luma weights for R, G, B.
LUMA_WEIGHTS = np.array([0.299, 0.587, 0.114])

#: Side of the Gaussian window of the windowed SSIM: its smallest measurable image side.
WINDOW_SIZE = 11


def windowed_ssim(image: np.ndarray, target: np.ndarray) -> float:
    """Standard Gaussian-window SSIM of two uint8 RGB images (H, W, 3), channel mean."""
    return float(structural_similarity(
        image.astype(np.float64), target.astype(np.float64),
        win_size=WINDOW_SIZE, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
        data_range=255, channel_axis=-1))


def global_ssim(image: np.ndarray, target: np.ndarray) -> float:
    """Single-window SSIM on BT.601 grayscale of two uint8 RGB images (H, W, 3)."""
    x = image.astype(np.float64) @ LUMA_WEIGHTS
    y = target.astype(np.float64) @ LUMA_WEIGHTS
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    mu_x, mu_y = x.mean(), y.mean()
    var_x, var_y = x.var(), y.var()
    cov = ((x - mu_x) * (y - mu_y)).mean()
    return float((2 * mu_x * mu_y + c1) * (2 * cov + c2)
                 / ((mu_x ** 2 + mu_y ** 2 + c1) * (var_x + var_y + c2)))


@METRICS.register_module()
class SSIM(ColorizationMetric):
    """Mean SSIM between ``pred_key`` and ``key`` images over the evaluated samples.

    Logged as ``<protocol>_ref/ssim`` (windowed) or ``<protocol>_ref/ssim_global`` (global), so
    a table always says which definition it shows.

    Args:
        mode (str): ``'windowed'`` or ``'global'`` (module docstring).
        key (str): the reference image field, ``'target'`` (the colour image the sketch was drawn
            from) by default.
        pred_key (str): the colourisation field.
        prefix, collect_device, collect_dir: see
            :class:`~colorizer.evaluation.metrics.base.ColorizationMetric`.
    """

    metric_name = 'SSIM'
    FIELD_ARGUMENTS = ('key', 'pred_key')
    _FUNCTIONS = {'windowed': windowed_ssim, 'global': global_ssim}

    @classmethod
    def min_input_size(cls, cfg: dict) -> int:
        """11 px for the windowed SSIM (its 11x11 window), any size for the global one."""
        return WINDOW_SIZE if cfg.get('mode', 'windowed') == 'windowed' else 1

    @classmethod
    def result_names(cls, cfg: dict) -> List[str]:
        return ['ssim' if cfg.get('mode', 'windowed') == 'windowed' else 'ssim_global']

    @classmethod
    def input_size_remedy(cls, cfg: dict) -> str:
        return (f'evaluate images of at least {WINDOW_SIZE} px (the dataset\'s img_size or the '
                "pipeline's size), or use SSIM(mode='global'), whose single window fits any "
                'size')

    @classmethod
    def describe(cls, cfg: dict) -> str:
        return f"SSIM(mode={cfg.get('mode', 'windowed')!r})"

    def __init__(self,
                 mode: str = 'windowed',
                 key: str = 'target',
                 pred_key: str = 'output',
                 prefix: Optional[str] = None,
                 collect_device: str = 'cpu',
                 collect_dir: Optional[str] = None) -> None:
        check_choice('mode', mode, sorted(self._FUNCTIONS), 'SSIM')
        super().__init__(prefix=prefix, collect_device=collect_device, collect_dir=collect_dir)
        self.mode = mode
        self.key = key
        self.pred_key = pred_key
        self.result_name = 'ssim' if mode == 'windowed' else 'ssim_global'

    def process(self, data_batch, data_samples: Sequence) -> None:
        """Store one SSIM value per sample."""
        ssim = self._FUNCTIONS[self.mode]
        for sample in data_samples:
            fields = sample_fields(sample)
            image = image_hwc(fields, self.pred_key, self.metric_name)
            target = image_hwc(fields, self.key, self.metric_name)
            if image.shape != target.shape:
                raise ValueError(f"SSIM: '{self.pred_key}' {image.shape} and '{self.key}' "
                                 f'{target.shape} differ in size')
            self.check_input_size(image.shape[:2], dict(mode=self.mode))
            self.results.append(dict(value=ssim(image, target),
                                     protocol=self.protocol_of(fields)))

    def compute_values(self, results: List[dict]) -> dict:
        """Mean over samples."""
        values = [r['value'] for r in results]
        return {self.result_name: float(np.mean(values)) if values else float('nan')}
