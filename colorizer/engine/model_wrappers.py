"""Distributed wrappers for the GAN that also run on CPU processes, and save unwrapped state."""
import re
from typing import Dict, Iterable, Mapping

import torch
from mmengine.model import MMSeparateDistributedDataParallel as _MMSeparateDDP
from torch import nn

from colorizer.registry import MODEL_WRAPPERS

#: ``module.`` segments that DDP wrappers add: a leading one (the whole model wrapped) and one
#: right after a top-level child's name (each child wrapped, as MMSeparateDDP does).
_WRAPPER_SEGMENT = re.compile(r'^(?:module\.)?([^.]+)\.module\.')


def unwrapped_key(key: str, children: Iterable[str] = None) -> str:
    """The name ``key`` has in the unwrapped model.

    ``generator.module.encoder.w`` -> ``generator.encoder.w`` and ``module.generator.w`` ->
    ``generator.w``. With ``children`` given, only those top-level children lose a
    ``.module.`` segment (a sub-network that really has a child called ``module`` keeps it).
    """
    match = _WRAPPER_SEGMENT.match(key)
    if match and (children is None or match.group(1) in children):
        return f'{match.group(1)}.{key[match.end():]}'
    return key[len('module.'):] if key.startswith('module.') else key


def unwrap_state_dict(state: Mapping[str, torch.Tensor],
                      model: nn.Module = None) -> Dict[str, torch.Tensor]:
    """Rename the keys of a state dict saved from a DDP-wrapped model to the unwrapped names.

    Checkpoints written by colorizer before this fix (or by MMEngine's own
    ``MMSeparateDistributedDataParallel``) hold ``generator.module.*`` keys.

    Args:
        state: The state dict (not modified).
        model: The unwrapped model it will be loaded into: keys the model itself has are kept
            as they are.

    Returns:
        dict: The renamed state dict, in the same order.
    """
    own = set(model.state_dict()) if model is not None else set()
    return {key if key in own else unwrapped_key(key): value for key, value in state.items()}


@MODEL_WRAPPERS.register_module()
class SeparateDistributedDataParallel(_MMSeparateDDP):
    """MMEngine's ``MMSeparateDistributedDataParallel``, usable with gloo on CPU.

    Each trainable child (generator, discriminator) gets its own DDP wrapper, so the two
    optimisers of a GAN step independently. MMEngine's Runner always passes
    ``device_ids=[LOCAL_RANK]``, which DDP rejects for CPU modules; without CUDA this wrapper
    drops it (``device_ids=None`` is what DDP expects for CPU modules).

    The wrapped model's state dict keeps the names of the unwrapped model: wrapping replaces
    ``model.generator`` by a DDP module whose parameters are named ``generator.module.*``,
    and MMEngine's Runner saves ``model.state_dict()`` of that model, so checkpoints of a
    multi-process run could not be loaded by one process. A state-dict hook renames them back
    to ``generator.*`` on save, and a load pre-hook accepts both forms on load.

    Args:
        module (nn.Module): The model to wrap.
        broadcast_buffers (bool): Broadcast BatchNorm buffers from rank 0 every forward.
        find_unused_parameters (bool): See ``torch.nn.parallel.DistributedDataParallel``.
        **kwargs: Passed to each child's ``MMDistributedDataParallel``.
    """

    def __init__(self, module, broadcast_buffers=False, find_unused_parameters=False, **kwargs):
        if not torch.cuda.is_available():
            kwargs.pop('device_ids', None)
            kwargs.pop('output_device', None)
        super().__init__(module, broadcast_buffers=broadcast_buffers,
                         find_unused_parameters=find_unused_parameters, **kwargs)
        wrapped = tuple(name for name, child in module.named_children()
                        if isinstance(child, nn.parallel.DistributedDataParallel))
        self._wrapped_children = wrapped
        module.register_state_dict_post_hook(_UnwrapOnSave(wrapped))
        module.register_load_state_dict_pre_hook(_WrapOnLoad(wrapped))


class _UnwrapOnSave:
    """State-dict post-hook: ``<prefix>generator.module.x`` -> ``<prefix>generator.x``."""

    def __init__(self, children):
        self.children = children

    def __call__(self, module, state_dict, prefix, local_metadata) -> None:
        items = list(state_dict.items())
        state_dict.clear()
        for key, value in items:
            if key.startswith(prefix):
                key = prefix + unwrapped_key(key[len(prefix):], self.children)
            state_dict[key] = value


class _WrapOnLoad:
    """Load pre-hook: ``<prefix>generator.x`` (or the old ``generator.module.x``) ->
    ``<prefix>generator.module.x``, the names the wrapped model's parameters have."""

    def __init__(self, children):
        self.children = children

    def __call__(self, module, state_dict, prefix, local_metadata, strict, missing_keys,
                 unexpected_keys, error_msgs) -> None:
        items = list(state_dict.items())
        state_dict.clear()
        for key, value in items:
            if key.startswith(prefix):
                rest = unwrapped_key(key[len(prefix):], self.children)
                child = rest.split('.', 1)[0]
                if child in self.children:
                    rest = f'{child}.module.{rest[len(child) + 1:]}'
                key = prefix + rest
            state_dict[key] = value
