"""Data transforms (registered in ``colorizer.registry.TRANSFORMS``).

A training pipeline is a plain list::

    LoadColorImage -> LoadSketch -> RandomResizedCrop -> RandomFlip -> ColorJitter -> XDoG
    -> TPSWarp -> PackColorizationInputs

Each transform that creates a key leaves it alone when the dataset already supplied it: ``XDoG``
skips samples with a ``sketch`` (precomputed or drawn), ``TPSWarp`` skips samples with a
``reference`` (random-reference protocol), so the same list serves every dataset and mode.
"""
from .color_jitter import ColorJitter
from .formatting import PackColorizationInputs
from .geometry import CenterCrop, RandomFlip, RandomResizedCrop, Resize
from .loading import LoadColorImage, LoadSketch
from .random_state import SAMPLE_SEED_KEY, sample_rng
from .tps_warp import TPSWarp, tps_warp
from .xdog import XDoG, rgb_to_gray_float, xdog, xdog_sketch

__all__ = [
    'LoadColorImage', 'LoadSketch', 'RandomResizedCrop', 'Resize', 'CenterCrop', 'RandomFlip',
    'ColorJitter', 'XDoG', 'TPSWarp', 'PackColorizationInputs', 'xdog', 'xdog_sketch',
    'rgb_to_gray_float', 'tps_warp', 'sample_rng', 'SAMPLE_SEED_KEY'
]
