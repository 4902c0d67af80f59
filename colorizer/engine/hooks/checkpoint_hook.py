"""MMEngine's CheckpointHook with an atomic pointer and a kill-safe order of deletions.

Registered in colorizer's hook registry under MMEngine's name, so every config with
``default_scope = 'colorizer'`` (all of colorizer's) gets it from
``default_hooks.checkpoint = dict(type='CheckpointHook', ...)`` without change.
"""
import logging
import os.path as osp
from typing import Optional

from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook as _MMCheckpointHook
from mmengine.logging import MMLogger

from colorizer.engine.checkpoint_directory import CheckpointDirectory
from colorizer.registry import HOOKS


#: MMEngine's messages when the unused FileClient is built.
_UNUSED_FILE_CLIENT_WARNINGS = ('"FileClient" will be deprecated in future',
                                '"HardDiskBackend" is the alias of "LocalBackend"')


class _DroppedMessages(logging.Filter):
    """Context manager: ``logger`` drops records whose message contains one of ``fragments``."""

    def __init__(self, logger: logging.Logger, fragments):
        super().__init__()
        self.logger, self.fragments = logger, fragments

    def filter(self, record: logging.LogRecord) -> bool:
        return not any(f in record.getMessage() for f in self.fragments)

    def __enter__(self):
        self.logger.addFilter(self)
        return self

    def __exit__(self, *exc):
        self.logger.removeFilter(self)


@HOOKS.register_module(name='CheckpointHook')
class CheckpointHook(_MMCheckpointHook):
    """Save checkpoints so that a kill at any instant leaves one that ``--resume`` finds.

    Differences from MMEngine 0.10.7's hook (arguments are the same):

    - ``last_checkpoint`` is written atomically (MMEngine truncates it with ``open(..., 'w')``
      first, so a kill at that moment leaves it empty);
    - with ``max_keep_ckpts``, the oldest checkpoint is deleted *after* the new checkpoint and
      the pointer to it are written (MMEngine deletes first, so with ``max_keep_ckpts=1`` a kill
      during the next write leaves no checkpoint at all, and the pointer dangling). A kill
      between the two leaves the old checkpoint in place (no longer counted by
      ``max_keep_ckpts``): one file too many, never one too few.

    - a resumed run deletes only files of its own work dir: the message hub of a checkpoint
      names the best checkpoint by the path the writing run used, which, in a copied work dir
      or with ``--work-dir OTHER --resume``, is another folder's file (MMEngine deleted it
      when a new best was saved).

    Best checkpoints (``save_best``) keep MMEngine's content: weights, message hub and meta,
    without optimiser or scheduler state, so ``--resume`` refuses them and says to use
    ``load_from``.
    """

    def before_train(self, runner) -> None:
        if self.file_client_args is None:
            # MMEngine builds a FileClient it never uses when file_client_args is None (kept
            # "for backward compatibility"), which logs two deprecation warnings on every run
            # that nobody can act on.
            with _DroppedMessages(MMLogger.get_current_instance(), _UNUSED_FILE_CLIENT_WARNINGS):
                super().before_train(runner)
        else:
            super().before_train(runner)
        if getattr(self, 'best_ckpt_path', None):
            self.best_ckpt_path = self._own_file(self.best_ckpt_path)
        for key, path in getattr(self, 'best_ckpt_path_dict', {}).items():
            if path:
                self.best_ckpt_path_dict[key] = self._own_file(path)

    def _save_best_checkpoint(self, runner, metrics) -> None:
        # Saves through mmengine.runner.checkpoint.save_checkpoint: the same unused FileClient.
        with _DroppedMessages(MMLogger.get_current_instance(), _UNUSED_FILE_CLIENT_WARNINGS):
            super()._save_best_checkpoint(runner, metrics)

    def _own_file(self, path: str) -> Optional[str]:
        """``path``'s file name in this run's checkpoint folder if it is there, else ``None``
        (so MMEngine's save-best logic never deletes a file of another folder)."""
        local = self.file_backend.join_path(self.out_dir, osp.basename(path))
        return local if self.file_backend.isfile(local) else None

    def _save_checkpoint_with_step(self, runner, step, meta):
        outdated = []
        if self.max_keep_ckpts > 0 and not (self.keep_ckpt_ids
                                            and self.keep_ckpt_ids[-1] == step):
            # _save_checkpoint and _save_best_checkpoint may both save this step.
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                outdated.append(self.keep_ckpt_ids.popleft())
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info('keep_ckpt_ids', list(self.keep_ckpt_ids))

        ckpt_filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir, ckpt_filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        # mmengine.runner.checkpoint.save_checkpoint builds the same unused FileClient.
        with _DroppedMessages(MMLogger.get_current_instance(), _UNUSED_FILE_CLIENT_WARNINGS):
            runner.save_checkpoint(
                self.out_dir, ckpt_filename, self.file_client_args,
                save_optimizer=self.save_optimizer,
                # Without schedulers there is nothing to save (MMEngine warns at every save then).
                save_param_scheduler=(self.save_param_scheduler
                                      and runner.param_schedulers is not None),
                meta=meta, by_epoch=self.by_epoch, backend_args=self.backend_args, **self.args)

        # Model-parallel training pulls sharded states from all ranks; the rest is rank 0's.
        if not is_main_process():
            return
        CheckpointDirectory(runner.work_dir, self.out_dir).write_pointer(self.last_ckpt)
        for old_step in outdated:
            path = self.file_backend.join_path(self.out_dir, self.filename_tmpl.format(old_step))
            if self.file_backend.isfile(path):
                self.file_backend.remove(path)
            elif self.file_backend.isdir(path):  # DeepSpeed checkpoints are folders
                self.file_backend.rmtree(path)
