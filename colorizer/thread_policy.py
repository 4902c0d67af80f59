"""Choose how many CPU threads torch uses, before torch starts its thread pools.

Why: OpenMP worker threads spin-wait for work between parallel regions. When a machine's cores
are already busy (other users, other jobs, data-loader workers), the spinning threads take turns
with the thread that has work, and a training iteration can get an order of magnitude slower
than with one thread (measured in ``benchmarks/bench_threads.py``). The policy here:

- ``OMP_WAIT_POLICY=PASSIVE`` (unless set by the user): idle OpenMP threads sleep instead of
  spinning, so an oversubscribed core is not burnt by waiting threads;
- ``OMP_NUM_THREADS`` = the free cores (usable cores minus the busy ones), divided among the
  processes of this node (``LOCAL_WORLD_SIZE`` under ``torchrun``), at least 1.

Both are read by libgomp when torch loads it, so :func:`apply_thread_policy` must run before
``torch`` (or anything that imports it: mmengine, ``colorizer.engine``...) is imported. That is
why this module imports nothing but the standard library, and why the tools load it by its file
path (``tools/thread_setup.py``) instead of importing it: ``import colorizer`` runs
``colorizer/__init__.py``, which imports torch and mmengine to register the safe checkpoint
loaders and the atomic file backend.

User control, in order:

1. ``OMP_NUM_THREADS`` set explicitly in the environment is honoured as is;
2. ``COLORIZER_THREADS``: ``auto`` (default, the policy above), a number ``N`` (N threads,
   passive waiting), or ``torch`` (change nothing: torch's own default, one thread per physical
   core with active waiting, the behaviour before this policy).

"Busy cores" is the larger of the 1-minute load average and the cores found busy over a short
sample of ``/proc/stat``: oversubscribing costs up to ~10x, leaving a core idle at most the
cores' ratio, so the estimate errs on the busy side.
"""
import os
import sys
import time
from dataclasses import dataclass
from typing import Mapping, MutableMapping, Optional

__all__ = ['ThreadPolicy', 'ThreadPolicyError', 'choose_threads', 'apply_thread_policy',
           'busy_cores', 'ENV_VAR']

#: Environment variable of the user's choice: ``auto`` | ``N`` | ``torch``.
ENV_VAR = 'COLORIZER_THREADS'
_MODES = ('auto', 'torch')
#: Seconds of ``/proc/stat`` sampling at start-up (only in ``auto`` mode).
SAMPLE_SECONDS = 0.3


class ThreadPolicyError(ValueError):
    """``COLORIZER_THREADS`` or ``OMP_NUM_THREADS`` holds a value that is no thread count."""


