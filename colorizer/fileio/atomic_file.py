"""Files that appear atomically, with the permissions a plain ``open()`` gives.

MMEngine writes files in place: a process killed mid-write (SIGKILL, OOM, pre-emption) leaves
a truncated checkpoint, or a truncated ``last_checkpoint`` pointer that names nothing, and
``--resume`` then fails. :class:`AtomicFile` writes to a temporary file in the same folder,
fsyncs it and renames it over the target: a reader sees the old file or the complete new one,
never a partial one. :class:`AtomicLocalBackend` replaces MMEngine's ``local`` backend with it
for every local write that goes through MMEngine's file I/O (checkpoints, published
checkpoints, dumped configs); colorizer's own writers (the ``last_checkpoint`` pointer, the FID
statistics cache) use :class:`AtomicFile` directly.

Temporary files are named ``.<target name>.<random hex>.tmp``
(:data:`TEMPORARY_NAME`): a write killed before its rename leaves one behind, and
:meth:`AtomicFile.remove_leftovers` deletes them when the next run starts.

Permissions: ``tempfile.mkstemp`` creates files with mode ``0600`` whatever the umask, so
checkpoints written through it could not be read by a teammate or a serving process. The
temporary file is created with ``os.open(..., 0o666)`` instead, so the kernel applies the
process umask exactly as for ``open(path, 'w')`` (``0644`` under umask ``022``); a file that
replaces an existing one keeps the existing file's permission bits, as ``open(path, 'w')``
on an existing file would.
"""
import errno
import os
import os.path as osp
import re
import secrets
from pathlib import Path
from typing import List, Union

from mmengine.fileio import LocalBackend, register_backend
from mmengine.fileio import io as mmengine_io

#: Names of the temporary files of :class:`AtomicFile` (group 1: the target's name).
TEMPORARY_NAME = re.compile(r'^\.(.+)\.([0-9a-f]{16}|[a-z0-9_]{8})\.tmp$')


class AtomicFile:
    """Write a file so that readers see either its old or its complete new content.

    Use as a context manager yielding a binary file object; the target appears when the
    ``with`` block exits without an exception. On an exception the temporary file is removed
    and the target is left as it was.

    Args:
        filepath (str | Path): The file to (re)write; its folder is created if missing.

    Example::

        with AtomicFile('stats.npz') as f:
            np.savez(f, mu=mu)
    """

    def __init__(self, filepath: Union[str, Path]):
        self.filepath = osp.abspath(str(filepath))
        self.folder = osp.dirname(self.filepath)
        self.tmp = None
        self._file = None

    def __enter__(self):
        os.makedirs(self.folder, exist_ok=True)
        name = osp.basename(self.filepath)
        while True:
            self.tmp = osp.join(self.folder, f'.{name}.{secrets.token_hex(8)}.tmp')
            try:
                # 0o666 & ~umask, applied by the kernel, like open(path, 'w').
                fd = os.open(self.tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
                break
            except FileExistsError:  # 64 random bits: practically never
                continue
        try:
            os.fchmod(fd, os.stat(self.filepath).st_mode & 0o7777)
        except FileNotFoundError:
            pass
        self._file = os.fdopen(fd, 'wb')
        return self._file

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None:
                self._file.flush()
                os.fsync(self._file.fileno())
            self._file.close()
            if exc_type is None:
                os.replace(self.tmp, self.filepath)
        except OSError as error:
            self._discard()
            if error.filename is not None or error.errno is None:
                raise
            raise _naming(error, self.filepath) from error
        except BaseException:
            self._discard()
            raise
        if exc_type is not None:
            self._discard()
            if isinstance(exc, OSError) and exc.filename is None and exc.errno is not None:
                # write() errors (ENOSPC, EIO, EDQUOT) name no file: name the one written.
                raise _naming(exc, self.filepath) from exc

    def _discard(self) -> None:
        if not self._file.closed:
            self._file.close()
        try:
            os.remove(self.tmp)
        except FileNotFoundError:
            pass

    @staticmethod
    def remove_leftovers(folder: Union[str, Path]) -> List[str]:
        """Delete the temporary files that killed writes left in ``folder``.

        Only names of the form :data:`TEMPORARY_NAME` are touched. Call this when no write
        into ``folder`` is in progress (at the start of a run, on the main process).

        Returns:
            list[str]: The paths removed.
        """
        removed = []
        try:
            names = os.listdir(folder)
        except OSError as error:
            if error.errno in (errno.ENOENT, errno.ENOTDIR):
                return removed
            raise
        for name in sorted(names):
            path = osp.join(str(folder), name)
            if TEMPORARY_NAME.match(name) and osp.isfile(path):
                try:
                    os.remove(path)
                    removed.append(path)
                except FileNotFoundError:
                    pass
        return removed


def _naming(error: OSError, filepath: str) -> OSError:
    """``error`` with ``filename`` set to ``filepath`` when it names no file."""
    if error.filename is not None or error.errno is None:
        return error
    return type(error)(error.errno, error.strerror, filepath)


def atomic_write(data: bytes, filepath: Union[str, Path]) -> None:
    """Write ``data`` to ``filepath`` atomically (see :class:`AtomicFile`)."""
    with AtomicFile(filepath) as f:
        f.write(data)


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
