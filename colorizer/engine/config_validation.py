"""Catch config mistakes before anything is built or written.

MMEngine's Runner ignores top-level keys it does not know (a misspelled ``trian_cfg`` silently
means "use the defaults") and reports an unknown ``type`` only when that part is built, possibly
after minutes of set-up. :func:`check_config` reports both at start-up, with the closest names,
and three mistakes that otherwise surface late or never:

- a dataset key the dataset type does not read (``data_root`` on the in-memory
  ``SyntheticToonDataset`` trained on cartoons whatever folder was named);
- an evaluator that reads a data-sample field the dataset does not provide
  (``RegionColorError`` needs the synthetic set's ``oracle``: a folder config crashed at the
  first validation, after the whole first training interval);
- a metric whose minimum image size is above the evaluated images' size, and a ``save_best``
  metric that no evaluator logs (both in :mod:`colorizer.evaluation.metrics.evaluator_checks`).
"""
import difflib
import inspect
from typing import Iterator, List, Optional, Set, Tuple

from mmengine.config import Config
import mmengine.registry as mmengine_registry
from mmengine.registry import Registry

from colorizer import registry as colorizer_registry
from colorizer.config_error import ConfigError
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
    'test_dataset', 'method', 'dataset_name', 'resume_changed_config',
}


#: Data-sample fields the model adds before evaluation (``ReferenceColorizer`` sets ``output``).
MODEL_OUTPUT_FIELDS = {'output'}
#: Dataloader of each evaluator.
EVALUATION_SPLITS = (('val_evaluator', 'val_dataloader'), ('test_evaluator', 'test_dataloader'))


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
    check_dataset_keys(cfg)
    check_evaluator_fields(cfg)
    check_metric_input_sizes(cfg)
    check_save_best(cfg)


def accepted_arguments(cls) -> Optional[Set[str]]:
    """Keyword arguments ``cls(...)`` reads, following ``**kwargs`` up the MRO.

    Arguments a class lists in ``IGNORED_ARGUMENTS`` (accepted by a base class, never read)
    are left out.

    Returns:
        The argument names, or ``None`` when a ``**kwargs`` leads to no known signature.
    """
    names = set()
    for klass in cls.__mro__:
        init = klass.__dict__.get('__init__')
        if init is None:
            continue
        if klass is object:
            return None
        params = list(inspect.signature(init).parameters.values())[1:]
        names.update(p.name for p in params
                     if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY))
        if not any(p.kind == p.VAR_KEYWORD for p in params):
            return names - set(getattr(cls, 'IGNORED_ARGUMENTS', ()))
    return None


def _dataset_class(dataset: dict):
    from colorizer.registry import DATASETS
    name = dataset.get('type') if isinstance(dataset, dict) else None
    return DATASETS.get(name) if isinstance(name, str) else None


def _datasets(cfg: Config) -> Iterator[Tuple[str, dict]]:
    """(path, dataset config) of every dataloader's dataset, wrapped datasets included."""
    def walk(path, dataset):
        if not isinstance(dataset, dict):
            return
        yield path, dataset
        if isinstance(dataset.get('dataset'), dict):
            yield from walk(f'{path}.dataset', dataset['dataset'])
        for i, inner in enumerate(dataset.get('datasets') or []):
            yield from walk(f'{path}.datasets[{i}]', inner)

    for split in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg.get(split)
        if isinstance(loader, dict):
            yield from walk(f'{split}.dataset', loader.get('dataset'))


def check_dataset_keys(cfg: Config) -> None:
    """Reject a dataset key its type would not read (it would be ignored, or fail late).

    Raises:
        ConfigError: Names the key, its path, the dataset type and the keys it accepts.
    """
    for path, dataset in _datasets(cfg):
        cls = _dataset_class(dataset)
        accepted = accepted_arguments(cls) if cls is not None else None
        if accepted is None:
            continue
        for key in dataset:
            if key == 'type' or key in accepted:
                continue
            why = ('it never reads it' if key in getattr(cls, 'IGNORED_ARGUMENTS', ())
                   else 'no such argument')
            hint = ''
            if key == 'data_root':
                hint = (' To train on a folder of images use a ColorizationDataset config, '
                        'e.g. configs/sga/sga_folder.py --data-root DIR.')
            raise ConfigError(f'{path}.{key}: {dataset["type"]} does not accept {key!r} ({why})'
                              f'; valid keys: {sorted(accepted)}.{hint}')


def _metric_configs(evaluator) -> List[dict]:
    """The metric configs of an evaluator config (a metric, a list, or an Evaluator dict)."""
    if isinstance(evaluator, dict):
        if 'metrics' in evaluator:
            return _metric_configs(evaluator['metrics'])
        return [evaluator]
    if isinstance(evaluator, (list, tuple)):
        return [m for m in evaluator if isinstance(m, dict)]
    return []


def _metric_class(metric: dict):
    from colorizer.registry import METRICS
    name = metric.get('type')
    return METRICS.get(name) if isinstance(name, str) else None


def _dataset_mode(dataset: dict, cls) -> str:
    if 'mode' in dataset:
        return dataset['mode']
    default = inspect.signature(cls).parameters.get('mode')
    return default.default if default is not None else 'train'


def _innermost_dataset(dataset: dict) -> dict:
    while isinstance(dataset, dict) and isinstance(dataset.get('dataset'), dict):
        dataset = dataset['dataset']
    return dataset


def check_evaluator_fields(cfg: Config) -> None:
    """Reject an evaluator that reads a data-sample field its dataset does not provide.

    Only metrics that declare their fields (``FIELD_ARGUMENTS``) and datasets that declare
    theirs (``provided_fields``) are checked.

    Raises:
        ConfigError: Names the metric, the missing field, the dataset type and mode.
    """
    for evaluator_key, loader_key in EVALUATION_SPLITS:
        loader = cfg.get(loader_key)
        if not isinstance(loader, dict):
            continue
        dataset = _innermost_dataset(loader.get('dataset'))
        data_cls = _dataset_class(dataset)
        if data_cls is None or not hasattr(data_cls, 'provided_fields'):
            continue
        mode = _dataset_mode(dataset, data_cls)
        provided = set(data_cls.provided_fields(mode)) | MODEL_OUTPUT_FIELDS
        for i, metric in enumerate(_metric_configs(cfg.get(evaluator_key))):
            metric_cls = _metric_class(metric)
            if metric_cls is None or not hasattr(metric_cls, 'required_fields'):
                continue
            missing = sorted(metric_cls.required_fields(metric) - provided)
            if missing:
                raise ConfigError(
                    f'{evaluator_key}[{i}]: {metric["type"]} needs the data-sample field(s) '
                    f'{missing}, which {dataset["type"]} (mode={mode!r}) does not provide '
                    f'(it provides {sorted(provided)}); remove the metric or use another '
                    'dataset. Metrics that work on any folder of images: SSIM, PSNR, FID.')
