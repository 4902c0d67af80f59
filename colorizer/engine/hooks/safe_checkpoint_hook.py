"""Keep checkpoints loadable with ``weights_only=True`` (see ``engine/checkpoint_safety.py``)."""
from mmengine.hooks import Hook

from colorizer.engine.checkpoint_safety import pack_history_buffers, unpack_history_buffers
from colorizer.registry import HOOKS


@HOOKS.register_module()
class SafeCheckpointHook(Hook):
    """Store MMEngine's log history as plain arrays, so no code object enters the pickle.

    MMEngine pickles ``HistoryBuffer`` objects, and their pickle calls ``getattr``, which a
    ``weights_only`` load must refuse. This hook converts them to tensors before a checkpoint is
    written and back after one is read, so resuming restores the smoothed logs exactly.

    Optional with colorizer's tools: :class:`~colorizer.engine.runner.ColorizerRunner` does the
    same on every save whatever hooks a config lists, and
    :func:`~colorizer.engine.checkpoint_safety.safe_load` unpacks on every load. The hook
    remains for plain MMEngine ``Runner`` users and for existing configs; packing and unpacking
    are idempotent, so both together are harmless.
    """

    priority = 'VERY_LOW'

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        pack_history_buffers(checkpoint.get('message_hub', {}))

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        unpack_history_buffers(checkpoint.get('message_hub', {}))
