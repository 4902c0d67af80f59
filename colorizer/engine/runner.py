"""MMEngine's Runner with the checkpoint guarantees of colorizer's README ("Faults").

``tools/train.py`` and ``tools/test.py`` build :class:`ColorizerRunner`; Python code can too
(``ColorizerRunner.from_cfg(cfg)``). What it adds to MMEngine 0.10.7's Runner, on every save
and every load, whatever hooks the config lists:

- **every save is loadable**: after the ``before_save_checkpoint`` hooks, MMEngine's
  ``HistoryBuffer`` objects are packed into plain tensors and the checkpoint is checked against
  the loader's allow-list (:func:`~colorizer.engine.checkpoint_safety.check_loadable`); model
  keys are saved without DDP wrapper segments; a checkpoint holding NaN or Inf is not written
  (:class:`~colorizer.engine.checkpoint_safety.NonFiniteCheckpointError`);
- **every load is complete**: ``load_from``, ``--resume`` and ``tools/test.py`` load the model
  through :func:`~colorizer.engine.model_state.load_model_state` (missing or unexpected keys
  stop the run, naming them);
- **every resume is complete or refused**: a checkpoint without the optimiser state of every
  optimiser wrapper, the param schedulers' state (when configured) or the message hub is
  refused with :class:`~colorizer.engine.checkpoint_errors.IncompleteCheckpointError`, which
  says to use ``load_from``;
- **auto-resume finds a checkpoint after any kill**: ``--resume`` without a path uses
  :meth:`CheckpointDirectory.resume_source` (falls back to the newest complete checkpoint when
  ``last_checkpoint`` is missing, empty, unreadable or dangling), and training starts by
  deleting temporary files of interrupted writes;
- **every scheduler saves or the run does not start**: before the first iteration each built
  parameter scheduler's state is checked against the allow-list
  (:func:`~colorizer.engine.checkpoint_safety.check_schedulers_saveable`), naming the
  scheduler's class; allow-listed scheduler functions are saved by name;
- **a resume continues the same computation**: the checkpoint's stored config is compared with
  the current one (:mod:`~colorizer.engine.resume_config_check`) and a difference that changes
  the model or the data, or a scheduler whose saved ``end`` came from another run length,
  refuses the resume (before any success line) unless ``resume_changed_config`` is set; the
  process count is saved (``meta['world_size']``) and a changed global batch is logged;
- **the logged config says what runs**: ``env_cfg.dist_cfg.backend`` in the logged, dumped
  and checkpointed config is the backend in use (``None`` without a process group).
"""
import os.path as osp
from typing import Any, Dict, List, Optional

from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook as _MMCheckpointHook
from mmengine.model import is_model_wrapper
from mmengine.optim import OptimWrapperDict
from mmengine.runner import EpochBasedTrainLoop, Runner
from mmengine.runner.checkpoint import _load_checkpoint
from mmengine.utils.dl_utils import collect_env
from torch import nn

from .checkpoint_directory import CheckpointDirectory
from .checkpoint_errors import IncompleteCheckpointError
from .checkpoint_safety import (check_finite, check_loadable, check_schedulers_saveable,
                                pack_history_buffers, pack_scheduler_functions)
from .checkpoint_sources import ensure_safe_loaders
from .model_state import INFERENCE_UNUSED_MODULES, TRAINING_ONLY_MODULES, load_model_state
from .model_wrappers import unwrapped_key
from .preemption import guard_workers, interrupts_deferred
from .run_environment import record_used_backend, runtime_environment
from .resume_config_check import check_resume_config, check_resume_schedule, global_batch_note


