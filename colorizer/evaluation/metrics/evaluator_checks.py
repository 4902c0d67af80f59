"""Start-up checks of the evaluators against the rest of the config.

A wrong evaluation set-up would otherwise fail at the first validation, possibly hours into
training, with a message about something else:

- :func:`check_metric_input_sizes`: a metric with a minimum input size (the windowed SSIM's 11x11
  window, Inception's 75 px when FID does not resize) gets smaller images. The image size is
  known from the config: the ``size`` of the last resizing transform of the dataset's pipeline,
  or else the dataset's ``img_size`` (as configured, or its default). Each metric class states
  its minimum through :meth:`~colorizer.evaluation.metrics.base.ColorizationMetric.min_input_size`.
- :func:`check_save_best`: the checkpoint hook's ``save_best`` names a metric the validation
  evaluator does not log (MMEngine raises a bare ``KeyError`` at the first validation). The
  logged names are ``<protocol>_ref/<name>``, the protocol coming from the dataset's ``mode``
  (or the metric's explicit ``prefix``), the names from
  :meth:`~colorizer.evaluation.metrics.base.ColorizationMetric.result_names`.
"""
import fnmatch
import inspect
from typing import Iterator, List, Optional, Sequence, Tuple, Union

from mmengine.logging import print_log

from colorizer.config_error import ConfigError
from colorizer.registry import DATASETS, METRICS
from .base import ColorizationMetric, input_size_message

__all__ = ['check_metric_input_sizes', 'check_save_best', 'dataloader_image_size',
           'logged_metric_names']

#: Transforms whose ``size`` is the size of every image after them.
SIZE_TRANSFORMS = ('Resize', 'CenterCrop', 'RandomResizedCrop')

#: (evaluator key, dataloader key, loop key) of each evaluation the Runner can run.
EVALUATIONS = (('val_evaluator', 'val_dataloader', 'val_cfg'),
               ('test_evaluator', 'test_dataloader', 'test_cfg'))


def _pair(size: Union[int, Sequence[int]]) -> Tuple[int, int]:
    if isinstance(size, int):
        return size, size
    h, w = size
    return int(h), int(w)


def _short_type(cfg: dict) -> str:
    return str(cfg.get('type', '')).split('.')[-1]


def dataloader_image_size(loader: Optional[dict],
                          name: str) -> Optional[Tuple[Tuple[int, int], str]]:
    """The (H, W) of the images a dataloader config makes, and the config key that sets it.

    Args:
        loader: A dataloader config (``dataset`` inside).
        name: Its key in the config, for the message (``'test_dataloader'``).

    Returns:
        ``((H, W), 'test_dataloader.dataset.pipeline[0].size')``, or ``None`` when the config
        does not say (a dataset wrapper, a pipeline without a resizing transform).
    """
    dataset = (loader or {}).get('dataset')
    if not isinstance(dataset, dict):
        return None
    pipeline = dataset.get('pipeline') or []
    for i in reversed(range(len(pipeline))):
        step = pipeline[i]
        if isinstance(step, dict) and _short_type(step) in SIZE_TRANSFORMS and 'size' in step:
            return _pair(step['size']), f'{name}.dataset.pipeline[{i}].size ({step["type"]})'
    if 'img_size' in dataset:
        return _pair(dataset['img_size']), f'{name}.dataset.img_size'
    dataset_cls = DATASETS.get(dataset.get('type', '')) if dataset.get('type') else None
    if dataset_cls is not None:
        default = inspect.signature(dataset_cls).parameters.get('img_size')
        if default is not None and isinstance(default.default, (int, tuple, list)):
            return _pair(default.default), f'{name}.dataset.img_size (default)'
    return None


def _metric_cfgs(evaluator) -> Iterator[Tuple[str, dict]]:
    """(index suffix, metric config) of an evaluator config: a dict, a list, or an
    ``Evaluator`` dict with ``metrics``."""
    if isinstance(evaluator, dict) and 'metrics' in evaluator:
        yield from ((f'.metrics{i}', m) for i, m in _metric_cfgs(evaluator['metrics']))
    elif isinstance(evaluator, dict):
        yield '', evaluator
    elif isinstance(evaluator, (list, tuple)):
        for i, metric in enumerate(evaluator):
            if isinstance(metric, dict):
                yield f'[{i}]', metric


