"""Keep checkpoints loadable with ``weights_only=True`` (see ``engine/checkpoint_safety.py``)
and free of NaN / Inf."""
from mmengine.hooks import Hook

from colorizer.engine.checkpoint_safety import (check_finite, pack_history_buffers,
                                                pack_scheduler_functions,
                                                unpack_history_buffers,
                                                unpack_scheduler_functions)
from colorizer.registry import HOOKS


@HOOKS.register_module()
class SafeCheckpointHook(Hook):
    """Make every checkpoint safe to load: no code objects in the pickle, no NaN or Inf.

    MMEngine pickles ``HistoryBuffer`` objects, and their pickle calls ``getattr``, which a
    ``weights_only`` load must refuse. This hook converts them to tensors before a checkpoint is
    written and back after one is read, so resuming restores the smoothed logs exactly; the
    same for the annealing function ``OneCycleParamScheduler`` keeps (saved by name).

    A checkpoint whose weights, buffers or optimiser states hold NaN or Inf is not written:
    training stops with :class:`~colorizer.engine.checkpoint_safety.NonFiniteCheckpointError`
    naming the entries, and the checkpoints already on disk stay the last good ones
    (``model.nan_policy`` keeps bad steps out of the model; this is the last line of defence).

    Optional with colorizer's tools: :class:`~colorizer.engine.runner.ColorizerRunner` does the
    same on every save whatever hooks a config lists, and
    :func:`~colorizer.engine.checkpoint_safety.safe_load` unpacks on every load. The hook
    remains for plain MMEngine ``Runner`` users and for existing configs; packing, unpacking and
    the finite check are idempotent, so both together are harmless.
    """

    priority = 'VERY_LOW'

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        check_finite(checkpoint, runner.iter + 1)
        pack_history_buffers(checkpoint.get('message_hub', {}))
        pack_scheduler_functions(checkpoint.get('param_schedulers'))

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        unpack_history_buffers(checkpoint.get('message_hub', {}))
        unpack_scheduler_functions(checkpoint.get('param_schedulers'))
