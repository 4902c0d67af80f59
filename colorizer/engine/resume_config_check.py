"""Refuse a resume whose config computes something else than the run it continues.

MMEngine's ``Runner.save_checkpoint`` stores the run's whole config as text in
``checkpoint['meta']['cfg']``. A resume with another image size, batch size or attention
normalisation keeps every parameter shape, so the weights load and training would continue
silently with a mix of two configurations. Before a resume restores anything,
:func:`check_resume_config` compares the stored config with the current one on every key that
changes what the model computes or the data it sees (:data:`COMPARED_KEYS`) and refuses the
resume with :class:`ChangedConfigError`, listing each difference, unless the user says the
change is on purpose (``--resume-changed-config`` / ``resume_changed_config = True``).

Keys that only extend or observe a run are not compared: ``train_cfg`` (``max_iters``,
validation interval), hooks, logging, the work dir, evaluation loaders, and the train loader's
worker settings (:data:`LOADER_SPEED_KEYS`).

The stored text is read with :func:`parse_config_text`, a literal reader over Python's ``ast``:
a config file is Python, and executing text found in a checkpoint (as
``Config.fromstring`` would) could run code. Values it cannot read as literals are compared
as their source text.

A longer or shorter run is not a change of computation, except where a parameter scheduler's
course was derived from the run's length: MMEngine 0.10.7's ``Runner`` sets a scheduler's
``end`` to ``train_cfg.max_iters`` / ``max_epochs`` when the config gives none (times the epoch
length with ``convert_to_iter_based``), and derives ``total_iters``, ``T_max`` or
``total_steps`` from it. A resumed scheduler loads its saved state over the one this config
built, so it keeps the old run's course. :func:`check_resume_schedule` compares the built
schedulers with the saved ones on :data:`SCHEDULE_LENGTH_ATTRS` and refuses such a resume
unless the user accepts the old schedule (``--resume-changed-config``; a warning then says
which schedule keeps its old end).

The process count is not part of the config; colorizer saves it as
``checkpoint['meta']['world_size']``. A change of process count (or of the global batch) is
allowed and logged by :func:`global_batch_note` with the old and new global batch and the
sample position at which the data order continues.
"""
import ast
from typing import Any, Dict, Iterator, List, Mapping, Optional, Tuple

from .checkpoint_errors import CheckpointError

__all__ = ['COMPARED_KEYS', 'SCHEDULE_LENGTH_ATTRS', 'ChangedConfigError', 'check_resume_config',
           'check_resume_schedule', 'config_changes', 'global_batch_note', 'parse_config_text',
           'schedule_length_changes']

#: Top-level config keys that change the model's computation or the training data.
COMPARED_KEYS = ('model', 'data_preprocessor', 'train_dataloader', 'optim_wrapper',
                 'param_scheduler', 'randomness')
#: Train-loader settings that change speed, not which samples form which batch.
LOADER_SPEED_KEYS = ('num_workers', 'persistent_workers', 'pin_memory', 'prefetch_factor')
#: Scheduler attributes that fix the course of a schedule (MMEngine 0.10.7): ``begin`` and
#: ``end``, and what the schedulers derive from them when built: ``total_iters`` (Linear,
#: Poly, Constant), ``T_max`` (CosineAnnealing), ``total_steps`` (OneCycle).
SCHEDULE_LENGTH_ATTRS = ('begin', 'end', 'total_steps', 'T_max', 'total_iters')
#: Loop lengths a scheduler's default ``end`` is taken from.
LOOP_LENGTH_KEYS = ('max_iters', 'max_epochs')
#: Differences listed in one error message (the rest are counted).
MAX_LISTED = 12

_ABSENT = '<absent>'


def _listed(entries: List[str]) -> str:
    """The first :data:`MAX_LISTED` entries joined by '; ', the rest counted."""
    text = '; '.join(entries[:MAX_LISTED])
    if len(entries) > MAX_LISTED:
        text += f'; and {len(entries) - MAX_LISTED} more'
    return text


