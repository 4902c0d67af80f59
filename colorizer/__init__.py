"""colorizer: reference-based line-art colourisation on MMEngine."""
from .version import __version__

# Loading and writing checkpoints is safe as soon as colorizer is imported, whatever the entry
# point (a tool, a notebook calling MMEngine's CheckpointLoader, a third-party runner): every
# scheme of MMEngine's CheckpointLoader goes through the allow-listed loader, and local writes
# through MMEngine's file I/O are atomic.
from .fileio import register_atomic_local_backend  # noqa: E402
from .engine.checkpoint_sources import register_safe_loaders  # noqa: E402

register_safe_loaders()
register_atomic_local_backend()

__all__ = ['__version__']
