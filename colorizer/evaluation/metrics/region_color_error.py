"""Colour error per semantic region against the oracle rendering (synthetic data only).

Synthetic samples carry an ``oracle``: the sketch's geometry painted with the reference's
palette, i.e. the right answer of the random-reference protocol, and ``labels``, the semantic
region of every pixel. This metric says how far the colourisation is from that answer and whether
each region took its colour from the right region of the reference, which FID and SSIM against
the target cannot tell (they reward copying the target's own colours).

Colour difference is CIE76 ΔE: the Euclidean distance in CIELAB (D65), computed with
``skimage.color.rgb2lab`` on sRGB in [0, 1]. About 2.3 is a just-noticeable difference.
"""
from typing import Dict, List, Optional, Sequence

import numpy as np
from skimage.color import rgb2lab

from colorizer.registry import METRICS
from .base import ColorizationMetric, image_hwc, label_map, sample_fields


def region_statistics(output: np.ndarray, oracle: np.ndarray, labels: np.ndarray,
                      ignore_index: Optional[int] = None) -> dict:
    """ΔE sums and colour-assignment checks of one sample.

    Args:
        output: the colourisation, uint8 (H, W, 3).
        oracle: the oracle rendering, uint8 (H, W, 3).
        labels: region ids (H, W); negative ids and ``ignore_index`` are not scored.
        ignore_index: a label id to leave out (e.g. line pixels), or ``None``.

    Returns:
        dict: ``regions``: {region id: (ΔE sum, pixel count)}; ``correct`` / ``judged``: how many
        regions were assigned the right oracle colour, out of the regions that had a differently
        coloured region to be confused with (see :func:`colour_assignment`).
    """
    lab_out = rgb2lab(output.astype(np.float64) / 255.0)
    lab_ref = rgb2lab(oracle.astype(np.float64) / 255.0)
    delta_e = np.linalg.norm(lab_out - lab_ref, axis=-1)
    valid = labels >= 0
    if ignore_index is not None:
        valid &= labels != ignore_index
    regions, out_means, ref_means = {}, [], []
    for region in np.unique(labels[valid]):
        mask = labels == region
        regions[int(region)] = (float(delta_e[mask].sum()), int(mask.sum()))
        out_means.append(lab_out[mask].mean(axis=0))
        ref_means.append(lab_ref[mask].mean(axis=0))
    correct, judged = colour_assignment(np.array(out_means), np.array(ref_means))
    return dict(regions=regions, correct=correct, judged=judged)


def colour_assignment(out_means: np.ndarray, ref_means: np.ndarray,
                      same_colour: float = 1.0) -> tuple:
    """Count regions whose mean output colour is nearest to their own oracle colour.

    A region is judged only when the sample's palette has another region of a different colour
    (ΔE above ``same_colour``): two regions painted alike cannot tell where a colour came from,
    and a one-region sample has nothing to get wrong. A judged region is correct when its mean
    output colour is strictly closer (ΔE) to its own oracle colour than to every differently
    coloured region's oracle colour.

    Args:
        out_means: mean CIELAB output colour per region (R, 3).
        ref_means: mean CIELAB oracle colour per region (R, 3).
        same_colour: ΔE under which two oracle colours count as the same colour.

    Returns:
        tuple: (number correct, number judged).
    """
    if len(out_means) < 2:
        return 0, 0
    to_palette = np.linalg.norm(out_means[:, None] - ref_means[None], axis=-1)
    palette_gaps = np.linalg.norm(ref_means[:, None] - ref_means[None], axis=-1)
    correct = judged = 0
    for region in range(len(out_means)):
        rivals = palette_gaps[region] > same_colour
        if not rivals.any():
            continue
        judged += 1
        correct += int(to_palette[region, region] < to_palette[region, rivals].min())
    return correct, judged


