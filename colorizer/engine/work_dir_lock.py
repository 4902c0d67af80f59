"""One training run per work dir: a lock file held for the run's life.

Two runs writing into one work dir (a Slurm array with a fixed ``--work-dir``, a command
started twice) both finish, but the folder keeps only one run's ``iter_*.pth`` and
``best_*.pth``, interleaved, and each run's ``last_checkpoint`` may name the other's file.
:class:`WorkDirLock` refuses the second run at start-up.

The lock is an exclusive ``flock`` on ``<work_dir>/.colorizer.lock``, which holds the owner's
PID, host and start time. The kernel releases a ``flock`` when its process exits in any way
(SIGKILL, OOM, a crash included), so a killed run never blocks the next one: the file it left
behind is noticed (its content is still there), the lock is taken over and the killed run's
PID and host are named in a warning. A normal exit removes the file. Under ``torchrun`` only
the global rank 0 takes the lock: one lock per job.
"""
import errno
import fcntl
import logging
import os
import os.path as osp
import socket
import time
from typing import Optional

from mmengine.logging import print_log


class WorkDirLockedError(RuntimeError):
    """Another live run holds the work dir; the message names its PID and host."""


class WorkDirLock:
    """An exclusive lock on a work dir, for one process.

    Args:
        work_dir (str): The run's work dir; created if missing.

    Use :meth:`acquire` at start-up and :meth:`release` at exit (or ``with WorkDirLock(d):``).

    Raises:
        WorkDirLockedError: From :meth:`acquire` when a live process holds the lock.
        OSError: From :meth:`acquire` when the work dir cannot be created or written
            (read-only file system, permissions); ``filename`` names the lock file.
    """

    NAME = '.colorizer.lock'

    def __init__(self, work_dir: str):
        self.work_dir = osp.abspath(work_dir)
        self.path = osp.join(self.work_dir, self.NAME)
        self._fd: Optional[int] = None
        self.previous_owner = ''  # set by acquire(): the killed run whose lock was taken over

    def acquire(self) -> 'WorkDirLock':
        os.makedirs(self.work_dir, exist_ok=True)
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as error:
                owner = _read(fd)
                os.close(fd)
                if error.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                    raise
                raise WorkDirLockedError(
                    f'the work dir {self.work_dir} is in use by another training run '
                    f'({owner or "owner unknown"}; lock file {self.path}). Two runs in one '
                    'work dir overwrite each other\'s checkpoints: wait for it to finish, or '
                    'give this run another --work-dir') from None
            # The owner that released the lock may have removed the file between our open
            # and our flock: then we locked an unlinked file and must lock the new one.
            try:
                if os.fstat(fd).st_ino == os.stat(self.path).st_ino:
                    break
            except FileNotFoundError:
                pass
            os.close(fd)
        self.previous_owner = _read(fd)
        os.ftruncate(fd, 0)
        os.pwrite(fd, _describe_self().encode('utf-8'), 0)
        self._fd = fd
        if self.previous_owner:
            print_log(f'taking over the lock of {self.work_dir} left by a run that no longer '
                      f'runs ({self.previous_owner}; killed?): its checkpoints stay, '
                      '--resume continues from them', logger='current', level=logging.WARNING)
        return self

    def release(self) -> None:
        """Remove the lock file and release the lock (idempotent)."""
        if self._fd is None:
            return
        try:
            os.remove(self.path)  # before unlocking: a waiting run then locks a new file
        except OSError:
            pass
        os.close(self._fd)  # releases the flock
        self._fd = None

    def __enter__(self) -> 'WorkDirLock':
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def _describe_self() -> str:
    started = time.strftime('%Y-%m-%d %H:%M:%S %Z')
    return f'PID {os.getpid()} on host {socket.gethostname()}, started {started}'


def _read(fd: int) -> str:
    try:
        return os.pread(fd, 4096, 0).decode('utf-8', 'replace').strip()
    except OSError:
        return ''


def lock_work_dir(work_dir: str) -> Optional[WorkDirLock]:
    """Lock ``work_dir`` for this job: on global rank 0 only (``RANK``, as torchrun sets it).

    Returns:
        WorkDirLock | None: The held lock (release it at exit), or ``None`` on other ranks.
    """
    if int(os.environ.get('RANK', '0')) != 0:
        return None
    return WorkDirLock(work_dir).acquire()