class ColorizerRunner(Runner):
    """MMEngine's ``Runner`` whose checkpoints are always loadable, complete and resumable.

    Same constructor and methods as :class:`mmengine.runner.Runner`; see the module docstring
    for what changes.
    """

    def __init__(self, *args, **kwargs):
        self._resume_flags = None
        # modules a checkpoint may lack (their weights are never used by the current loop)
        self._load_exempt = TRAINING_ONLY_MODULES
        self._resumed_here = False
        super().__init__(*args, **kwargs)
        for hook in self._hooks:
            if type(hook) is _MMCheckpointHook:
                self.logger.warning(
                    "default_hooks.checkpoint is MMEngine's own CheckpointHook: its "
                    'last_checkpoint pointer is not written atomically and max_keep_ckpts '
                    "deletes before saving. Use type='CheckpointHook' (colorizer's, same "
                    'arguments) under default_scope colorizer.')

    # Saving -------------------------------------------------------------------------------

    def call_hook(self, fn_name: str, **kwargs) -> None:
        if fn_name == 'before_run':
            # Schedulers are built by now (train()); refuse one that no checkpoint could keep
            # before the first iteration rather than at the first save.
            check_schedulers_saveable(self.param_schedulers)
        super().call_hook(fn_name, **kwargs)
        if fn_name == 'before_train' and self._resumed_here:
            self._resumed_here = False
            self._replay_validation_after_resume()
        if fn_name == 'before_save_checkpoint':
            # After every hook, so no hook (or its absence) can break the invariant.
            checkpoint = kwargs['checkpoint']
            pack_history_buffers(checkpoint.get('message_hub') or {})
            pack_scheduler_functions(checkpoint.get('param_schedulers'))
            if isinstance(checkpoint.get('meta'), dict):
                # Not in the config; a resume compares it (resume_config_check).
                checkpoint['meta']['world_size'] = self.world_size
            self._unwrap_keys(checkpoint)
            check_loadable(checkpoint, 'the checkpoint')
            check_finite(checkpoint, self.iter + 1)

    def _unwrap_keys(self, checkpoint: Dict[str, Any]) -> None:
        """Drop DDP segments from model keys, whatever wrapper the config chose."""
        model = self.model.module if is_model_wrapper(self.model) else self.model
        wrapped = {name for name, child in model.named_children() if is_model_wrapper(child)
                   or isinstance(child, nn.parallel.DistributedDataParallel)}
        state = checkpoint.get('state_dict')
        if wrapped and isinstance(state, dict):
            checkpoint['state_dict'] = type(state)(
                (unwrapped_key(k, wrapped), v) for k, v in state.items())

    def save_checkpoint(self, *args, **kwargs) -> None:
        # A Ctrl-C lands after the file is complete (preemption.interrupts_deferred).
        with interrupts_deferred():
            super().save_checkpoint(*args, **kwargs)

    @staticmethod
    def build_dataloader(*args, **kwargs):
        # Workers that survive a SIGTERM sent to the whole job (preemption.WorkerSignalGuard).
        return guard_workers(Runner.build_dataloader(*args, **kwargs))

    def setup_env(self, env_cfg: dict) -> None:
        super().setup_env(env_cfg)
        # The config's dist_cfg (nccl in every default runtime) is logged, dumped to the work
        # dir and stored in checkpoints: say the backend in use instead (None: no group).
        record_used_backend(self.cfg)

    def _log_env(self, env_cfg: dict) -> None:
        # MMEngine's block prints the configured dist_cfg and "GPU number" even on a CPU run.
        lines = [f'{k}: {v}' for k, v in collect_env().items()]
        runtime = [f'{k}: {v}' for k, v in runtime_environment(self, env_cfg).items()]
        dash_line = '-' * 60
        self.logger.info(f'\n{dash_line}\nSystem environment:\n    ' + '\n    '.join(lines)
                         + '\n\nRuntime environment:\n    ' + '\n    '.join(runtime)
                         + f'\n{dash_line}\n')
        if self.cfg._cfg_dict:
            self.logger.info(f'Config:\n{self.cfg.pretty_text}')

    # Loading ------------------------------------------------------------------------------

    def load_checkpoint(self, filename: str, map_location='cpu', strict: bool = True,
                        revise_keys: list = [(r'^module\.', '')]):  # noqa: B006 (MMEngine's)
        """Load ``filename`` (path, URL or scheme) into the model, every weight or none.

        ``strict`` is accepted for MMEngine's interface and ignored: loading is always
        complete (see :func:`~colorizer.engine.model_state.load_model_state`).

        Raises:
            CheckpointMismatchError: Missing or unexpected keys, or shapes that differ.
            IncompleteCheckpointError: Called by :meth:`resume` and the checkpoint lacks a
                training state that resume restores.
            UnsafeCheckpointError: The file references objects outside the allow-list.
        """
        ensure_safe_loaders()
        checkpoint = _load_checkpoint(filename, map_location=map_location)
        if self._resume_flags is not None:
            self._check_resumable(checkpoint, filename, *self._resume_flags)
        self.call_hook('after_load_checkpoint', checkpoint=checkpoint)
        model = self.model.module if is_model_wrapper(self.model) else self.model
        load_model_state(model, checkpoint, filename, exempt=self._load_exempt,
                         revise_keys=revise_keys)
        self._has_loaded = True
        if self._resume_flags is None:
            # a resume says so once it has restored everything (resume), never before a
            # refusal of a later state
            self.logger.info(f'Load checkpoint from {filename}')
        return checkpoint

    def test(self) -> dict:
        """MMEngine's test. The test loop never runs the discriminator, so a published
        generator-only checkpoint (``tools/model_converters/publish_model.py``) tests like a
        full one; every module the loop runs must still be in the checkpoint."""
        self._load_exempt = TRAINING_ONLY_MODULES + INFERENCE_UNUSED_MODULES
        try:
            return super().test()
        finally:
            self._load_exempt = TRAINING_ONLY_MODULES

    def resume(self, filename: str, resume_optimizer: bool = True,
               resume_param_scheduler: bool = True, map_location='default') -> None:
        """MMEngine's resume, refusing checkpoints that lack a state it restores.

        Every check runs before any state is restored, and the success line
        (``Resumed from ...``) comes after the last state is restored, so a refused resume
        logs no success.
        """
        self._resume_flags = (resume_optimizer, resume_param_scheduler)
        try:
            super().resume(filename, resume_optimizer, resume_param_scheduler, map_location)
            self._resumed_here = True
        finally:
            self._resume_flags = None
        self.logger.info(f'Resumed from {filename}')

    def _replay_validation_after_resume(self) -> None:
        """Run the validation that followed the resumed checkpoint in the interrupted run,
        when a scheduler steps on its result.

        MMEngine writes a resumable checkpoint in ``after_train_epoch`` / ``after_train_iter``,
        before that point's validation; ``ReduceOnPlateau*`` schedulers step after validation.
        The resumed loop starts with the next epoch (iteration), so without this the plateau
        step of the checkpoint's epoch would be lost and the learning rate would differ from
        the uninterrupted run's.
        """
        groups = self.param_schedulers.values() if isinstance(self.param_schedulers, dict) \
            else [self.param_schedulers or []]
        if self._val_loop is None or not any(getattr(s, 'need_val_args', False)
                                             for group in groups for s in group):
            return
        loop = self.train_loop
        if isinstance(loop, EpochBasedTrainLoop):
            point, last = loop.epoch, loop.max_epochs
            at_boundary = loop.iter == loop.epoch * len(loop.dataloader)
        else:
            point, last, at_boundary = loop.iter, loop.max_iters, True
        if at_boundary and 0 < point and point >= loop.val_begin and (
                point % loop.val_interval == 0 or point == last):
            self.logger.info('Running the validation that followed the resumed checkpoint '
                             '(a ReduceOnPlateau scheduler steps on its result)')
            self.val_loop.run()

    def _check_resumable(self, checkpoint: Dict[str, Any], filename: str,
                         resume_optimizer: bool, resume_param_scheduler: bool) -> None:
        lacking = self._lacking_states(checkpoint, resume_optimizer, resume_param_scheduler)
        if lacking:
            raise IncompleteCheckpointError(
                f'cannot resume from {filename}: it holds no {"; no ".join(lacking)} (a best '
                'or published checkpoint keeps the weights only). Resuming would restart them '
                'from scratch at a late iteration. To start a new run from its weights, use '
                f'--cfg-options load_from={filename} without --resume')
        self._check_same_computation(checkpoint, filename, resume_param_scheduler)

    def _check_same_computation(self, checkpoint: Dict[str, Any], filename: str,
                                resume_param_scheduler: bool) -> None:
        """Refuse a changed model or data config, or a scheduler that would keep the old
        run's length; log a changed global batch."""
        allow_changes = bool(self.cfg.get('resume_changed_config', False))
        old = check_resume_config(checkpoint, self.cfg.pretty_text, filename, allow_changes,
                                  self.logger)
        if resume_param_scheduler and self.param_schedulers:
            check_resume_schedule(self.param_schedulers, checkpoint.get('param_schedulers'), old,
                                  self.cfg.get('train_cfg'), filename, allow_changes,
                                  self.logger)
        meta = checkpoint.get('meta') or {}
        loader = self.cfg.get('train_dataloader')
        batch_size = loader.get('batch_size') if isinstance(loader, dict) else None
        if isinstance(batch_size, int):
            note = global_batch_note(old, meta.get('world_size'), batch_size, self.world_size,
                                     meta.get('iter', 0),
                                     isinstance(self._train_loop, EpochBasedTrainLoop),
                                     meta.get('epoch', 0))
            if note:
                self.logger.warning(note)

    def _lacking_states(self, checkpoint: Dict[str, Any], resume_optimizer: bool,
                        resume_param_scheduler: bool) -> List[str]:
        """Names of the training states ``resume`` restores that ``checkpoint`` lacks."""
        lacking = []
        meta = checkpoint.get('meta')
        if not isinstance(meta, dict) or 'iter' not in meta or 'epoch' not in meta:
            lacking.append('iteration and epoch counters (meta)')
        if not isinstance(checkpoint.get('message_hub'), dict):
            lacking.append('message hub (log history, best scores)')
        if resume_optimizer and self.optim_wrapper is not None:
            self.optim_wrapper = self.build_optim_wrapper(self.optim_wrapper)
            saved = checkpoint.get('optimizer')
            if isinstance(self.optim_wrapper, OptimWrapperDict):
                names = list(self.optim_wrapper.keys())
                absent = names if not isinstance(saved, dict) else [
                    name for name in names if not isinstance(saved.get(name), dict)]
                lacking += [f'optimiser state of {name!r}' for name in absent]
            elif not isinstance(saved, dict):
                lacking.append('optimiser state')
        schedulers = self.param_schedulers
        if resume_param_scheduler and schedulers:
            saved = checkpoint.get('param_schedulers')
            if isinstance(schedulers, dict):
                for name, group in schedulers.items():
                    if not isinstance(saved, dict) or len(saved.get(name) or []) != len(group):
                        lacking.append(f'param scheduler state of {name!r}')
            elif not isinstance(saved, list) or len(saved) != len(schedulers):
                lacking.append('param scheduler state')
        return lacking

    # Auto-resume --------------------------------------------------------------------------

    def checkpoint_directory(self) -> CheckpointDirectory:
        """The work dir's checkpoints (in the checkpoint hook's ``out_dir`` if it has one)."""
        folder = self.work_dir
        for hook in self._hooks:
            if isinstance(hook, _MMCheckpointHook) and hook.out_dir not in (None, folder):
                folder = osp.join(hook.out_dir, osp.basename(self.work_dir.rstrip(osp.sep)))
        return CheckpointDirectory(self.work_dir, folder)

    def train(self) -> nn.Module:
        if is_main_process():
            # No write of this run has started yet; temporaries are from killed runs.
            self.checkpoint_directory().remove_leftovers(self.logger)
        return super().train()

    def load_or_resume(self) -> None:
        if self._has_loaded:
            return None
        if self._resume and self._load_from is None:
            resume_from: Optional[str] = self.checkpoint_directory().resume_source(self.logger)
            if resume_from is not None:
                # after resume(): a refused resume must not have said it resumed
                self.resume(resume_from)
                self._has_loaded = True
                self.logger.info(f'Auto resumed from the latest checkpoint {resume_from}.')
            return None
        return super().load_or_resume()


__all__ = ['ColorizerRunner']
