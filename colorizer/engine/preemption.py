"""Pre-emption and Ctrl-C: stop at an iteration boundary with a checkpoint to resume from.

Schedulers announce a pre-emption with a signal some time before they kill: SIGTERM (Slurm,
Kubernetes, cloud spot instances) or SIGUSR1 (Slurm's ``--signal=USR1@SECONDS``). Python's
default for both is to die at once, losing every iteration since the last checkpoint.
:class:`PreemptionHook` records the signal instead; at the end of the iteration in progress
(after the model update and the periodic checkpoint, if any) it saves a full checkpoint
through the checkpoint hook's atomic path, updates ``last_checkpoint`` and raises
:class:`Preempted`, which ``tools/train.py`` turns into one line and the exit code
:data:`PREEMPTED_EXIT_CODE`. ``--resume`` then continues from that iteration exactly as from
any periodic checkpoint.

Under ``torchrun`` a signal may reach one rank only, or the ranks at different iterations:
every iteration the ranks agree on the flag with one ``all_reduce`` (max) of a one-element
tensor, so all of them stop after the same iteration and the checkpoint they save together
is consistent.

Ctrl-C (SIGINT) stays immediate (``KeyboardInterrupt``), except inside a checkpoint save:
:func:`interrupts_deferred` holds it until the save is complete. MMEngine formats the config
for the checkpoint's meta inside a bare ``except:`` that turned a Ctrl-C landing there into
``SyntaxError: Failed to format the config file`` followed by the whole config.
"""
import atexit
import contextlib
import logging
import multiprocessing
import os.path as osp
import signal
import threading
from typing import Optional

import torch
import torch.distributed as dist
from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook as _MMCheckpointHook
from mmengine.hooks import Hook
from mmengine.logging import print_log

from colorizer.registry import HOOKS
from .checkpoint_directory import CheckpointDirectory

#: Exit code of a run stopped by SIGTERM / SIGUSR1 after saving (``EX_TEMPFAIL`` of
#: sysexits.h: "try again later"); a job script requeues on it and runs ``--resume``.
PREEMPTED_EXIT_CODE = 75
#: Exit code after Ctrl-C (128 + SIGINT, what a shell reports for a process killed by it).
INTERRUPTED_EXIT_CODE = 130
#: The signals that request a save and a stop.
PREEMPTION_SIGNALS = (signal.SIGTERM, signal.SIGUSR1)


class Preempted(Exception):
    """Training stopped on a pre-emption signal after saving ``checkpoint``.

    Attributes:
        signal_name (str): ``'SIGTERM'`` or ``'SIGUSR1'`` (what this rank or another received).
        iteration (int): Iterations completed (the checkpoint's ``meta['iter']``).
        checkpoint (str): The checkpoint saved at that iteration.
    """

    def __init__(self, signal_name: str, iteration: int, checkpoint: str):
        self.signal_name, self.iteration, self.checkpoint = signal_name, iteration, checkpoint
        super().__init__(f'{signal_name} received: stopped after iteration {iteration} and '
                         f'saved {checkpoint}; continue with --resume (same --work-dir)')