@METRICS.register_module()
class RegionColorError(ColorizationMetric):
    """Mean CIE76 ΔE to the oracle, overall and per region, and the region colour accuracy.

    Logged names (prefix from the protocol, usually ``random_ref``):

    - ``<prefix>/delta_e``: mean ΔE over all scored pixels of all samples;
    - ``<prefix>/delta_e/<region>``: mean ΔE over the pixels of that region in all samples;
      ``<region>`` is the name from ``dataset_meta['regions']`` (a list indexed by id or a dict
      id -> name) when the dataset provides it, else the id;
    - ``<prefix>/region_accuracy``: the share of (sample, region) pairs whose mean output colour
      is nearer to the region's own oracle colour than to any other colour of the sample's
      palette, i.e. the colour came from the right reference region (see
      :func:`colour_assignment` for which pairs are judged); ``nan`` if none was.

    Args:
        reference_key (str): the oracle rendering field.
        pred_key (str): the colourisation field.
        label_key (str): the region label map field.
        ignore_index (int, optional): a label id not to score; negative ids are never scored.
        prefix, collect_device, collect_dir: see
            :class:`~colorizer.evaluation.metrics.base.ColorizationMetric`.
    """

    metric_name = 'RegionColorError'
    FIELD_ARGUMENTS = ('reference_key', 'pred_key', 'label_key')

    @classmethod
    def result_names(cls, cfg: dict) -> List[str]:
        return ['delta_e', 'delta_e/*', 'region_accuracy']

    def __init__(self,
                 reference_key: str = 'oracle',
                 pred_key: str = 'output',
                 label_key: str = 'labels',
                 ignore_index: Optional[int] = None,
                 prefix: Optional[str] = None,
                 collect_device: str = 'cpu',
                 collect_dir: Optional[str] = None) -> None:
        super().__init__(prefix=prefix, collect_device=collect_device, collect_dir=collect_dir)
        self.reference_key = reference_key
        self.pred_key = pred_key
        self.label_key = label_key
        self.ignore_index = ignore_index

    def process(self, data_batch, data_samples: Sequence) -> None:
        """Store each sample's per-region ΔE sums and colour-assignment counts."""
        for sample in data_samples:
            fields = sample_fields(sample)
            output = image_hwc(fields, self.pred_key, self.metric_name)
            oracle = image_hwc(fields, self.reference_key, self.metric_name)
            labels = label_map(fields, self.label_key, self.metric_name)
            if not output.shape[:2] == oracle.shape[:2] == labels.shape:
                raise ValueError(
                    f'RegionColorError: sizes differ: {self.pred_key} {output.shape}, '
                    f'{self.reference_key} {oracle.shape}, {self.label_key} {labels.shape}')
            stats = region_statistics(output, oracle, labels, self.ignore_index)
            stats['protocol'] = self.protocol_of(fields)
            self.results.append(stats)

    def region_name(self, region: int) -> str:
        """The dataset's name of a region id, else the id as text."""
        names = (self.dataset_meta or {}).get('regions')
        name = None
        if isinstance(names, dict):
            name = names.get(region, names.get(str(region)))
        elif isinstance(names, (list, tuple)) and 0 <= region < len(names):
            name = names[region]
        return str(region) if name is None else str(name).replace(' ', '_')

    def compute_values(self, results: List[dict]) -> dict:
        """Pixel-weighted ΔE means and the region accuracy."""
        totals: Dict[int, List[float]] = {}
        for result in results:
            for region, (error, count) in result['regions'].items():
                total = totals.setdefault(region, [0.0, 0])
                total[0] += error
                total[1] += count
        pixels = sum(count for _, count in totals.values())
        metrics = {'delta_e': sum(e for e, _ in totals.values()) / pixels if pixels
                   else float('nan')}
        for region in sorted(totals):
            error, count = totals[region]
            metrics[f'delta_e/{self.region_name(region)}'] = error / count
        judged = sum(r['judged'] for r in results)
        correct = sum(r['correct'] for r in results)
        metrics['region_accuracy'] = correct / judged if judged else float('nan')
        return metrics
