"""Metrics of colorizer, registered in ``colorizer.registry.METRICS``.

Every logged name carries the protocol that produced it (``random_ref/fid``, ``self_ref/psnr``);
see :mod:`colorizer.evaluation.metrics.base`.
"""
from .base import (ColorizationMetric, InputSizeError, MetricContractError, protocol_prefix,
                   sample_fields)
from .correspondence import CorrespondenceMetric
from .fid import FID, frechet_distance
from .inception import FID_WEIGHTS_NAME, FIDInception, resolve_inception_weights
from .psnr import PSNR
from .region_color_error import RegionColorError
from .segment_accuracy import SegmentAccuracy
from .ssim import SSIM, global_ssim, windowed_ssim

__all__ = [
    'ColorizationMetric', 'CorrespondenceMetric', 'FID', 'FIDInception', 'FID_WEIGHTS_NAME',
    'InputSizeError', 'MetricContractError', 'PSNR', 'RegionColorError', 'SSIM',
    'frechet_distance', 'global_ssim',
    'protocol_prefix', 'resolve_inception_weights', 'SegmentAccuracy', 'sample_fields',
    'windowed_ssim'
]