class ChangedConfigError(CheckpointError):
    """``--resume`` with a config that computes differently from the checkpoint's run."""


class _Opaque(str):
    """Source text of a config value that is not a literal (compared as text)."""


def _literal(node: ast.AST) -> Any:
    """The value of an expression made of literals, ``dict(...)`` calls and unary minus;
    any other expression becomes its source text (never evaluated)."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        return [_literal(e) for e in node.elts]
    if isinstance(node, ast.Dict) and None not in node.keys:
        return {_literal(k): _literal(v) for k, v in zip(node.keys, node.values)}
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id == 'dict' and not node.args
            and all(k.arg is not None for k in node.keywords)):
        return {k.arg: _literal(k.value) for k in node.keywords}
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _literal(node.operand)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return -value if isinstance(node.op, ast.USub) else value
    return _Opaque(ast.unparse(node))


def parse_config_text(text: str) -> Dict[str, Any]:
    """Read the top-level ``key = value`` assignments of a config's text without running it.

    Args:
        text (str): A config as ``Config.pretty_text`` writes it.

    Returns:
        dict: Key -> value; tuples become lists, non-literal values their source text.

    Raises:
        SyntaxError: ``text`` is not Python.
    """
    values = {}
    for statement in ast.parse(text).body:
        if (isinstance(statement, ast.Assign) and len(statement.targets) == 1
                and isinstance(statement.targets[0], ast.Name)):
            values[statement.targets[0].id] = _literal(statement.value)
    return values


def _flatten(node: Any, prefix: str, out: Dict[str, Any]) -> Dict[str, Any]:
    if isinstance(node, Mapping) and node:
        for key, value in node.items():
            _flatten(value, f'{prefix}.{key}', out)
    elif isinstance(node, (list, tuple)) and node:
        for i, value in enumerate(node):
            _flatten(value, f'{prefix}[{i}]', out)
    else:
        out[prefix] = list(node) if isinstance(node, tuple) else node
    return out


def _is_speed_key(key: str) -> bool:
    return any(key == f'train_dataloader.{name}' for name in LOADER_SPEED_KEYS)


def config_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> List[Tuple[str, Any, Any]]:
    """The differences between two configs on :data:`COMPARED_KEYS`.

    Args:
        old, new: Configs as returned by :func:`parse_config_text`.

    Returns:
        list[tuple[str, Any, Any]]: ``(dotted key, old value, new value)``, sorted by key;
        ``'<absent>'`` for a key one side lacks.
    """
    changes = []
    for top in COMPARED_KEYS:
        a = _flatten(old[top], top, {}) if top in old else {}
        b = _flatten(new[top], top, {}) if top in new else {}
        for key in sorted(set(a) | set(b)):
            if _is_speed_key(key):
                continue
            before, after = a.get(key, _ABSENT), b.get(key, _ABSENT)
            if before != after or type(before) is not type(after):  # True == 1
                changes.append((key, before, after))
    return changes


def _stored_config(checkpoint: Mapping[str, Any]) -> Optional[Dict[str, Any]]:
    meta = checkpoint.get('meta')
    text = meta.get('cfg') if isinstance(meta, Mapping) else None
    if not isinstance(text, str):
        return None
    try:
        return parse_config_text(text)
    except SyntaxError:
        return None


def check_resume_config(checkpoint: Mapping[str, Any], cfg_text: str, filename: str,
                        allow_changes: bool, logger) -> Optional[Dict[str, Any]]:
    """Refuse to resume ``checkpoint`` with a config that computes differently.

    Args:
        checkpoint: The loaded checkpoint (its ``meta['cfg']`` is compared).
        cfg_text (str): The current config's ``pretty_text``.
        filename (str): The checkpoint's name, for messages.
        allow_changes (bool): ``--resume-changed-config``: log the differences and go on.
        logger: Where warnings go (``MMLogger``).

    Returns:
        dict | None: The stored config (parsed), or ``None`` when the checkpoint holds none.

    Raises:
        ChangedConfigError: A compared key differs and ``allow_changes`` is false; the
            message lists each key with its old and new value.
    """
    old = _stored_config(checkpoint)
    if old is None:
        logger.warning(f'{filename} holds no readable config (meta.cfg): cannot check that '
                       'this resume uses the same model and data settings')
        return None
    changes = config_changes(old, parse_config_text(cfg_text))
    if not changes:
        return old
    listed = _listed([f'{key}: {before!r} -> {after!r}' for key, before, after in changes])
    if not allow_changes:
        raise ChangedConfigError(
            f'refusing to resume from {filename}: this config changes what the model '
            f'computes or the data it trains on ({listed}). Resuming would continue the run '
            'with a mix of two configurations. Use the checkpoint\'s settings, or pass '
            '--resume-changed-config (config: resume_changed_config = True) if the change is '
            'on purpose')
    logger.warning(f'resuming from {filename} with a changed config, on purpose '
                   f'(--resume-changed-config): {listed}')
    return old


def _scheduler_pairs(built: Any, saved: Any) -> Iterator[Tuple[str, Any, Mapping]]:
    """``(name, built scheduler, saved state)`` for each scheduler with a saved state."""
    if isinstance(built, Mapping):
        groups = [(f'[{name!r}]', schedulers,
                   saved.get(name) if isinstance(saved, Mapping) else None)
                  for name, schedulers in built.items()]
    else:
        groups = [('', built, saved)]
    for group, schedulers, states in groups:
        if not isinstance(schedulers, (list, tuple)) or not isinstance(states, (list, tuple)):
            continue
        for i, (scheduler, state) in enumerate(zip(schedulers, states)):
            # a scheduler still given as a config has no built course to compare
            if isinstance(state, Mapping) and not isinstance(scheduler, Mapping):
                yield (f'param_scheduler{group}[{i}] ({type(scheduler).__name__})', scheduler,
                       state)


def schedule_length_changes(built: Any, saved: Any) -> List[Tuple[str, str, Any, Any]]:
    """Where the saved schedulers' course differs from the one this config builds.

    Args:
        built: The runner's built ``param_schedulers`` (a list, or a dict of lists per
            optimiser wrapper).
        saved: The checkpoint's ``param_schedulers`` (the same layout of state dicts).

    Returns:
        list[tuple[str, str, Any, Any]]: ``(scheduler, attribute, saved value, built value)``
        for each attribute of :data:`SCHEDULE_LENGTH_ATTRS` that differs.
    """
    changes = []
    for name, scheduler, state in _scheduler_pairs(built, saved):
        for attr in SCHEDULE_LENGTH_ATTRS:
            if attr in state and hasattr(scheduler, attr):
                before, after = state[attr], getattr(scheduler, attr)
                if before != after:
                    changes.append((name, attr, before, after))
    return changes


def _loop_length_change(old_cfg: Optional[Mapping[str, Any]],
                        new_train_cfg: Optional[Mapping[str, Any]]) -> str:
    """``'train_cfg.max_iters changed from 4 to 8'``, or what else derives the schedule."""
    old_train_cfg = old_cfg.get('train_cfg') if isinstance(old_cfg, Mapping) else None
    if isinstance(old_train_cfg, Mapping) and isinstance(new_train_cfg, Mapping):
        changed = [f'train_cfg.{key} changed from {old_train_cfg.get(key)!r} to '
                   f'{new_train_cfg.get(key)!r}' for key in LOOP_LENGTH_KEYS
                   if old_train_cfg.get(key) != new_train_cfg.get(key)]
        if changed:
            return ', '.join(changed)
    return ('the schedule this config builds differs from the saved one (its end, or the run '
            'length or epoch length it is derived from, changed)')


def check_resume_schedule(built: Any, saved: Any, old_cfg: Optional[Mapping[str, Any]],
                          new_train_cfg: Optional[Mapping[str, Any]], filename: str,
                          allow_changes: bool, logger) -> None:
    """Refuse a resume whose saved schedulers would keep a course this config changed.

    ``Runner.resume`` loads each saved scheduler state over the scheduler this config built
    (``__dict__.update``), so a schedule whose ``end`` was derived from the first run's
    ``max_iters`` keeps that end after a resume with a longer run, silently.

    Args:
        built: The runner's built ``param_schedulers``.
        saved: The checkpoint's ``param_schedulers``.
        old_cfg: The checkpoint's stored config (from :func:`check_resume_config`), or
            ``None``.
        new_train_cfg: The current config's ``train_cfg``.
        filename (str): The checkpoint's name, for messages.
        allow_changes (bool): ``--resume-changed-config``: keep the saved schedule, warn.
        logger: Where the warning goes (``MMLogger``).

    Raises:
        ChangedConfigError: A scheduler's saved course differs from the built one and
            ``allow_changes`` is false; one line naming each scheduler, the attribute with
            its saved and new value, the run-length change and what to do.
    """
    changes = schedule_length_changes(built, saved)
    if not changes:
        return
    listed = _listed([f'{name} {attr}: saved {before!r}, this config {after!r}'
                      for name, attr, before, after in changes])
    cause = _loop_length_change(old_cfg, new_train_cfg)
    if not allow_changes:
        raise ChangedConfigError(
            f'refusing to resume from {filename}: {cause}, but the resumed parameter '
            f'schedulers would keep the schedule they were saved with ({listed}). Pass '
            '--resume-changed-config (config: resume_changed_config = True) to keep the old '
            'schedule, or start a new run from these weights with --cfg-options '
            f'load_from={filename} (without --resume) to follow the new one')
    logger.warning(f'resuming from {filename} with the saved schedule (--resume-changed-config): '
                   f'{cause}; the schedule keeps its old end ({listed})')


def global_batch_note(old_cfg: Optional[Mapping[str, Any]], old_world_size: Optional[int],
                      batch_size: int, world_size: int, iteration: int,
                      by_epoch: bool, epoch: int = 0) -> Optional[str]:
    """A log line when the global batch or the process count differs from the saved run's.

    Describes how MMEngine 0.10.7's loops continue the data order with ``DefaultSampler``
    (one seeded permutation per epoch, split over the processes): the iteration-based loop
    skips ``iteration`` batches on each process, so it continues at sample
    ``iteration * new global batch`` of the seeded order; the epoch-based loop restarts
    epoch ``epoch``'s order, split over the new processes.

    Returns:
        str | None: ``None`` when the saved run's process count is unknown or nothing
        changed.
    """
    if not old_world_size or not isinstance(old_cfg, Mapping):
        return None
    loader = old_cfg.get('train_dataloader')
    old_batch = loader.get('batch_size') if isinstance(loader, Mapping) else None
    if not isinstance(old_batch, int):
        return None
    old_global, new_global = old_world_size * old_batch, world_size * batch_size
    if old_world_size == world_size and old_global == new_global:
        return None
    note = (f'global batch: the checkpoint was written by {old_world_size} process(es) x '
            f'batch {old_batch} = {old_global}; this run uses {world_size} x {batch_size} = '
            f'{new_global}. ')
    if by_epoch:
        return note + (f'Training continues with epoch {epoch}, whose seeded sample order is '
                       f'split over {world_size} process(es).')
    stopped, resumed = iteration * old_global, iteration * new_global
    if stopped == resumed:
        effect = 'no sample is skipped or repeated'
    elif resumed > stopped:
        effect = f'{resumed - stopped} samples of the order are skipped'
    else:
        effect = f'{stopped - resumed} samples of the order are seen again'
    return note + (f'Each process skips {iteration} batches, so training continues at sample '
                   f'{resumed} of the seeded sample order; the old run stopped at sample '
                   f'{stopped} ({effect}).')
