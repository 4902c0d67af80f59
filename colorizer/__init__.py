"""colorizer: reference-based line-art colourisation on MMEngine."""
from .version import __version__

__all__ = ['__version__']
