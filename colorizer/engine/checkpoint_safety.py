"""Load checkpoints with ``weights_only=True`` semantics on torch >= 2.6.

MMEngine 0.10.7 calls ``torch.load(path)``, which torch >= 2.6 runs with ``weights_only=True``.
MMEngine's checkpoints then fail to load (fixed upstream only on an unreleased branch): they
carry numpy arrays and ``HistoryBuffer`` objects, whose pickled form even calls ``getattr`` to
rebuild bound statistics methods. Turning ``weights_only`` off would unpickle (execute) anything
a file says.

Instead:

- :func:`safe_load` allows exactly the numpy globals that rebuild plain arrays, dtypes and
  scalars (:data:`SAFE_GLOBALS`) and refuses everything else with :class:`UnsafeCheckpointError`;
- ``HistoryBuffer`` objects never reach the pickle: every save through
  :class:`~colorizer.engine.runner.ColorizerRunner` turns them into plain tensors
  (:func:`pack_history_buffers`) and then checks that nothing outside the allow-list is left
  (:func:`find_unloadable`), so a checkpoint colorizer writes is one colorizer can load, with or
  without :class:`~colorizer.engine.hooks.SafeCheckpointHook` in the config; :func:`safe_load`
  turns them back, so every reader gets MMEngine's usual objects;
- parameter schedulers: MMEngine's ``MultiStepParamScheduler`` keeps its milestones in a
  ``collections.Counter`` (a dict that torch's ``weights_only`` loader rebuilds by itself,
  accepted as a plain container); ``OneCycleParamScheduler`` keeps its annealing function,
  which pickle would store as a call of ``getattr`` on the class. Such functions are saved as
  their exact qualified name (:func:`pack_scheduler_functions`) and looked up again on load in
  :data:`SAFE_FUNCTIONS`, a fixed table; a name outside it is refused;
- :mod:`colorizer.engine.checkpoint_sources` routes every scheme of MMEngine's
  ``CheckpointLoader`` (local paths, URLs, ``open-mmlab://``, ...) through :func:`safe_load`.
"""
import collections
import os.path as osp
import pickle
from typing import Any, BinaryIO, Dict, Iterator, List, Tuple, Union

import numpy as np
import torch
from mmengine.logging import HistoryBuffer
from mmengine.optim.scheduler.param_scheduler import OneCycleParamScheduler

from .checkpoint_errors import CheckpointError

_NUMPY_DTYPE_CLASSES = [type(np.dtype(name)) for name in (
    'bool', 'int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32', 'uint64',
    'float16', 'float32', 'float64')]

#: The only non-torch globals a colorizer checkpoint may reference.
SAFE_GLOBALS = [np.ndarray, np.dtype, np._core.multiarray._reconstruct,
                np._core.multiarray.scalar, *_NUMPY_DTYPE_CLASSES]

_BUFFER_TAG = '__history_buffer__'

#: Functions a parameter scheduler of MMEngine 0.10.7 keeps in its state, by exact qualified
#: name: ``OneCycleParamScheduler.anneal_func`` (``anneal_strategy='cos'`` or ``'linear'``).
#: Checkpoints store the name; :func:`unpack_scheduler_functions` maps it back through this
#: table only, so loading never imports or calls anything a file names.
SAFE_FUNCTIONS = {f'{f.__module__}.{f.__qualname__}': f for f in (
    OneCycleParamScheduler._annealing_cos, OneCycleParamScheduler._annealing_linear)}

_FUNCTION_TAG = '__scheduler_function__'


class UnsafeCheckpointError(pickle.UnpicklingError, CheckpointError):
    """The checkpoint references Python objects outside the allow-list; it was not executed.

    Also raised at save time when a checkpoint about to be written holds such an object, so
    that no run writes a checkpoint that colorizer would then refuse to load.
    """


class CorruptCheckpointError(CheckpointError):
    """The file is not a readable torch checkpoint (truncated, or not a checkpoint at all)."""


