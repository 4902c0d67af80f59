"""Start-up check: every metric can measure the images its dataloader makes.

A metric with a minimum input size (the windowed SSIM's 11x11 window, Inception's 75 px when FID
does not resize) would otherwise fail on the first evaluation batch, possibly hours into
training, with a library's message about options the metric does not offer. The image size is
known from the config: the ``size`` of the last resizing transform of the dataset's pipeline, or
else the dataset's ``img_size`` (as configured, or its default). Each metric class states its
minimum through :meth:`~colorizer.evaluation.metrics.base.ColorizationMetric.min_input_size`.
"""
import inspect
from typing import Iterator, Optional, Sequence, Tuple, Union

from colorizer.registry import DATASETS, METRICS
from .base import ColorizationMetric, input_size_message

__all__ = ['check_metric_input_sizes', 'dataloader_image_size']

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
    from colorizer.engine.config_validation import ConfigError  # the engine imports metrics
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
