"""Peak signal-to-noise ratio between the colourisation and the target image."""
from typing import List, Optional, Sequence

import numpy as np

from colorizer.registry import METRICS
from .base import ColorizationMetric, image_hwc, sample_fields


def psnr(image: np.ndarray, target: np.ndarray) -> float:
    """PSNR in dB of two uint8 images, peak 255, MSE over all pixels and channels.

    Identical images give ``inf``.
    """
    mse = np.mean((image.astype(np.float64) - target.astype(np.float64)) ** 2)
    return float('inf') if mse == 0 else float(10 * np.log10(255.0 ** 2 / mse))


@METRICS.register_module()
class PSNR(ColorizationMetric):
    """Mean per-image PSNR between ``pred_key`` and ``key`` images, logged as
    ``<protocol>_ref/psnr`` (usually ``self_ref/psnr``: SCFT's self-reference protocol).

    The mean is over images (each image's PSNR, then the average), as in the colourisation and
    super-resolution literature; a single perfect reconstruction makes it ``inf``.

    Args:
        key (str): the reference image field, ``'target'`` by default.
        pred_key (str): the colourisation field.
        prefix, collect_device, collect_dir: see
            :class:`~colorizer.evaluation.metrics.base.ColorizationMetric`.
    """

    metric_name = 'PSNR'
    FIELD_ARGUMENTS = ('key', 'pred_key')

    @classmethod
    def result_names(cls, cfg: dict) -> List[str]:
        return ['psnr']

    def __init__(self,
                 key: str = 'target',
                 pred_key: str = 'output',
                 prefix: Optional[str] = None,
                 collect_device: str = 'cpu',
                 collect_dir: Optional[str] = None) -> None:
        super().__init__(prefix=prefix, collect_device=collect_device, collect_dir=collect_dir)
        self.key = key
        self.pred_key = pred_key

    def process(self, data_batch, data_samples: Sequence) -> None:
        """Store one PSNR value per sample."""
        for sample in data_samples:
            fields = sample_fields(sample)
            image = image_hwc(fields, self.pred_key, self.metric_name)
            target = image_hwc(fields, self.key, self.metric_name)
            if image.shape != target.shape:
                raise ValueError(f"PSNR: '{self.pred_key}' {image.shape} and '{self.key}' "
                                 f'{target.shape} differ in size')
            self.results.append(dict(value=psnr(image, target),
                                     protocol=self.protocol_of(fields)))

    def compute_values(self, results: List[dict]) -> dict:
        """Mean over samples."""
        values = [r['value'] for r in results]
        return {'psnr': float(np.mean(values)) if values else float('nan')}
