"""File helpers every layer may use (no import from the rest of colorizer)."""
from .atomic_file import (TEMPORARY_NAME, AtomicFile, AtomicLocalBackend, atomic_write,
                          register_atomic_local_backend)
from .strict_json import finite_or_none, strict_dumps

__all__ = ['TEMPORARY_NAME', 'AtomicFile', 'AtomicLocalBackend', 'atomic_write',
           'register_atomic_local_backend', 'finite_or_none', 'strict_dumps']
