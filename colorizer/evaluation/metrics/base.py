"""What every colorizer metric shares: reading data samples and naming results by protocol.

Data samples reach ``process`` as :class:`~colorizer.structures.ColorizationDataSample` (the
model's ``val_step`` / ``test_step``) or as plain dicts (MMEngine's ``Evaluator.offline_evaluate``
and hand-written loops). :func:`sample_fields` turns both into one flat dict.

Metric names carry the evaluation protocol that produced them, because the random-reference and
the self-reference protocols give very different numbers for the same metric. With
``prefix=None`` (the default) the prefix is derived from the samples' metainfo ``protocol``:
``'random'`` gives ``random_ref/<metric>``, ``'self'`` gives ``self_ref/<metric>``; samples
without a protocol give ``unknown_ref/<metric>``; a mix of protocols gives e.g.
``random+self_ref/<metric>``. An explicit ``prefix`` is used as given.
"""
from abc import abstractmethod
from collections.abc import Mapping
import inspect
from typing import Any, Iterable, List, Optional, Set, Tuple

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.structures import BaseDataElement

#: Prefix used for samples whose metainfo has no ``protocol``.
UNKNOWN_PROTOCOL = 'unknown'


def sample_fields(sample: Any) -> dict:
    """Return the data fields and metainfo of one data sample as one flat dict.

    Args:
        sample: A :class:`~mmengine.structures.BaseDataElement` (e.g. a
            ``ColorizationDataSample``) or a mapping. A nested ``'metainfo'`` mapping is merged
            into the top level, data fields win on a name clash.

    Returns:
        dict: field name -> value.
    """
    if isinstance(sample, BaseDataElement):
        return sample.to_dict()
    if isinstance(sample, Mapping):
        fields = dict(sample.get('metainfo') or {})
        fields.update((k, v) for k, v in sample.items() if k != 'metainfo')
        return fields
    raise TypeError(f'a data sample must be a BaseDataElement or a dict, got {type(sample)}')


def _require(fields: dict, key: str, metric: str) -> Any:
    value = fields.get(key)
    if value is None:
        raise KeyError(f"{metric} needs the data sample field '{key}', which this sample lacks "
                       f'(it has: {sorted(k for k, v in fields.items() if v is not None)})')
    return value


def image_chw(fields: dict, key: str, metric: str) -> torch.Tensor:
    """Return the RGB image ``fields[key]`` as a CPU uint8 tensor (3, H, W).

    Tensors are taken as channel-first (the data sample contract); numpy arrays as
    channel-last, the convention of datasets and transforms.

    Raises:
        KeyError: the field is missing.
        TypeError: the image is not uint8 (values in [0, 255] are the contract; guessing the
            range of a float image would silently change every number).
        ValueError: the shape is not that of an RGB image.
    """
    value = _require(fields, key, metric)
    if isinstance(value, np.ndarray):
        value = torch.from_numpy(np.ascontiguousarray(value))
        if value.ndim == 3:
            value = value.permute(2, 0, 1)
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{metric}: field '{key}' must be a tensor, got {type(value)}")
    if value.dtype != torch.uint8:
        raise TypeError(f"{metric}: field '{key}' must be uint8 in [0, 255], got {value.dtype}")
    if value.ndim != 3 or value.shape[0] != 3:
        raise ValueError(f"{metric}: field '{key}' must be an RGB image (3, H, W), "
                         f'got shape {tuple(value.shape)}')
    return value.detach().cpu()


def image_hwc(fields: dict, key: str, metric: str) -> np.ndarray:
    """Return the RGB image ``fields[key]`` as a uint8 numpy array (H, W, 3)."""
    return image_chw(fields, key, metric).permute(1, 2, 0).numpy()


