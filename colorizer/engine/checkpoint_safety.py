"""Load checkpoints with ``weights_only=True`` semantics on torch >= 2.6.

MMEngine 0.10.7 calls ``torch.load(path)``, which torch >= 2.6 runs with ``weights_only=True``.
MMEngine's checkpoints then fail to load (upstream issue #1655): they carry numpy arrays and
``HistoryBuffer`` objects, whose pickled form even calls ``getattr`` to rebuild bound statistics
methods. Turning ``weights_only`` off would unpickle (execute) anything a file says.

Instead:

- :func:`safe_load` allows exactly the numpy globals that rebuild plain arrays, dtypes and
  scalars (:data:`SAFE_GLOBALS`) and refuses everything else with :class:`UnsafeCheckpointError`;
- ``HistoryBuffer`` objects never reach the pickle:
  :class:`~colorizer.engine.hooks.SafeCheckpointHook` turns them into plain arrays before
  saving and back after loading;
- :func:`register_safe_local_loader` makes MMEngine's loader for local paths use
  :func:`safe_load`, so ``--resume``, ``load_from`` and ``tools/test.py`` all go through it.
"""
import os.path as osp
import pickle
from typing import Any, Dict

import numpy as np
import torch
from mmengine.logging import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader

_NUMPY_DTYPE_CLASSES = [type(np.dtype(name)) for name in (
    'bool', 'int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32', 'uint64',
    'float16', 'float32', 'float64')]

#: The only non-torch globals a colorizer checkpoint may reference.
SAFE_GLOBALS = [np.ndarray, np.dtype, np._core.multiarray._reconstruct,
                np._core.multiarray.scalar, *_NUMPY_DTYPE_CLASSES]

_BUFFER_TAG = '__history_buffer__'


class UnsafeCheckpointError(pickle.UnpicklingError):
    """The checkpoint references Python objects outside the allow-list; it was not executed."""


def safe_load(filename: str, map_location: Any = None) -> Dict[str, Any]:
    """``torch.load`` with ``weights_only=True`` and colorizer's allow-list.

    Args:
        filename (str): Local checkpoint path.
        map_location: Same as :func:`torch.load`.

    Returns:
        dict: The checkpoint.

    Raises:
        FileNotFoundError: The file does not exist.
        UnsafeCheckpointError: The file references a global outside :data:`SAFE_GLOBALS`
            (a crafted or foreign pickle); nothing in it was executed.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint {filename} does not exist')
    try:
        with torch.serialization.safe_globals(SAFE_GLOBALS):
            return torch.load(filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        raise UnsafeCheckpointError(
            f'refused to load checkpoint {filename}: it references Python objects that are not '
            f'on the allow-list ({_unsafe_globals(filename)}). Loading it could execute code, '
            'so it was not unpickled. If you made this file yourself with another tool, '
            'load it in a trusted session and re-save only its tensors.') from error
    except RuntimeError as error:
        raise RuntimeError(f'checkpoint {filename} is not a readable torch file '
                           f'(truncated or corrupt?): {error}') from error


def _unsafe_globals(filename: str) -> str:
    try:
        names = torch.serialization.get_unsafe_globals_in_checkpoint(filename)
    except Exception:  # the file is not even a zip archive: report the pickle error only
        return 'unknown'
    allowed = {f'{g.__module__}.{g.__qualname__}' for g in SAFE_GLOBALS}
    return ', '.join(n for n in names if n not in allowed) or 'unknown'


def register_safe_local_loader() -> None:
    """Route MMEngine's local-file checkpoint loading through :func:`safe_load`."""
    CheckpointLoader.register_scheme(prefixes='', loader=safe_load, force=True)


def pack_history_buffers(message_hub_state: Dict[str, Any]) -> None:
    """Replace ``HistoryBuffer`` values (in place) by plain dicts of arrays, for saving."""
    scalars = message_hub_state.get('log_scalars', {})
    for key, buffer in scalars.items():
        if isinstance(buffer, HistoryBuffer):
            log, count = buffer.data
            scalars[key] = {_BUFFER_TAG: True, 'log': torch.from_numpy(np.asarray(log).copy()),
                            'count': torch.from_numpy(np.asarray(count).copy()),
                            'max_length': buffer.max_length}


def unpack_history_buffers(message_hub_state: Dict[str, Any]) -> None:
    """Inverse of :func:`pack_history_buffers` (in place), after loading."""
    scalars = message_hub_state.get('log_scalars', {})
    for key, value in scalars.items():
        if isinstance(value, dict) and value.get(_BUFFER_TAG):
            scalars[key] = HistoryBuffer(value['log'].numpy().tolist(),
                                         value['count'].numpy().tolist(), value['max_length'])
