"""Correspondence diagnostics of the cross-attention map, as a metric.

Does the cross-attention find correspondences? On data with ground-truth regions
(``SyntheticToonDataset``) these statistics say how much of each sketch token's attention lands
on reference tokens of its own region, against chance.

Names: ``<protocol>_ref/corr/<statistic>`` with the statistics of
:mod:`colorizer.evaluation.correspondence_stats` (``region_mass``, ``region_chance``,
``diagonal_mass``, ``diagonal_chance``, ``entropy``, ``entropy_max``, ``row_max``,
``topk_mass``, ``mass_norm_spearman``), each the mean over samples.
"""
import math
from typing import List, Optional, Sequence

import numpy as np
import torch

from colorizer.invalid_argument import check_number
from colorizer.registry import METRICS
from colorizer.structures.token_grid import pool_labels, token_grid
from ..correspondence_stats import correspondence_statistics
from .base import ColorizationMetric, label_map, sample_fields


def _tensor(fields: dict, key: str, ndim: int, hint: str) -> Optional[torch.Tensor]:
    value = fields.get(key)
    if value is None:
        return None
    value = torch.as_tensor(value).detach().cpu().float()
    if value.dim() != ndim:
        raise ValueError(f"CorrespondenceMetric: field '{key}' must have {ndim} dimensions "
                         f'({hint}), got shape {tuple(value.shape)}')
    return value


@METRICS.register_module()
class CorrespondenceMetric(ColorizationMetric):
    """Does the fusion module's cross map find the reference's corresponding regions?

    Reads, per data sample, what ``ReferenceColorizer(correspondence_outputs=True)`` attaches:
    ``cross_attention`` (N, N'), ``reference_token_norm`` (N',), optionally
    ``diagonal_attention`` (N, N) (map with the sketch's own colour image as reference), and the
    data's region labels ``labels`` (H, W) and ``reference_labels`` (H', W'), pooled to the
    token grids by majority. Statistics whose inputs a sample lacks are left out.

    Args:
        topk: k of ``topk_mass``.
        ignore_index: sketch tokens whose (majority-pooled) label is this id are left out of
            ``region_mass`` / ``region_chance``, e.g. 0 for the paper of the real line art
            (:class:`~colorizer.datasets.LineArtDataset`), which is not a drawn shape and would
            otherwise dominate both. None keeps every token.
        attention_key, diagonal_key, norm_key, label_key, reference_label_key: field names.
        prefix, collect_device, collect_dir: see
            :class:`~colorizer.evaluation.metrics.base.ColorizationMetric`.

    Raises:
        KeyError: in ``process``, a sample without ``cross_attention`` (the model was not
            built with ``correspondence_outputs=True``).
    """

    metric_name = 'CorrespondenceMetric'

    def __init__(self,
                 topk: int = 4,
                 ignore_index: Optional[int] = None,
                 attention_key: str = 'cross_attention',
                 diagonal_key: str = 'diagonal_attention',
                 norm_key: str = 'reference_token_norm',
                 label_key: str = 'labels',
                 reference_label_key: str = 'reference_labels',
                 prefix: Optional[str] = None,
                 collect_device: str = 'cpu',
                 collect_dir: Optional[str] = None) -> None:
        super().__init__(prefix=prefix, collect_device=collect_device, collect_dir=collect_dir)
        check_number('topk', topk, 1, integer=True, owner=type(self).__name__)
        self.topk = topk
        if ignore_index is not None:
            check_number('ignore_index', ignore_index, 0, integer=True,
                         owner=type(self).__name__)
        self.ignore_index = ignore_index
        self.attention_key = attention_key
        self.diagonal_key = diagonal_key
        self.norm_key = norm_key
        self.label_key = label_key
        self.reference_label_key = reference_label_key

    def process(self, data_batch, data_samples: Sequence) -> None:
        """Store each sample's statistics."""
        for sample in data_samples:
            fields = sample_fields(sample)
            attn = _tensor(fields, self.attention_key, 2, "N, N'")
            if attn is None:
                raise KeyError(
                    f"CorrespondenceMetric needs the data sample field '{self.attention_key}': "
                    'build the model with correspondence_outputs=True so that val_step / '
                    'test_step attach the cross-attention map')
            norm = _tensor(fields, self.norm_key, 1, "N'")
            diagonal = _tensor(fields, self.diagonal_key, 2, 'N, N')
            sketch_tokens = reference_tokens = None
            if (fields.get(self.label_key) is not None
                    and fields.get(self.reference_label_key) is not None):
                labels = torch.from_numpy(label_map(fields, self.label_key, self.metric_name))
                ref_labels = torch.from_numpy(
                    label_map(fields, self.reference_label_key, self.metric_name))
                sketch_tokens = pool_labels(
                    labels[None], token_grid(attn.shape[0], labels.shape))
                if self.ignore_index is not None:  # rows labelled -1 are left out
                    sketch_tokens[sketch_tokens == self.ignore_index] = -1
                reference_tokens = pool_labels(
                    ref_labels[None], token_grid(attn.shape[1], ref_labels.shape))
            stats = correspondence_statistics(
                attn[None], sketch_tokens, reference_tokens,
                None if norm is None else norm[None],
                None if diagonal is None else diagonal[None], self.topk)
            result = {key: float(value[0]) for key, value in stats.items()}
            result['protocol'] = self.protocol_of(fields)
            self.results.append(result)

    def compute_values(self, results: List[dict]) -> dict:
        """Mean of every statistic over the samples that have it (NaNs left out)."""
        keys = sorted({k for r in results for k in r if k != 'protocol'})
        metrics = {}
        for key in keys:
            values = [r[key] for r in results if key in r and not math.isnan(r[key])]
            metrics[f'corr/{key}'] = float(np.mean(values)) if values else float('nan')
        return metrics