@dataclass(frozen=True)
class ThreadPolicy:
    """The thread setting chosen for this process.

    Attributes:
        mode: ``'auto'``, ``'fixed'`` (``COLORIZER_THREADS=N``), ``'environment'`` (explicit
            ``OMP_NUM_THREADS``) or ``'torch'`` (left to torch).
        threads: Intra-op threads, or ``None`` in ``'torch'`` mode (torch decides).
        usable_cores: Cores this process may run on (CPU affinity).
        busy_cores: Cores found busy at start-up (``auto`` mode only, else ``None``).
        processes: Processes of this node sharing the cores.
        wait_policy: ``OMP_WAIT_POLICY`` in force, ``None`` when unset.
    """

    mode: str
    threads: Optional[int]
    usable_cores: int
    busy_cores: Optional[float] = None
    processes: int = 1
    wait_policy: Optional[str] = None

    def describe(self) -> str:
        """One log line saying what was chosen and how to change it."""
        wait = f', OMP_WAIT_POLICY={self.wait_policy}' if self.wait_policy else ''
        if self.mode == 'torch':
            return (f'CPU threads: torch default ({ENV_VAR}=torch{wait}); '
                    f'{self.usable_cores} usable cores')
        if self.mode == 'environment':
            why = 'OMP_NUM_THREADS from the environment'
        elif self.mode == 'fixed':
            why = f'{ENV_VAR}={self.threads}'
        else:
            why = (f'{ENV_VAR}=auto: {self.usable_cores} usable cores, '
                   f'{self.busy_cores:.1f} busy, {self.processes} process(es) on this node')
        return (f'CPU threads: {self.threads} ({why}{wait}); set {ENV_VAR}=N|auto|torch or '
                'OMP_NUM_THREADS to change')


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity), else the machine's count."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _cpu_times() -> Optional[tuple]:
    """(busy, total) jiffies of all CPUs from ``/proc/stat``, ``None`` where unavailable."""
    try:
        with open('/proc/stat') as f:
            fields = [int(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return sum(fields) - idle, sum(fields)


def busy_cores(sample_seconds: float = SAMPLE_SECONDS) -> float:
    """How many cores are busy now: max(1-minute load average, busy share over a sample).

    Args:
        sample_seconds: Length of the ``/proc/stat`` sample; 0 uses the load average only.

    Returns:
        Busy cores (a float, 0 on an idle machine).
    """
    try:
        load = os.getloadavg()[0]
    except (OSError, AttributeError):
        load = 0.0
    sampled = 0.0
    start = _cpu_times() if sample_seconds > 0 else None
    if start is not None:
        time.sleep(sample_seconds)
        end = _cpu_times()
        if end is not None and end[1] > start[1]:
            sampled = (end[0] - start[0]) / (end[1] - start[1]) * (os.cpu_count() or 1)
    return max(load, sampled)


def _positive_int(value: str, name: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise ThreadPolicyError(f'{name}={value!r} must be a positive integer'
                                + (" or 'auto' or 'torch'" if name == ENV_VAR else ''))
    return number


def choose_threads(environ: Mapping[str, str] = os.environ,
                   cores: Optional[int] = None,
                   busy: Optional[float] = None,
                   processes: Optional[int] = None) -> ThreadPolicy:
    """Decide the thread count (pure: reads only the arguments, changes nothing).

    Args:
        environ: Environment (``OMP_NUM_THREADS``, ``COLORIZER_THREADS``, ``LOCAL_WORLD_SIZE``,
            ``OMP_WAIT_POLICY``).
        cores: Usable cores; default :func:`usable_cores`.
        busy: Busy cores; default :func:`busy_cores` (measured only in ``auto`` mode).
        processes: Processes of this node sharing the cores; default ``LOCAL_WORLD_SIZE`` (set
            by ``torchrun``) or 1.

    Returns:
        The :class:`ThreadPolicy` (``wait_policy`` is what :func:`apply_thread_policy` sets).

    Raises:
        ThreadPolicyError: A malformed ``COLORIZER_THREADS`` or ``OMP_NUM_THREADS``.
    """
    cores = cores or usable_cores()
    processes = processes or int(environ.get('LOCAL_WORLD_SIZE') or 1)
    choice = (environ.get(ENV_VAR) or 'auto').strip().lower()
    if choice not in _MODES:
        _positive_int(choice, ENV_VAR)
    user_wait = environ.get('OMP_WAIT_POLICY')
    if choice == 'torch':
        return ThreadPolicy('torch', None, cores, processes=processes, wait_policy=user_wait)
    wait = user_wait or 'PASSIVE'
    if environ.get('OMP_NUM_THREADS'):
        threads = _positive_int(environ['OMP_NUM_THREADS'], 'OMP_NUM_THREADS')
        return ThreadPolicy('environment', threads, cores, processes=processes, wait_policy=wait)
    if choice != 'auto':
        return ThreadPolicy('fixed', int(choice), cores, processes=processes, wait_policy=wait)
    busy = busy_cores() if busy is None else float(busy)
    free = cores - busy
    threads = max(1, min(int(free + 0.5), cores) // max(1, processes))
    return ThreadPolicy('auto', threads, cores, busy, processes, wait)


def apply_thread_policy(environ: MutableMapping[str, str] = os.environ,
                        exit_on_error: bool = False) -> ThreadPolicy:
    """Choose the thread count and put it into the environment, before torch is imported.

    Sets ``OMP_NUM_THREADS`` and ``MKL_NUM_THREADS`` (unless set) and ``OMP_WAIT_POLICY``
    (unless set) except in ``torch`` mode. If torch is already imported, its thread pool is
    resized with ``torch.set_num_threads`` (the wait policy then cannot change any more).

    Args:
        environ: The environment to read and update (``os.environ``).
        exit_on_error: Command-line tools: exit with the message instead of raising.

    Returns:
        The :class:`ThreadPolicy` applied; log :meth:`ThreadPolicy.describe` once.

    Raises:
        ThreadPolicyError: A malformed ``COLORIZER_THREADS`` or ``OMP_NUM_THREADS``.
    """
    try:
        policy = choose_threads(environ)
    except ThreadPolicyError as error:
        if exit_on_error:
            sys.exit(f'error: {error}')
        raise
    if policy.mode != 'torch':
        environ['OMP_NUM_THREADS'] = str(policy.threads)
        environ.setdefault('MKL_NUM_THREADS', str(policy.threads))
        environ.setdefault('OMP_WAIT_POLICY', policy.wait_policy)
        torch = sys.modules.get('torch')
        if torch is not None:
            torch.set_num_threads(policy.threads)
    return policy


def main(argv=None) -> int:
    """``python -m colorizer.thread_policy [--processes N]``: print the thread count.

    The distributed launch scripts use it to give every process its share of the free cores;
    prints nothing in ``torch`` mode.
    """
    import argparse
    parser = argparse.ArgumentParser(description='Print the CPU thread count per process')
    parser.add_argument('--processes', type=int, default=1,
                        help='processes that will share this node')
    args = parser.parse_args(argv)
    try:
        policy = choose_threads(os.environ, processes=max(1, args.processes))
    except ThreadPolicyError as error:
        print(f'error: {error}', file=sys.stderr)
        return 2
    if policy.threads is not None:
        print(policy.threads)
    return 0


if __name__ == '__main__':
    sys.exit(main())
