"""Check every plugin argument of a config at start-up by building its components once.

Each plugin checks its own constructor arguments (:mod:`colorizer.invalid_argument`: the error
names the argument, the value and the valid set). A bad value would otherwise surface as a
traceback from deep inside the Runner's build, after the work dir was created, or, for a
dataset or a metric, only when its loop starts. :func:`check_components` builds the model,
every dataloader's dataset (with its transforms) and every evaluator metric before anything is
written, and turns the first refused argument into a :class:`ConfigError` of one line that
names the config key path (``model.generator.attention.norm = 'single'``), or, when the value
came from a top-level option (``img_size=(8, 8)``), that option and where it was applied.

The model and the metrics are built on PyTorch's ``meta`` device: parameters get shapes and no
memory, so the check costs milliseconds and no RAM even for a paper-size model. Datasets are
built with ``lazy_init=True`` (MMEngine's ``BaseDataset``): no folder is listed and no image
is read here; a dataset whose folder is missing is built fully, so that its own error names
the folder.
"""
import os.path as osp
from contextlib import contextmanager
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope, Registry

from colorizer.invalid_argument import InvalidArgumentError
from .config_validation import ConfigError, accepted_arguments

__all__ = ['SPLITS', 'check_components']

#: The loops a run can have; a tool checks those it runs.
SPLITS = ('train', 'val', 'test')


@contextmanager
def _recording_builds() -> Iterator[None]:
    """Tag an error raised inside ``Registry.build`` with the config node being built.

    Components build their parts themselves (a generator builds its attention module), so the
    innermost build that fails names the node whose argument was refused.
    """
    original = Registry.build

    def build(self, cfg, *args, **kwargs):
        try:
            return original(self, cfg, *args, **kwargs)
        except (ValueError, TypeError) as err:
            if not hasattr(err, 'config_node'):
                err.config_node = cfg
            raise

    Registry.build = build
    try:
        yield
    finally:
        Registry.build = original


def _find(root, node, path: str, same) -> Optional[str]:
    """Dotted path of the first value under ``root`` for which ``same(value, node)``."""
    if same(root, node):
        return path
    children = (root.items() if isinstance(root, dict)
                else enumerate(root) if isinstance(root, (list, tuple)) else ())
    for key, child in children:
        child_path = f'{path}[{key}]' if isinstance(key, int) else f'{path}.{key}'
        found = _find(child, node, child_path, same)
        if found is not None:
            return found
    return None


def _node_path(root, node, path: str) -> str:
    if node is None:
        return path
    found = _find(root, node, path, lambda a, b: a is b)
    if found is None:  # a component that copied its part's config before building it
        found = _find(root, node, path, lambda a, b: isinstance(a, dict) and a == b)
    return found or path


def _message(err: Exception, section_cfg, section: str,
             applied: Dict[str, Tuple[str, object]]) -> str:
    node = getattr(err, 'config_node', None)
    path = _node_path(section_cfg, node, section)
    type_name = node.get('type') if isinstance(node, dict) else None
    owner = type_name if isinstance(type_name, str) else getattr(type_name, '__name__', '')
    if isinstance(err, InvalidArgumentError) and isinstance(node, dict) \
            and err.argument in node:
        key = f'{path}.{err.argument}'
        if key in applied:
            option, value = applied[key]
            return (f'{option} = {value!r} (applied to {key}): not valid for {owner}; '
                    f'valid: {err.valid}')
        return f'{key} = {err.value!r}: not valid for {owner}; valid: {err.valid}'
    what = f'{path} ({owner})' if owner else path
    return f'{what}: {err}'


def _folders_exist(dataset: dict) -> bool:
    """Whether every local folder a dataset config names exists."""
    return all(osp.isdir(value) for key, value in dataset.items()
               if key in ('data_root', 'sketch_root') and isinstance(value, str)
               and '://' not in value)