def label_map(fields: dict, key: str, metric: str) -> np.ndarray:
    """Return the region label map ``fields[key]`` as an int64 numpy array (H, W)."""
    value = _require(fields, key, metric)
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    value = np.asarray(value)
    if value.ndim == 3 and value.shape[0] == 1:
        value = value[0]
    if value.ndim != 2:
        raise ValueError(f"{metric}: field '{key}' must be a label map (H, W), "
                         f'got shape {value.shape}')
    return value.astype(np.int64, copy=False)


def protocol_prefix(protocols: Iterable[Optional[str]]) -> str:
    """Derive the metric-name prefix from the protocols of the evaluated samples.

    Args:
        protocols: the metainfo ``protocol`` of every sample (``None`` where missing).

    Returns:
        str: ``'<protocol>_ref'``; several protocols are joined with ``'+'`` in sorted order.
    """
    names = sorted({p if p else UNKNOWN_PROTOCOL for p in protocols})
    return '+'.join(names or [UNKNOWN_PROTOCOL]) + '_ref'


class InputSizeError(ValueError):
    """Images are smaller than a metric (or its feature extractor) can measure."""


def input_size_message(metric: str, size: Tuple[int, int], minimum: int, remedy: str,
                       source: str = 'the evaluated images') -> str:
    """The one wording of every too-small-input error: metric, sizes, where the size comes
    from and what to do.

    Args:
        metric: The metric as the user configured it, e.g. ``"SSIM(mode='windowed')"``.
        size: The images' ``(H, W)`` in pixels.
        minimum: The smallest side the metric accepts, in pixels.
        remedy: What to change.
        source: What makes images of that size (a config key, or the evaluated images).
    """
    verb = 'are' if source == 'the evaluated images' else 'makes them'
    return (f'{metric} needs images of at least {minimum}x{minimum} px, but {source} {verb} '
            f'{size[1]}x{size[0]} px (width x height); {remedy}')


class MetricContractError(TypeError):
    """A metric plugin broke the contract of :class:`ColorizationMetric` (e.g. ``process``
    appended something other than one dict per sample); the message names the metric."""


