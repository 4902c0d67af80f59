"""Quality gates of the real line-art set: which rendered drawings make a fair benchmark.

A drawing passes when its line art and regions make a colourisation task with a known answer:
enough regions, enough colour, a sensible amount of ink. The two *strict* gates (little
gradient area, colour changes drawn as lines) pick the benchmark's test and validation drawings;
drawings that fail only those may still be used for training (the "relaxed" set).
"""
from dataclasses import asdict, dataclass
from typing import Dict, List

import cv2
import numpy as np

from .svg_line_art import BACKGROUND_LABEL, INK_LABEL

__all__ = ['GateThresholds', 'measure_drawing', 'failed_gates', 'STRICT_GATES']

#: Gates only the benchmark's test / validation drawings must pass.
STRICT_GATES = ('gradients', 'unlined_boundaries')


@dataclass(frozen=True)
class GateThresholds:
    """Thresholds of the gates.

    Attributes:
        min_regions: Fewest regions of at least ``min_region_px`` pixels.
        min_region_px: Smallest region counted (px at the rendering size).
        max_gradient_share: Largest share of the drawing's colour area painted with gradients.
        min_saturation: A drawing is in colour when a region of at least ``min_color_share``
            of the colour area has at least this HSV saturation (0-1).
        min_color_share: See ``min_saturation``.
        ink_range: Allowed share of the drawing (non-background pixels) that is ink.
        ink_level: Line-art grey level (0-255) under which a pixel is ink.
        min_lined_share: Least share of colour-change boundary pixels within
            ``line_distance`` px of ink.
        line_distance: See ``min_lined_share``.
    """

    min_regions: int = 4
    min_region_px: int = 20
    max_gradient_share: float = 0.30
    min_saturation: float = 0.15
    min_color_share: float = 0.01
    ink_range: tuple = (0.03, 0.45)
    ink_level: int = 128
    min_lined_share: float = 0.80
    line_distance: float = 2.0

    def to_dict(self) -> dict:
        """The thresholds as a JSON-able dict."""
        return asdict(self)


def measure_drawing(line: np.ndarray, labels: np.ndarray, colors: Dict[int, tuple],
                    gradient: Dict[int, bool], thresholds: GateThresholds) -> dict:
    """The quantities the gates test.

    Args:
        line: ``(H, W)`` uint8 line art (255 paper, 0 ink).
        labels: ``(H, W)`` uint16 label map (``BACKGROUND_LABEL``, regions, ``INK_LABEL``).
        colors: Region label -> RGB colour (measured for gradient regions).
        gradient: Region label -> painted with a gradient.
        thresholds: The gates' thresholds (``min_region_px``, ``ink_level``,
            ``line_distance``).

    Returns:
        dict with ``regions`` (count of regions >= ``min_region_px``), ``gradient_share``,
        ``max_saturation`` (of regions >= ``min_color_share`` of the colour area),
        ``ink_share`` and ``lined_share`` (1.0 when there is no colour boundary).
    """
    drawing = labels != BACKGROUND_LABEL
    region_px = drawing & (labels != INK_LABEL)
    area = max(int(region_px.sum()), 1)
    ids, counts = np.unique(labels[region_px], return_counts=True)
    big = [int(i) for i, c in zip(ids, counts) if c >= thresholds.min_region_px]
    gradient_px = sum(int(c) for i, c in zip(ids, counts) if gradient.get(int(i)))
    saturation = 0.0
    for i, c in zip(ids, counts):
        if c >= thresholds.min_color_share * area:
            rgb = np.array(colors[int(i)], np.float64)
            high = rgb.max()
            saturation = max(saturation, (high - rgb.min()) / high if high > 0 else 0.0)
    ink = line < thresholds.ink_level
    ink_share = float((ink & drawing).sum()) / max(int(drawing.sum()), 1)
    return dict(regions=len(big), gradient_share=gradient_px / area,
                max_saturation=float(saturation), ink_share=ink_share,
                lined_share=_lined_share(line, labels, colors, thresholds))


def _lined_share(line: np.ndarray, labels: np.ndarray, colors: Dict[int, tuple],
                 thresholds: GateThresholds) -> float:
    """Share of colour-change boundary pixels (between non-ink pixels) near a line."""
    # colour code per pixel: the background is white paper; ink pixels take no part
    code = np.full(labels.shape, 0xFFFFFF, np.int64)
    for label, rgb in colors.items():
        code[labels == label] = (rgb[0] << 16) | (rgb[1] << 8) | rgb[2]
    non_ink = (labels != INK_LABEL) & (line >= thresholds.ink_level)
    boundary = np.zeros(labels.shape, bool)
    horizontal = (code[:, 1:] != code[:, :-1]) & non_ink[:, 1:] & non_ink[:, :-1]
    vertical = (code[1:] != code[:-1]) & non_ink[1:] & non_ink[:-1]
    boundary[:, 1:] |= horizontal
    boundary[:, :-1] |= horizontal
    boundary[1:] |= vertical
    boundary[:-1] |= vertical
    if not boundary.any():
        return 1.0
    # distance of every pixel to the nearest ink pixel (0 on ink)
    distance = cv2.distanceTransform(non_ink.astype(np.uint8), cv2.DIST_L2, 3)
    return float((distance[boundary] <= thresholds.line_distance).mean())


def failed_gates(stats: dict, thresholds: GateThresholds) -> List[str]:
    """The gates a drawing fails, in a fixed order (first = the logged rejection reason).

    Args:
        stats: From :func:`measure_drawing`.
        thresholds: The gates' thresholds.

    Returns:
        Reasons among ``'few_regions'``, ``'greyscale'``, ``'ink_too_little'``,
        ``'ink_too_much'``, ``'gradients'``, ``'unlined_boundaries'`` (the last two are
        :data:`STRICT_GATES`).
    """
    failed = []
    if stats['regions'] < thresholds.min_regions:
        failed.append('few_regions')
    if stats['max_saturation'] < thresholds.min_saturation:
        failed.append('greyscale')
    low, high = thresholds.ink_range
    if stats['ink_share'] < low:
        failed.append('ink_too_little')
    if stats['ink_share'] > high:
        failed.append('ink_too_much')
    if stats['gradient_share'] > thresholds.max_gradient_share:
        failed.append('gradients')
    if stats['lined_share'] < thresholds.min_lined_share:
        failed.append('unlined_boundaries')
    return failed