@HOOKS.register_module()
class PreemptionHook(Hook):
    """Save and stop at the end of the iteration during which SIGTERM or SIGUSR1 arrived.

    Priority ``LOWEST``: runs after every other ``after_train_iter`` (the checkpoint hook's
    periodic save included, which it then does not repeat). The signal handlers are installed
    in ``before_run`` (main thread only) and the previous ones restored in ``after_run``.
    """

    priority = 'LOWEST'

    def __init__(self):
        self.received = 0  # the signal number, 0 for none
        self._previous = {}

    def _record(self, signum, frame) -> None:
        self.received = self.received or signum

    def before_run(self, runner) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for sig in PREEMPTION_SIGNALS:
            self._previous[sig] = signal.signal(sig, self._record)

    def after_run(self, runner) -> None:
        self.restore_handlers()

    def restore_handlers(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous = {}

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        signum = self._agreed_signal()
        if not signum:
            return
        name = signal.Signals(signum).name
        runner.logger.warning(f'{name} received: saving a checkpoint after iteration '
                              f'{runner.iter + 1}, then stopping')
        checkpoint = self._save(runner)
        self.restore_handlers()
        _stop_workers(runner)
        raise Preempted(name, runner.iter + 1, checkpoint)

    def _agreed_signal(self) -> int:
        """The signal any rank received (0 if none): the same value on every rank."""
        if not (dist.is_available() and dist.is_initialized()):
            return self.received
        device = 'cuda' if dist.get_backend() == 'nccl' else 'cpu'
        flag = torch.tensor([self.received], dtype=torch.int32, device=device)
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        return int(flag.item())

    def _save(self, runner) -> str:
        """Save this iteration's checkpoint unless the checkpoint hook just did; its path."""
        hook = next((h for h in runner.hooks if isinstance(h, _MMCheckpointHook)), None)
        step = runner.iter + 1
        if hook is not None and not hook.by_epoch:
            path = hook.file_backend.join_path(hook.out_dir, hook.filename_tmpl.format(step))
            if hook.last_ckpt != path:
                hook._save_checkpoint(runner)  # the periodic save: pointer, max_keep_ckpts
            return path
        # No checkpoint hook, or an epoch-based one (whose names count epochs): a checkpoint
        # named after the iteration, in the hook's folder, published through the pointer.
        out_dir = hook.out_dir if hook is not None else runner.work_dir
        filename = f'iter_{step}.pth'
        runner.save_checkpoint(out_dir, filename, by_epoch=False)
        path = osp.join(out_dir, filename)
        if is_main_process():
            CheckpointDirectory(runner.work_dir, out_dir).write_pointer(path)
        return path


def _stop_workers(runner) -> None:
    """Shut the training loader's workers down now, as the end of a run does.

    The exception that ends the run keeps the loader's iterator alive until the interpreter
    exits, where ``multiprocessing`` would stop the workers with SIGTERM, which they ignore
    (:class:`WorkerSignalGuard`), and wait for them forever.
    """
    loop = getattr(runner, '_train_loop', None)
    holders = [getattr(loop, 'dataloader_iterator', None), getattr(loop, 'dataloader', None)]
    for holder in holders:
        iterator = getattr(holder, '_iterator', None)
        if hasattr(iterator, '_shutdown_workers'):
            iterator._shutdown_workers()


@contextlib.contextmanager
def interrupts_deferred():
    """Hold Ctrl-C (SIGINT) until the block ends, then raise ``KeyboardInterrupt``.

    For writes that must complete (a checkpoint save). Outside the main thread, or when SIGINT
    is not handled by Python's default handler, the block runs unchanged.
    """
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler):
        yield
        return
    pending = []
    signal.signal(signal.SIGINT, lambda signum, frame: pending.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if pending:
        print_log('Ctrl-C during a checkpoint save: the save was completed first',
                  logger='current', level=logging.WARNING)
        raise KeyboardInterrupt


class WorkerSignalGuard:
    """``worker_init_fn`` wrapper: DataLoader workers ignore SIGTERM and SIGUSR1.

    Slurm and ``kill -TERM -<pgid>`` signal every process of the job, DataLoader workers
    included; PyTorch's worker handler then kills the worker, and the main process fails with
    "DataLoader worker ... exited unexpectedly" before it can save. Workers ignore both
    signals instead: the main process stops them as after any run, and a worker whose main
    process is gone exits by itself (PyTorch's watchdog).

    Args:
        init_fn (callable, optional): The loader's own ``worker_init_fn`` (MMEngine's seeding),
            called after the signals are set.
    """

    def __init__(self, init_fn=None):
        self.init_fn = init_fn

    def __call__(self, worker_id: int) -> None:
        for sig in PREEMPTION_SIGNALS:
            signal.signal(sig, signal.SIG_IGN)
        if self.init_fn is not None:
            self.init_fn(worker_id)


def guard_workers(loader):
    """Make the workers of ``loader`` (a ``torch.utils.data.DataLoader``) ignore pre-emption
    signals (:class:`WorkerSignalGuard`); anything else is returned unchanged."""
    global _EXIT_HOOK_REGISTERED
    if isinstance(loader, torch.utils.data.DataLoader) and loader.num_workers > 0 and \
            not isinstance(loader.worker_init_fn, WorkerSignalGuard):
        loader.worker_init_fn = WorkerSignalGuard(loader.worker_init_fn)
        if not _EXIT_HOOK_REGISTERED:
            # Runs before multiprocessing's own exit handler (atexit is last in, first out),
            # whose SIGTERM the workers ignore: it would wait for them forever.
            atexit.register(_kill_workers)
            _EXIT_HOOK_REGISTERED = True
    return loader


_EXIT_HOOK_REGISTERED = False


def _kill_workers() -> None:
    """At exit: SIGKILL the worker processes still alive (those ignoring SIGTERM).

    PyTorch's SIGCHLD handler raises in the main process when one of its workers dies by a
    signal; raised here, it would end this loop after the first worker and leave the others
    (a second loader's, e.g. validation's persistent workers) to multiprocessing's exit
    handler, which waits for them forever. So the handler is reset first, every worker is
    killed, then each is reaped.
    """
    if hasattr(signal, 'SIGCHLD'):
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    workers = [child for child in multiprocessing.active_children()
               if child.daemon]  # DataLoader workers are daemonic
    for child in workers:
        child.kill()
    for child in workers:
        child.join(timeout=5)


def enable_preemption(runner) -> Optional[PreemptionHook]:
    """Register a :class:`PreemptionHook` on ``runner`` unless its config lists one."""
    if any(isinstance(h, PreemptionHook) for h in runner.hooks):
        return None
    hook = PreemptionHook()
    runner.register_hook(hook, priority='LOWEST')
    return hook