def check_metric_input_sizes(cfg) -> None:
    """Refuse a config whose evaluation images are smaller than one of its metrics accepts.

    Args:
        cfg: The resolved config (``mmengine.Config`` or dict).

    Raises:
        ConfigError: Names the metric (and its key), the image size and the key that sets it,
            and what to change.
    """
    for evaluator_key, loader_key, loop_key in EVALUATIONS:
        evaluator = cfg.get(evaluator_key)
        if not evaluator or cfg.get(loop_key) is None:
            continue
        found = dataloader_image_size(cfg.get(loader_key), loader_key)
        if found is None:
            continue  # unknown here: each metric checks the images it gets in process()
        size, source = found
        for suffix, metric_cfg in _metric_cfgs(evaluator):
            metric_cls = METRICS.get(metric_cfg.get('type', '')) if metric_cfg.get('type') else None
            if not (inspect.isclass(metric_cls) and issubclass(metric_cls, ColorizationMetric)):
                continue
            args = {k: v for k, v in metric_cfg.items() if k != 'type'}
            minimum = metric_cls.min_input_size(args)
            if min(size) < minimum:
                raise ConfigError(
                    f'{evaluator_key}{suffix}: ' + input_size_message(
                        metric_cls.describe(args), size, minimum,
                        metric_cls.input_size_remedy(args), source=source))


def _protocol(loader: Optional[dict]) -> Optional[str]:
    """The ``protocol`` metainfo a dataloader's samples carry, from its dataset's ``mode``."""
    from colorizer.datasets.base_colorization_dataset import (PROTOCOLS,
                                                              BaseColorizationDataset)
    dataset = (loader or {}).get('dataset')
    if not isinstance(dataset, dict) or not dataset.get('type'):
        return None
    dataset_cls = DATASETS.get(dataset['type'])
    if not (inspect.isclass(dataset_cls) and issubclass(dataset_cls, BaseColorizationDataset)):
        return None
    mode = dataset.get('mode', inspect.signature(dataset_cls).parameters['mode'].default)
    return PROTOCOLS.get(mode)


def logged_metric_names(evaluator, loader: Optional[dict]) -> Optional[List[str]]:
    """The names an evaluator config logs with the samples of ``loader``, as patterns.

    Returns:
        e.g. ``['random_ref/delta_e', 'random_ref/delta_e/*', 'random_ref/ssim']``, or ``None``
        when a metric or the protocol is not known from the config.
    """
    names = []
    for _, metric_cfg in _metric_cfgs(evaluator):
        metric_cls = METRICS.get(metric_cfg.get('type', '')) if metric_cfg.get('type') else None
        if not (inspect.isclass(metric_cls) and issubclass(metric_cls, ColorizationMetric)):
            return None
        args = {k: v for k, v in metric_cfg.items() if k != 'type'}
        bare = metric_cls.result_names(args)
        prefix = args.get('prefix')
        if prefix is None:
            protocol = _protocol(loader)
            prefix = None if protocol is None else f'{protocol}_ref'
        if bare is None or prefix is None:
            return None
        names += [f'{prefix}/{name}' for name in bare]
    return names


def check_save_best(cfg) -> None:
    """Refuse a ``save_best`` that names a metric the validation does not log.

    Without validation (``val_cfg`` / ``val_dataloader`` / ``val_evaluator`` None) there is no
    best checkpoint to choose: ``save_best`` is left in place, inactive, and said so in the log.

    Args:
        cfg: The resolved config.

    Raises:
        ConfigError: Names the ``save_best`` value, the metrics the evaluator logs, and what to
            change.
    """
    checkpoint = (cfg.get('default_hooks') or {}).get('checkpoint') or {}
    save_best = checkpoint.get('save_best') if isinstance(checkpoint, dict) else None
    if not save_best:
        return
    wanted = [save_best] if isinstance(save_best, str) else list(save_best)
    wanted = [name for name in wanted if name != 'auto']  # 'auto': the first logged metric
    if not wanted:
        return
    if any(cfg.get(key) is None for key in ('val_cfg', 'val_dataloader', 'val_evaluator')):
        print_log(f'default_hooks.checkpoint.save_best={save_best!r} is inactive: this config '
                  'has no validation, so no best checkpoint is chosen', logger='current')
        return
    logged = logged_metric_names(cfg['val_evaluator'], cfg['val_dataloader'])
    if logged is None:
        return  # metrics or datasets this check does not know: MMEngine has the last word
    for name in wanted:
        if not any(fnmatch.fnmatchcase(name, pattern) for pattern in logged):
            raise ConfigError(
                f'default_hooks.checkpoint.save_best={name!r} is not a metric of val_evaluator, '
                f'which logs {logged}; name one of these, or set save_best=None')