class ColorizationMetric(BaseMetric):
    """Base of colorizer's metrics: protocol-derived prefix, tolerant data-sample access.

    Subclasses append one dict per sample to ``self.results`` with a ``'protocol'`` entry (see
    :meth:`protocol_of`) and return bare names (``'ssim'``) from ``compute_metrics``; this class
    adds the prefix. Keeping one entry per sample is what lets MMEngine's ``collect_results``
    gather the results of all ranks and drop the distributed sampler's padding.

    Args:
        prefix (str, optional): metric-name prefix. ``None`` derives it from the samples'
            metainfo ``protocol`` (module docstring).
        collect_device (str): ``'cpu'`` or ``'gpu'``, how results are gathered across ranks.
        collect_dir (str, optional): shared folder for ``collect_device='cpu'``.
    """

    #: Metric name used in error messages.
    metric_name = 'metric'
    #: Constructor arguments whose values name the data-sample fields the metric reads; the
    #: start-up check (``colorizer.engine.config_validation``) compares them with the fields
    #: the dataset provides, so a metric the data cannot feed stops before the first iteration.
    FIELD_ARGUMENTS: Tuple[str, ...] = ()

    @classmethod
    def required_fields(cls, cfg: dict) -> Set[str]:
        """Data-sample fields a metric built from ``cfg`` reads (defaults where not given)."""
        defaults = {name: p.default for name, p in inspect.signature(cls).parameters.items()}
        return {str(cfg.get(arg, defaults.get(arg))) for arg in cls.FIELD_ARGUMENTS}

    @classmethod
    def min_input_size(cls, cfg: dict) -> int:
        """Smallest image side (px) the metric built from ``cfg`` can measure; 1 = any size.

        A classmethod on the config (not the built metric) so that start-up checks can ask it
        without building anything heavy (see
        :mod:`~colorizer.evaluation.metrics.evaluator_checks`).

        Args:
            cfg: The metric's config arguments (``type`` aside).
        """
        return 1

    @classmethod
    def result_names(cls, cfg: dict) -> Optional[List[str]]:
        """The bare names ``compute_metrics`` returns for a metric built from ``cfg``
        (``fnmatch`` patterns for names known only from the data, e.g. ``'delta_e/*'``), so that
        a ``save_best`` naming none of them is refused at start-up; ``None``: not known.

        Args:
            cfg: The metric's config arguments (``type`` aside).
        """
        return None

    @classmethod
    def input_size_remedy(cls, cfg: dict) -> str:
        """What to do when the images are below :meth:`min_input_size` (for messages)."""
        return 'evaluate larger images (the dataset\'s img_size or the pipeline\'s size)'

    @classmethod
    def describe(cls, cfg: dict) -> str:
        """The metric as configured, for messages, e.g. ``"SSIM(mode='windowed')"``."""
        return cls.__name__

    def check_input_size(self, size: Tuple[int, int], cfg: dict) -> None:
        """Raise :class:`InputSizeError` when an image of ``size`` (H, W) is too small.

        Called on every image in ``process``, before any library sees it: the start-up check
        cannot see every config (datasets it does not know, direct use of the metric).

        Args:
            size: The image's (H, W) in pixels.
            cfg: This metric's config arguments (see :meth:`min_input_size`).
        """
        minimum = self.min_input_size(cfg)
        if min(size) < minimum:
            raise InputSizeError(input_size_message(
                self.describe(cfg), tuple(size), minimum, self.input_size_remedy(cfg)))

    def __init__(self,
                 prefix: Optional[str] = None,
                 collect_device: str = 'cpu',
                 collect_dir: Optional[str] = None) -> None:
        # A provisional prefix keeps BaseMetric from warning that none is set; the real one is
        # chosen in ``evaluate`` once the protocols of all samples are known.
        super().__init__(collect_device=collect_device, prefix=prefix or 'auto',
                         collect_dir=collect_dir)
        self.explicit_prefix = prefix

    @staticmethod
    def protocol_of(fields: dict) -> Optional[str]:
        """The sample's metainfo ``protocol`` or ``None``."""
        protocol = fields.get('protocol')
        return str(protocol) if protocol else None

    def choose_prefix(self, results: List[dict]) -> None:
        """Set ``self.prefix`` from the gathered results (called by ``compute_metrics``)."""
        self.prefix = self.explicit_prefix or protocol_prefix(
            r.get('protocol') for r in results)

    def check_results(self, results: list) -> None:
        """Refuse results that are not one dict per sample, naming this metric's class.

        Everything after ``process`` (the protocol prefix, :meth:`compute_values`) reads
        the results as dicts; without this check a metric appending anything else fails in
        the first validation with an ``AttributeError`` that names neither the metric nor
        the contract.

        Raises:
            MetricContractError: (a ``TypeError``) an entry of ``results`` is not a dict.
        """
        for i, result in enumerate(results):
            if not isinstance(result, Mapping):
                name = type(self).__name__
                raise MetricContractError(
                    f'{name}.process must append one dict per sample to self.results (its '
                    "values, and the sample's 'protocol' from protocol_of), but "
                    f'results[{i}] is a {type(result).__name__}: {result!r:.80}')

    def evaluate(self, size: int) -> dict:
        """Check this process's results (on every rank, so none waits for a failed one), then
        MMEngine's evaluate: gather, :meth:`compute_metrics`, prefix the names."""
        self.check_results(self.results)
        return super().evaluate(size)

    def compute_metrics(self, results: list) -> dict:
        """Choose the prefix, then compute the bare-named metrics (:meth:`compute_values`).

        Raises:
            TypeError: ``results`` holds something other than dicts (:meth:`check_results`).
        """
        self.check_results(results)
        self.choose_prefix(results)
        return self.compute_values(results)

    @abstractmethod
    def compute_values(self, results: list) -> dict:
        """Compute ``{bare metric name: value}`` from the gathered per-sample results."""