def safe_load(filename: Union[str, BinaryIO], map_location: Any = None,
              name: str = None) -> Dict[str, Any]:
    """``torch.load`` with ``weights_only=True`` and colorizer's allow-list.

    ``HistoryBuffer`` entries packed by :func:`pack_history_buffers` are turned back into
    ``HistoryBuffer`` objects (after unpickling, from plain tensors: nothing is executed).

    Args:
        filename (str | file): Local checkpoint path, or a binary file object.
        map_location: Same as :func:`torch.load`.
        name (str, optional): What error messages call the checkpoint (a URL, say);
            default: ``filename``.

    Returns:
        dict: The checkpoint.

    Raises:
        FileNotFoundError: The file does not exist.
        UnsafeCheckpointError: The file references a global outside :data:`SAFE_GLOBALS`
            (a crafted or foreign pickle); nothing in it was executed.
        CorruptCheckpointError: The file is truncated or not a torch file.
    """
    if isinstance(filename, str):
        filename = osp.expanduser(filename)
        if not osp.isfile(filename):
            raise FileNotFoundError(f'checkpoint {filename} does not exist')
    name = name or str(filename)
    try:
        with torch.serialization.safe_globals(SAFE_GLOBALS):
            checkpoint = torch.load(filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        raise UnsafeCheckpointError(
            f'refused to load checkpoint {name}: it references Python objects that are not '
            f'on the allow-list ({_unsafe_globals(filename)}). Loading it could execute code, '
            'so it was not unpickled. If you made this file yourself with another tool, '
            'load it in a trusted session and re-save only its tensors.') from error
    except (RuntimeError, EOFError, ValueError) as error:
        detail = ' '.join(str(error).split())
        raise CorruptCheckpointError(f'checkpoint {name} is not a readable torch file '
                                     f'(truncated or corrupt?): {detail}') from error
    if isinstance(checkpoint, dict) and isinstance(checkpoint.get('message_hub'), dict):
        unpack_history_buffers(checkpoint['message_hub'])
    if isinstance(checkpoint, dict) and 'param_schedulers' in checkpoint:
        unpack_scheduler_functions(checkpoint['param_schedulers'], name)
    return checkpoint


def _unsafe_globals(filename: Union[str, BinaryIO]) -> str:
    try:
        if not isinstance(filename, str):
            filename.seek(0)
        names = torch.serialization.get_unsafe_globals_in_checkpoint(filename)
    except Exception:  # the file is not even a zip archive: report the pickle error only
        return 'unknown'
    allowed = {f'{g.__module__}.{g.__qualname__}' for g in SAFE_GLOBALS}
    return ', '.join(n for n in names if n not in allowed) or 'unknown'


#: Container and leaf types that ``torch.load(weights_only=True)`` rebuilds by itself.
_PLAIN_CONTAINERS = (dict, collections.OrderedDict, collections.Counter, list, tuple, set)
_PLAIN_LEAVES = (str, bytes, bool, int, float, complex, type(None), torch.Tensor, torch.dtype,
                 torch.device, torch.Size, np.dtype)


def find_unloadable(obj: Any, path: str = 'checkpoint') -> List[Tuple[str, str]]:
    """Where ``obj`` holds objects that :func:`safe_load` would refuse.

    A check of the structure (not a second serialisation), so it is cheap enough to run on
    every save: containers must be plain dicts, lists, tuples or sets; leaves tensors, numpy
    arrays and scalars of the allow-listed dtypes, or Python literals.

    Args:
        obj: The checkpoint (or any part of it).
        path (str): How to name ``obj`` in the result.

    Returns:
        list[tuple[str, str]]: ``(key path, type name)`` of each refused object, e.g.
        ``("checkpoint['message_hub']['log_scalars']['loss']", 'HistoryBuffer')``.
    """
    found = []
    stack = [(obj, path)]
    allowed_dtypes = {np.dtype(t) for t in (
        'bool', 'int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32', 'uint64',
        'float16', 'float32', 'float64')}
    while stack:
        value, where = stack.pop()
        if isinstance(value, (np.ndarray, np.generic)):
            if value.dtype not in allowed_dtypes:
                found.append((where, f'numpy {value.dtype}'))
        elif type(value) in _PLAIN_CONTAINERS:
            if isinstance(value, dict):
                stack.extend((v, f'{where}[{k!r}]') for k, v in value.items())
                stack.extend((k, f'{where} key {k!r}') for k in value
                             if not isinstance(k, (str, int)))
            else:
                stack.extend((v, f'{where}[{i}]') for i, v in enumerate(value))
        elif not isinstance(value, _PLAIN_LEAVES) or (
                isinstance(value, torch.Tensor) and type(value) not in (
                    torch.Tensor, torch.nn.Parameter)):
            found.append((where, type(value).__qualname__))
    return found


def check_loadable(checkpoint: Dict[str, Any], filename: str = 'the checkpoint') -> None:
    """Raise unless :func:`safe_load` will accept ``checkpoint`` once saved.

    Raises:
        UnsafeCheckpointError: Naming the key path and type of the first refused objects.
    """
    found = find_unloadable(checkpoint)
    if found:
        listed = ', '.join(f'{where} ({kind})' for where, kind in sorted(found)[:5])
        raise UnsafeCheckpointError(
            f'refusing to save {filename}: it would hold objects that colorizer refuses to '
            f'load (not on the allow-list): {listed}'
            + (f' and {len(found) - 5} more' if len(found) > 5 else ''))


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


def check_finite(checkpoint: Dict[str, Any], iteration: int) -> None:
    """Refuse a checkpoint whose weights, buffers or optimiser states hold NaN or Inf.

    Raises:
        NonFiniteCheckpointError: naming the first entries and the iteration.
    """
    bad = [path for key in ('state_dict', 'optimizer')
           for path in non_finite_entries(checkpoint.get(key, {}), key)]
    if bad:
        shown = ', '.join(bad[:5]) + (f' and {len(bad) - 5} more' if len(bad) > 5 else '')
        raise NonFiniteCheckpointError(
            f'refusing to save a checkpoint at iteration {iteration} with NaN or Inf '
            f'in {shown}; the checkpoints already saved are intact')


def pack_history_buffers(message_hub_state: Dict[str, Any]) -> None:
    """Replace ``HistoryBuffer`` values (in place) by plain dicts of arrays, for saving."""
    scalars = message_hub_state.get('log_scalars') or {}
    for key, buffer in scalars.items():
        if isinstance(buffer, HistoryBuffer):
            log, count = buffer.data
            scalars[key] = {_BUFFER_TAG: True, 'log': torch.from_numpy(np.asarray(log).copy()),
                            'count': torch.from_numpy(np.asarray(count).copy()),
                            'max_length': buffer.max_length}


def unpack_history_buffers(message_hub_state: Dict[str, Any]) -> None:
    """Inverse of :func:`pack_history_buffers` (in place), after loading."""
    scalars = message_hub_state.get('log_scalars') or {}
    for key, value in scalars.items():
        if isinstance(value, dict) and value.get(_BUFFER_TAG):
            scalars[key] = HistoryBuffer(value['log'].numpy().tolist(),
                                         value['count'].numpy().tolist(), value['max_length'])


def _scheduler_states(param_schedulers: Any) -> Iterator[Dict[str, Any]]:
    """The state dicts in a checkpoint's ``param_schedulers`` entry: a list of them, or (one
    list per optimiser wrapper) a dict of such lists."""
    groups = param_schedulers.values() if isinstance(param_schedulers, dict) else [
        param_schedulers]
    for group in groups:
        for state in group if isinstance(group, (list, tuple)) else []:
            if isinstance(state, dict):
                yield state


def pack_scheduler_functions(param_schedulers: Any) -> None:
    """Replace (in place) each function of :data:`SAFE_FUNCTIONS` held by a scheduler state by
    its qualified name, for saving. Other functions are left for :func:`find_unloadable` to
    report."""
    for state in _scheduler_states(param_schedulers):
        for key, value in state.items():
            name = next((n for n, f in SAFE_FUNCTIONS.items() if value is f), None)
            if name is not None:
                state[key] = {_FUNCTION_TAG: name}


def unpack_scheduler_functions(param_schedulers: Any, name: str = 'the checkpoint') -> None:
    """Inverse of :func:`pack_scheduler_functions` (in place), after loading.

    Raises:
        UnsafeCheckpointError: A state names a function outside :data:`SAFE_FUNCTIONS`.
    """
    for state in _scheduler_states(param_schedulers):
        for key, value in state.items():
            if isinstance(value, dict) and _FUNCTION_TAG in value:
                function = SAFE_FUNCTIONS.get(value[_FUNCTION_TAG])
                if function is None:
                    raise UnsafeCheckpointError(
                        f'refused to load checkpoint {name}: a parameter scheduler state '
                        f'names the function {value[_FUNCTION_TAG]!r} ({key!r}), which is '
                        f'not on the allow-list ({", ".join(sorted(SAFE_FUNCTIONS))})')
                state[key] = function


def check_schedulers_saveable(param_schedulers: Any) -> None:
    """Refuse, before training, parameter schedulers whose state no checkpoint could keep.

    Run at start-up so that a scheduler that cannot be saved stops the run before its first
    iteration, not at its first checkpoint.

    Args:
        param_schedulers: The runner's built schedulers: a list, or a dict of lists (one per
            optimiser wrapper). Unbuilt configs (dicts) are skipped.

    Raises:
        UnsafeCheckpointError: Naming the scheduler's class, its place in the config and
            the state entries that would be refused.
    """
    if isinstance(param_schedulers, dict):
        groups = [(f'param_scheduler[{name!r}]', group)
                  for name, group in param_schedulers.items()]
    else:
        groups = [('param_scheduler', param_schedulers)]
    for where, group in groups:
        for i, scheduler in enumerate(group if isinstance(group, (list, tuple)) else []):
            if not hasattr(scheduler, 'state_dict'):
                continue
            state = [dict(scheduler.state_dict())]
            pack_scheduler_functions(state)
            found = find_unloadable(state[0], f'{where}[{i}]')
            if found:
                listed = ', '.join(f'{path} ({kind})' for path, kind in sorted(found))
                raise UnsafeCheckpointError(
                    f'refusing to start: the parameter scheduler {type(scheduler).__name__} '
                    f'({where}[{i}]) keeps state that no checkpoint of this run could hold '
                    f'safely: {listed}. Use a scheduler whose state holds numbers, lists and '
                    'dicts only')
