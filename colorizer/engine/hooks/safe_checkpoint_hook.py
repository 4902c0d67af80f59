"""Keep checkpoints loadable with ``weights_only=True`` (see ``engine/checkpoint_safety.py``)
and free of NaN / Inf."""
from typing import Iterator

import torch
from mmengine.hooks import Hook

from colorizer.engine.checkpoint_safety import pack_history_buffers, unpack_history_buffers
from colorizer.registry import HOOKS


class NonFiniteCheckpointError(FloatingPointError):
    """A checkpoint about to be written holds NaN or Inf; it is not written."""


def non_finite_entries(node, path: str = '') -> Iterator[str]:
    """Dotted paths of the floating-point tensors holding NaN or Inf in a nested checkpoint."""
    if isinstance(node, torch.Tensor):
        if node.is_floating_point() and not torch.isfinite(node).all():
            yield path
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from non_finite_entries(value, f'{path}.{key}' if path else str(key))
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            yield from non_finite_entries(value, f'{path}[{i}]')


@HOOKS.register_module()
class SafeCheckpointHook(Hook):
    """Make every checkpoint safe to load: no code objects in the pickle, no NaN or Inf.

    MMEngine pickles ``HistoryBuffer`` objects, and their pickle calls ``getattr``, which a
    ``weights_only`` load must refuse. This hook converts them to tensors before a checkpoint is
    written and back after one is read, so resuming restores the smoothed logs exactly.

    A checkpoint whose weights, buffers or optimiser states hold NaN or Inf is not written:
    training stops with :class:`NonFiniteCheckpointError` naming the entries, and the
    checkpoints already on disk stay the last good ones (``model.nan_policy`` keeps bad steps
    out of the model; this is the last line of defence).
    """

    priority = 'VERY_LOW'

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        bad = [path for key in ('state_dict', 'optimizer')
               for path in non_finite_entries(checkpoint.get(key, {}), key)]
        if bad:
            shown = ', '.join(bad[:5]) + (f' and {len(bad) - 5} more' if len(bad) > 5 else '')
            raise NonFiniteCheckpointError(
                f'refusing to save a checkpoint at iteration {runner.iter + 1} with NaN or Inf '
                f'in {shown}; the checkpoints already saved are intact')
        pack_history_buffers(checkpoint.get('message_hub', {}))

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        unpack_history_buffers(checkpoint.get('message_hub', {}))
