"""Checkpoints and the ``last_checkpoint`` pointer are written atomically.

MMEngine writes files in place: a process killed mid-write (SIGKILL, OOM, pre-emption) leaves
a truncated checkpoint, or a truncated ``last_checkpoint`` pointer that names nothing, and
``--resume`` then fails. :class:`AtomicLocalBackend` writes to a temporary file in the same
folder, fsyncs it and renames it over the target: a reader sees the old file or the complete
new one, never a partial one. It replaces MMEngine's ``local`` backend for every local write
that goes through MMEngine's file I/O (checkpoints, pointer, dumped configs).
"""
import os
import os.path as osp
import tempfile
from pathlib import Path
from typing import Union

from mmengine.fileio import LocalBackend, register_backend
from mmengine.fileio import io as mmengine_io


def atomic_write(data: bytes, filepath: Union[str, Path]) -> None:
    """Write ``data`` to ``filepath`` via a temporary file and ``os.replace``."""
    filepath = str(filepath)
    folder = osp.dirname(osp.abspath(filepath))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f'.{osp.basename(filepath)}.', suffix='.tmp')
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, filepath)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


class AtomicLocalBackend(LocalBackend):
    """MMEngine's local file backend with atomic ``put`` and ``put_text``."""

    def put(self, obj: bytes, filepath: Union[str, Path]) -> None:
        atomic_write(obj, filepath)

    def put_text(self, obj: str, filepath: Union[str, Path], encoding: str = 'utf-8') -> None:
        atomic_write(obj.encode(encoding), filepath)


def register_atomic_local_backend() -> None:
    """Make :class:`AtomicLocalBackend` the backend MMEngine uses for local paths."""
    register_backend('local', AtomicLocalBackend, force=True, prefixes='')
    # Drop backends MMEngine already instantiated, so they are rebuilt from the new class.
    for key in [k for k, v in mmengine_io.backend_instances.items()
                if type(v) is LocalBackend]:
        del mmengine_io.backend_instances[key]
