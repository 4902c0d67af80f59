"""Load a checkpoint's weights into a model completely, or stop naming what does not fit.

MMEngine's ``load_from`` and ``--resume`` load with ``strict=False`` and only log the keys
that do not match: a checkpoint of another architecture, or one saved under other names, leaves
those parameters at their random initialisation and training carries on. Every colorizer path
that puts checkpoint weights into a model (the runner's ``load_from`` / ``--resume``,
``tools/test.py``, :func:`colorizer.apis.init_model`, the analysis tools) uses
:func:`load_model_state` instead, which:

- accepts the names of any DDP wrapping (``generator.module.*`` from multi-process checkpoints
  of earlier versions, ``module.*`` from a wholly wrapped model) for the unwrapped model, and
  the unwrapped names for a wrapped model;
- raises :class:`~colorizer.engine.checkpoint_errors.CheckpointMismatchError` naming the
  missing and unexpected keys (or the shape mismatch) if any parameter or buffer would keep
  its initial value.
"""
import re
from typing import Any, Dict, Iterable, List, Mapping, Sequence, Tuple

import torch
from torch import nn

from .checkpoint_errors import CheckpointMismatchError
from .model_wrappers import unwrapped_key

#: Model arguments (and their checkpoint keys) that only training needs and that come with
#: their own weights file (the frozen VGG19 of the perceptual loss): a checkpoint need not
#: hold them, and inference builds the model without them.
TRAINING_ONLY_MODULES = ('perceptual_loss', )
#: Modules built with the model that inference and testing never run: a published
#: generator-only checkpoint need not hold them (they keep their initial weights).
INFERENCE_UNUSED_MODULES = ('discriminator', )


def model_state_of(checkpoint: Mapping[str, Any]) -> Dict[str, torch.Tensor]:
    """The weights of a checkpoint: its ``state_dict`` entry, or the checkpoint itself."""
    state = checkpoint.get('state_dict', checkpoint)
    if not isinstance(state, Mapping):
        raise CheckpointMismatchError('the checkpoint holds no state dict of weights')
    return dict(state)


def _some(keys: Sequence[str], limit: int = 8) -> str:
    keys = list(keys)
    shown = ', '.join(keys[:limit]) or 'none'
    return shown + (f' and {len(keys) - limit} more' if len(keys) > limit else '')


def match_keys(model: nn.Module, state: Mapping[str, torch.Tensor],
               exempt: Iterable[str] = TRAINING_ONLY_MODULES
               ) -> Tuple[Dict[str, torch.Tensor], List[str], List[str]]:
    """Rename the checkpoint's keys to the model's, whatever wrappers either was used with.

    Args:
        model: The model to load into (possibly with DDP-wrapped children).
        state: The checkpoint's state dict.
        exempt: Top-level module names whose keys may be absent on either side.

    Returns:
        tuple: ``(renamed state, missing keys, unexpected keys)``; key names in the messages
        are the unwrapped ones.
    """
    exempt = tuple(exempt)
    own = {unwrapped_key(key): key for key in model.state_dict()}
    renamed, unexpected = {}, []
    for key, value in state.items():
        name = unwrapped_key(key)
        if name in own:
            renamed[own[name]] = value
        elif name.split('.', 1)[0] not in exempt:
            unexpected.append(name)
    targets = set(renamed)
    missing = [name for name, key in own.items()
               if key not in targets and name.split('.', 1)[0] not in exempt]
    return renamed, missing, unexpected


def load_model_state(model: nn.Module, checkpoint: Mapping[str, Any], name: str,
                     exempt: Iterable[str] = TRAINING_ONLY_MODULES,
                     revise_keys: Sequence[Tuple[str, str]] = ()) -> None:
    """Load every parameter and buffer of ``model`` from ``checkpoint``.

    Args:
        model: The (unwrapped or DDP-child-wrapped) model.
        checkpoint: A loaded checkpoint (with ``state_dict``) or a bare state dict.
        name: How messages call the checkpoint (its path or URL).
        exempt: See :func:`match_keys`.
        revise_keys: MMEngine's ``(pattern, replacement)`` key renames, applied first.

    Raises:
        CheckpointMismatchError: A model key has no value in the checkpoint, the checkpoint
            has keys the model lacks, or shapes differ. The message names them.
    """
    state = model_state_of(checkpoint)
    for pattern, replacement in revise_keys:
        state = {re.sub(pattern, replacement, k): v for k, v in state.items()}
    renamed, missing, unexpected = match_keys(model, state, exempt)
    if missing or unexpected:
        raise CheckpointMismatchError(
            f'checkpoint {name} does not fit the model of the config (another architecture '
            f'or config?): missing keys {_some(missing)}, unexpected keys {_some(unexpected)}')
    try:
        # Missing and unexpected keys are checked above (exempt ones allowed); torch raises
        # on shape mismatches whatever `strict` says.
        model.load_state_dict(renamed, strict=False)
    except RuntimeError as error:  # shape mismatches
        detail = ' '.join(str(error).split())
        raise CheckpointMismatchError(
            f'checkpoint {name} does not fit the model of the config: {detail}') from error