def _built_parts(cfg: Config,
                 splits: Sequence[str]) -> Iterator[Tuple[str, object, Registry, dict]]:
    """(section, its config, registry, build config) of every part the Runner builds."""
    from colorizer.registry import DATASETS, METRICS, MODELS
    if isinstance(cfg.get('model'), dict):
        yield 'model', cfg.model, MODELS, cfg.model
    for split in (f'{name}_dataloader' for name in splits):
        loader = cfg.get(split)
        dataset = loader.get('dataset') if isinstance(loader, dict) else None
        if isinstance(dataset, dict):
            section = f'{split}.dataset'
            cls = DATASETS.get(dataset.get('type')) if isinstance(dataset.get('type'),
                                                                  str) else None
            accepted = accepted_arguments(cls) if cls is not None else None
            build_cfg = dataset
            if (accepted is None or 'lazy_init' in accepted) and _folders_exist(dataset):
                # no folder is listed here; a missing one is left to the dataset to name
                build_cfg = type(dataset)(dataset, lazy_init=True)
            yield section, dataset, DATASETS, build_cfg
    for key in (f'{name}_evaluator' for name in splits if name != 'train'):
        evaluator = cfg.get(key)
        # a metric, a list of metrics, or an Evaluator dict holding either under 'metrics'
        prefix = key
        if isinstance(evaluator, dict) and 'metrics' in evaluator:
            evaluator, prefix = evaluator['metrics'], f'{key}.metrics'
        if isinstance(evaluator, dict):
            yield prefix, evaluator, METRICS, evaluator
        for i, metric in enumerate(evaluator if isinstance(evaluator, (list, tuple)) else []):
            if isinstance(metric, dict):
                yield f'{prefix}[{i}]', metric, METRICS, metric


def _build(registry: Registry, cfg: dict, meta: bool) -> None:
    """Build ``cfg`` on the ``meta`` device if ``meta``, else (or if that fails) on the CPU."""
    if meta:
        try:
            with torch.device('meta'):  # shapes only: no memory, no initialisation
                registry.build(cfg)
            return
        except Exception:  # noqa: BLE001 - retried for real below
            # A plugin may need real tensors (``.item()``, numpy): only an error that a real
            # build repeats is the config's.
            pass
    registry.build(cfg)


def check_components(cfg: Config,
                     applied_options: Optional[Dict[str, List[str]]] = None,
                     option_values: Optional[Dict[str, object]] = None,
                     splits: Sequence[str] = SPLITS) -> None:
    """Build the model, the datasets and the metrics of ``cfg`` once, to check their arguments.

    Args:
        cfg: The resolved config (command-line options applied).
        applied_options: From :func:`~colorizer.engine.propagated_options.
            apply_propagated_options`: for each top-level option, the key paths it changed; an
            error at such a path names the option the user gave.
        option_values: The values of those options (``{'img_size': (8, 8)}``).
        splits: The loops the run has (``('train', 'val')`` for training: the test split's
            dataset and evaluator are built only by a test run).

    Raises:
        ConfigError: One line: the key path, the value and what is valid (or the component's
            own message when it refused something else); a ``data_root`` option naming no
            local folder.
    """
    applied = {path: (option, (option_values or {}).get(option))
               for option, paths in (applied_options or {}).items() for path in paths}
    root = (option_values or {}).get('data_root')
    if root is not None and '://' not in str(root) and not osp.isdir(str(root)):
        paths = (applied_options or {}).get('data_root') or []
        raise ConfigError(f'data_root = {str(root)!r}: no such folder (it would be read by '
                          f'{", ".join(paths) or "the datasets"})')
    scope = cfg.get('default_scope') or 'colorizer'
    with DefaultScope.overwrite_default_scope(scope), _recording_builds():
        for section, section_cfg, registry, build_cfg in _built_parts(cfg, splits):
            try:
                _build(registry, build_cfg, meta=registry.name != 'dataset')
            except (ValueError, TypeError) as err:
                if getattr(err, 'config_node', None) is build_cfg:
                    err.config_node = section_cfg
                raise ConfigError(_message(err, section_cfg, section, applied)) from err
