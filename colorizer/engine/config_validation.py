"""Catch config mistakes before anything is built or written.

MMEngine's Runner ignores top-level keys it does not know (a misspelled ``trian_cfg`` silently
means "use the defaults") and reports an unknown ``type`` only when that part is built, possibly
after minutes of set-up. :func:`check_config` reports both at start-up, with the closest names.
"""
import difflib
from typing import Iterator, List, Tuple

from mmengine.config import Config
import mmengine.registry as mmengine_registry
from mmengine.registry import Registry

from colorizer import registry as colorizer_registry
from colorizer.evaluation.metrics.evaluator_checks import (check_metric_input_sizes,
                                                           check_save_best)

#: Top-level keys that MMEngine's Runner, the tools or colorizer read.
KNOWN_TOP_LEVEL_KEYS = {
    'model', 'work_dir', 'train_dataloader', 'val_dataloader', 'test_dataloader', 'train_cfg',
    'val_cfg', 'test_cfg', 'auto_scale_lr', 'optim_wrapper', 'param_scheduler', 'val_evaluator',
    'test_evaluator', 'default_hooks', 'custom_hooks', 'data_preprocessor', 'load_from',
    'resume', 'launcher', 'env_cfg', 'log_processor', 'log_level', 'visualizer', 'default_scope',
    'randomness', 'experiment_name', 'cfg', 'custom_imports', 'model_wrapper_cfg', 'sync_bn',
    'find_unused_parameters', 'strategy', 'compile', 'runner_type', 'dataset_type', 'data_root',
    'train_pipeline', 'val_pipeline', 'test_pipeline', 'img_size', 'crop_size', 'metainfo',
    'file_client_args', 'backend_args', 'vis_backends', 'train_dataset', 'val_dataset',
    'test_dataset', 'method', 'dataset_name',
}


class ConfigError(ValueError):
    """A config names a key or a registered type that does not exist."""


def _registries() -> List[Registry]:
    """colorizer's registries, then MMEngine's roots (log processors, runners, functions...)."""
    found = []
    for module in (colorizer_registry, mmengine_registry):
        for name in dir(module):
            value = getattr(module, name)
            if isinstance(value, Registry) and all(value is not f for f in found):
                found.append(value)
    return found


def _type_values(node, path: str = '') -> Iterator[Tuple[str, str]]:
    """Yield (dotted path, type name) for every string ``type`` in a nested config."""
    if isinstance(node, dict):
        if isinstance(node.get('type'), str):
            yield path or '<root>', node['type']
        for key, value in node.items():
            yield from _type_values(value, f'{path}.{key}' if path else str(key))
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            yield from _type_values(value, f'{path}[{i}]')


def _resolves(name: str, registries: List[Registry]) -> bool:
    for reg in registries:
        if reg.get(name) is not None:
            return True
    return False


def _all_names(registries: List[Registry]) -> List[str]:
    names = set()
    for reg in registries:
        names.update(reg.module_dict)
        if reg.parent is not None:
            names.update(reg.parent.module_dict)
            for child in reg.parent.children.values():
                names.update(child.module_dict)
    return sorted(names)


def check_config(cfg: Config, extra_top_level_keys=()) -> None:
    """Raise :class:`ConfigError` for unknown top-level keys and unregistered types.

    A config's own helper variables must start with an underscore (``_img_size = 64``) or be
    one of the usual OpenMMLab names (``train_pipeline``, ``data_root``...).

    Args:
        cfg (Config): The resolved config (``_base_`` merged).
        extra_top_level_keys: Additional accepted top-level keys (a project's own variables).

    Raises:
        ConfigError: Names the offending key or ``type`` value with its path in the config and
            the closest valid names.
    """
    known = KNOWN_TOP_LEVEL_KEYS | set(extra_top_level_keys)
    for key in cfg.keys():
        if key not in known and not key.startswith('_'):
            close = difflib.get_close_matches(key, sorted(known), n=3)
            hint = f'; did you mean {close}?' if close else ''
            raise ConfigError(f'unknown top-level config key {key!r}{hint} (file: {cfg.filename})')

    registries = _registries()
    for reg in registries:
        reg.import_from_location()
    for path, name in _type_values(cfg.to_dict()):
        if '.' in name or _resolves(name, registries):
            continue  # 'scope.Name' types resolve through MMEngine's scope switching
        close = difflib.get_close_matches(name, _all_names(registries), n=5, cutoff=0.5)
        hint = f'; closest registered names: {close}' if close else ''
        raise ConfigError(f'{path}.type = {name!r} is not registered{hint}. '
                          'List what is registered with `python tools/misc/list_modules.py`.')
    check_metric_input_sizes(cfg)
    check_save_best(cfg)
