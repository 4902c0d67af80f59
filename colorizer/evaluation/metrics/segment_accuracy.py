"""Segment accuracy: did each region of the drawing take its own colour?

For data with exact targets and region labels (``LineArtDataset``, the synthetic cartoons), a
region is *right* when the median colour the model painted it is nearer, in CIE Lab, to the
region's own target colour than to any other colour of the drawing's target. This is the
segment-level question a user asks ("is the shirt the reference's shirt colour?"), which pixel
metrics (PSNR, SSIM, ΔE) blur with line and edge errors. ΔE (CIE76, CIELAB D65 via
``skimage.color.rgb2lab``) over the region pixels says how far the colours are off.
"""
from typing import List, Optional, Sequence

import numpy as np
from skimage.color import rgb2lab

from colorizer.invalid_argument import check_number
from colorizer.registry import METRICS
from .base import ColorizationMetric, image_hwc, label_map, sample_fields

__all__ = ['SegmentAccuracy', 'segment_scores']


def segment_scores(output: np.ndarray, target: np.ndarray, labels: np.ndarray,
                   min_pixels: int = 20, ignore_index: Optional[int] = None,
                   same_colour: float = 1.0) -> dict:
    """Per-sample segment counts and ΔE sums.

    Args:
        output: The colourisation, uint8 (H, W, 3) RGB.
        target: The exact target, uint8 (H, W, 3) RGB.
        labels: Region ids (H, W); negative ids and ``ignore_index`` are not scored.
        min_pixels: Regions with fewer pixels are not scored.
        ignore_index: A label not to score (e.g. 0, the paper), or ``None``.
        same_colour: ΔE under which two regions' target colours count as one colour (they
            cannot be told apart, so neither is the other's rival).

    Returns:
        dict: ``regions`` (scored), ``correct``, ``delta_e_sum`` (over the scored regions'
        pixels) and ``pixels``.
    """
    valid = labels >= 0
    if ignore_index is not None:
        valid &= labels != ignore_index
    ids, counts = np.unique(labels[valid], return_counts=True)
    ids = ids[counts >= min_pixels]
    if len(ids) == 0:
        return dict(regions=0, correct=0, delta_e_sum=0.0, pixels=0)
    lab_out = rgb2lab(output.astype(np.float64) / 255.0)
    lab_tgt = rgb2lab(target.astype(np.float64) / 255.0)
    out_med, tgt_med, de_sum, pixels = [], [], 0.0, 0
    for region in ids:
        mask = labels == region
        out_med.append(np.median(lab_out[mask], axis=0))
        tgt_med.append(np.median(lab_tgt[mask], axis=0))
        de_sum += float(np.linalg.norm(lab_out[mask] - lab_tgt[mask], axis=-1).sum())
        pixels += int(mask.sum())
    out_med, tgt_med = np.array(out_med), np.array(tgt_med)
    to_target = np.linalg.norm(out_med[:, None] - tgt_med[None], axis=-1)  # (R, R)
    gaps = np.linalg.norm(tgt_med[:, None] - tgt_med[None], axis=-1)
    correct = 0
    for r in range(len(ids)):
        rivals = gaps[r] > same_colour
        own = to_target[r, r]
        correct += int(not rivals.any() or own < to_target[r, rivals].min())
    return dict(regions=len(ids), correct=correct, delta_e_sum=de_sum, pixels=pixels)


@METRICS.register_module()
class SegmentAccuracy(ColorizationMetric):
    """Share of regions coloured with their own target colour, and their ΔE.

    A region (``labels`` id >= 0, at least ``min_pixels`` pixels) is correct when its median
    output colour (per CIELAB channel) is strictly nearer (CIE76 ΔE) to its own median target
    colour than to every other target colour of the drawing that differs from it by more than
    ``same_colour`` ΔE.

    Logged names (prefix from the protocol, e.g. ``self_ref``):

    - ``<prefix>/segment_accuracy``: correct regions / scored regions, over all samples;
    - ``<prefix>/segment_delta_e``: mean ΔE over the scored regions' pixels.

    Both are ``nan`` when no region was scored. Use it only where ``target`` is the true
    colourisation with the given reference (``LineArtDataset``'s self-reference protocol; its
    random-reference samples have metainfo ``exact_target=False`` and are refused).

    Args:
        min_pixels: Smallest region scored (pixels).
        ignore_index: A label not to score (``LineArtDataset``: 0 is the paper), or ``None``.
        same_colour: See :func:`segment_scores`.
        target_key, pred_key, label_key: Data-sample fields read.
        prefix, collect_device, collect_dir: See
            :class:`~colorizer.evaluation.metrics.base.ColorizationMetric`.

    Raises:
        ValueError: at ``process``, sizes differ or a sample's target is marked inexact.
    """

    metric_name = 'SegmentAccuracy'
    FIELD_ARGUMENTS = ('target_key', 'pred_key', 'label_key')

    @classmethod
    def result_names(cls, cfg: dict) -> List[str]:
        return ['segment_accuracy', 'segment_delta_e']

    def __init__(self,
                 min_pixels: int = 20,
                 ignore_index: Optional[int] = None,
                 same_colour: float = 1.0,
                 target_key: str = 'target',
                 pred_key: str = 'output',
                 label_key: str = 'labels',
                 prefix: Optional[str] = None,
                 collect_device: str = 'cpu',
                 collect_dir: Optional[str] = None) -> None:
        super().__init__(prefix=prefix, collect_device=collect_device, collect_dir=collect_dir)
        check_number('min_pixels', min_pixels, 1, integer=True, owner='SegmentAccuracy')
        check_number('ignore_index', ignore_index, integer=True, allow_none=True,
                     owner='SegmentAccuracy')
        check_number('same_colour', same_colour, 0, owner='SegmentAccuracy')
        self.min_pixels, self.ignore_index, self.same_colour = min_pixels, ignore_index, same_colour
        self.target_key, self.pred_key, self.label_key = target_key, pred_key, label_key

    def process(self, data_batch, data_samples: Sequence) -> None:
        """Store each sample's segment counts and ΔE sum."""
        for sample in data_samples:
            fields = sample_fields(sample)
            if fields.get('exact_target') is False:
                raise ValueError(
                    f"SegmentAccuracy needs exact targets, but sample {fields.get('index')} "
                    f"({fields.get('sketch_path')}) has exact_target=False (random-reference "
                    f'protocol: its target is not the colourisation with that reference)')
            output = image_hwc(fields, self.pred_key, self.metric_name)
            target = image_hwc(fields, self.target_key, self.metric_name)
            labels = label_map(fields, self.label_key, self.metric_name)
            if not output.shape[:2] == target.shape[:2] == labels.shape:
                raise ValueError(
                    f'SegmentAccuracy: sizes differ: {self.pred_key} {output.shape}, '
                    f'{self.target_key} {target.shape}, {self.label_key} {labels.shape}')
            scores = segment_scores(output, target, labels, self.min_pixels, self.ignore_index,
                                    self.same_colour)
            scores['protocol'] = self.protocol_of(fields)
            self.results.append(scores)

    def compute_values(self, results: List[dict]) -> dict:
        """Pooled over samples: correct / scored regions, ΔE sum / pixels."""
        regions = sum(r['regions'] for r in results)
        pixels = sum(r['pixels'] for r in results)
        return dict(
            segment_accuracy=(sum(r['correct'] for r in results) / regions
                              if regions else float('nan')),
            segment_delta_e=(sum(r['delta_e_sum'] for r in results) / pixels
                             if pixels else float('nan')))
