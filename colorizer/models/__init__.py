"""Models: attention plugins, generators, discriminators, losses and the GAN model.

Importing this package registers every part, so configs can name them.
"""
from . import attention, discriminators, generators, losses  # noqa: F401
from .data_preprocessors import ColorizationDataPreprocessor
from .reference_colorizer import ReferenceColorizer

__all__ = ['ColorizationDataPreprocessor', 'ReferenceColorizer']
