"""Known faults of a run, reported as one line: what failed, where, and what to do.

The command-line tools wrap their run in :func:`reported_faults`. A known fault (a full disk, a
read-only or immutable work dir, a bad or non-finite input, an unusable checkpoint, a work dir
in use, a bad config value) ends the process with ``error: <one line>`` and exit code 1;
the traceback adds nothing a user can act on, so it is printed only when the environment
variable :data:`TRACEBACK_ENV` is set (``COLORIZER_TRACEBACK=1``). Unknown exceptions keep
their traceback. A pre-emption (:class:`~colorizer.engine.preemption.Preempted`) exits with
:data:`~colorizer.engine.preemption.PREEMPTED_EXIT_CODE`, Ctrl-C with
:data:`~colorizer.engine.preemption.INTERRUPTED_EXIT_CODE`, each with one line.

Errors raised in a DataLoader worker reach the main process re-wrapped by PyTorch
("Caught ImageReadError in DataLoader worker process 0. Original Traceback ...", often as a
``RuntimeError`` because the original class cannot be rebuilt from that text), and MMEngine
chains two more tracebacks onto it. :func:`worker_error_line` recovers the original one-line
message and the worker from that text.
"""
import contextlib
import errno
import gc
import os
import os.path as osp
import re
import shutil
import sys
import traceback
from typing import Optional, Tuple

from .checkpoint_directory import CheckpointDirectory
from .checkpoint_errors import CheckpointError, one_line
from .config_validation import ConfigError
from .preemption import INTERRUPTED_EXIT_CODE, PREEMPTED_EXIT_CODE, Preempted
from .work_dir_lock import WorkDirLockedError, lock_work_dir

#: Set to 1 to print the full traceback of a known fault before its one-line message.
TRACEBACK_ENV = 'COLORIZER_TRACEBACK'

_WORKER = re.compile(r'Caught (\w+) in DataLoader worker process (\d+)\.')
#: The last line of an embedded traceback: ``module.ErrorClass: message``.
_ORIGINAL = re.compile(r'^(?:[\w.]+\.)?(\w+(?:Error|Exception)): (.*)$')

_NO_WRITE = {errno.EROFS: 'the file system is read-only',
             errno.EACCES: 'permission denied',
             errno.EPERM: 'operation not permitted (an immutable file or folder, chattr +i?)'}


def _known_types() -> Tuple[type, ...]:
    # Imported here: colorizer.engine must not import the models and datasets at load time.
    from colorizer.datasets.image_io import ImageReadError
    from colorizer.evaluation.metrics.base import MetricContractError
    from colorizer.models.reference_colorizer import NonFiniteInputError, NonFiniteLossError
    return (ConfigError, FileNotFoundError, CheckpointError, WorkDirLockedError,
            NonFiniteLossError, NonFiniteInputError, ImageReadError, MetricContractError)


def worker_error_line(error: BaseException) -> Optional[str]:
    """The original one-line message of a known fault re-raised from a DataLoader worker.

    Returns:
        str | None: ``None`` when ``error`` does not come from a worker, or when the worker's
        error is not a known fault (a bug keeps its traceback).
    """
    text = str(error)
    match = _WORKER.search(text)
    if match is None or match.group(1) not in {t.__name__ for t in _known_types()}:
        return None
    lines = [line for line in text.splitlines() if line.strip()]
    for line in reversed(lines):
        original = _ORIGINAL.match(line.strip())
        if original:
            return f'{original.group(2)} (in DataLoader worker {match.group(2)}, ' \
                   f'{original.group(1)})'
    return None


def _free_space(path: str) -> str:
    folder = osp.dirname(osp.abspath(path))
    while folder and not osp.isdir(folder):
        folder = osp.dirname(folder)
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return 'free space unknown'
    return f'{free / 2**20:.1f} MiB free there'


def describe_fault(error: BaseException) -> Optional[str]:
    """One line for a known fault (what, where, what to do), or None for an unknown one."""
    if isinstance(error, OSError) and not isinstance(error, FileNotFoundError):
        where = error.filename or 'a file'
        if error.errno in (errno.ENOSPC, errno.EDQUOT):
            return (f'no space left on the device (or quota exceeded) while writing {where} '
                    f'({_free_space(where)}): free some space or give another --work-dir; '
                    'the checkpoints written before are complete and --resume continues '
                    'from the newest')
        if error.errno in _NO_WRITE:
            return (f'cannot write {where}: {_NO_WRITE[error.errno]}. Give a writable '
                    '--work-dir (or fix the permissions)')
    worker = worker_error_line(error)
    if worker is not None:
        return worker
    if isinstance(error, _known_types()):
        return one_line(error)
    return None


def _exit(message: str, code: int, error: BaseException) -> None:
    if os.environ.get(TRACEBACK_ENV, '') not in ('', '0'):
        traceback.print_exception(type(error), error, error.__traceback__)
    print(message, file=sys.stderr, flush=True)
    sys.exit(code)


@contextlib.contextmanager
def reported_faults(work_dir: Optional[str] = None, lock: bool = False):
    """Run the block; report known faults, pre-emption and Ctrl-C as one line and exit.

    Args:
        work_dir (str, optional): The run's work dir (named in the Ctrl-C line).
        lock (bool): Hold the work dir's lock (:func:`~colorizer.engine.work_dir_lock.
            lock_work_dir`, global rank 0 only) for the block; a second run is refused.
    """
    held = None
    try:
        if lock:
            held = lock_work_dir(work_dir)
        yield
    except Preempted as error:
        from .distributed import shutdown_distributed
        shutdown_distributed()  # every rank stopped after the same iteration
        # Free the loaders' iterators now (their __del__ stops the DataLoader workers):
        # stopped at interpreter exit instead, workers that ignore SIGTERM are waited for.
        error.__traceback__ = None
        gc.collect()
        _exit(f'stopped: {error}', PREEMPTED_EXIT_CODE, error)
    except KeyboardInterrupt as error:
        saved = ''
        if work_dir is not None:
            # What --resume continues from: the pointer's file, else the newest complete one
            # (a Ctrl-C between a save and its pointer update leaves the pointer behind).
            folder = CheckpointDirectory(work_dir)
            path = folder.read_pointer()[0] or next(iter(folder.complete_checkpoints()), None)
            saved = (f'; the last complete checkpoint is {path}, --resume continues from it'
                     if path else '; no checkpoint was saved yet')
        _exit(f'interrupted (Ctrl-C){saved}', INTERRUPTED_EXIT_CODE, error)
    except Exception as error:  # noqa: B902 (known faults only; the rest is re-raised)
        message = describe_fault(error)
        if message is None:
            raise
        _exit(f'error: {message}', 1, error)
    finally:
        if held is not None:
            held.release()
