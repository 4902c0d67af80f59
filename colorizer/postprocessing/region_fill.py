"""Clean regions: one colour per closed region of the line art (paint-bucket post-processing).

A network's per-pixel colours drift inside a region and bleed across lines; a paint bucket
gives one colour per closed region by construction. :class:`RegionFill` combines both:

1. **Segment** the line art into closed regions by *trapped-ball filling* (Zhang et al.,
   "Trapped-ball segmentation", used by the line-art colourisation tools after it): the ink
   (pixels darker than ``line_threshold``) is dilated by a disc of radius ``gap_radius``, which
   closes gaps of up to about ``2 * gap_radius`` pixels; the connected components of the paper
   that remains are the seeds; every seed grows back into the original paper (a watershed
   restricted to the non-ink pixels), so regions reach the lines again. Paper that no seed
   reaches (regions narrower than the ball) forms regions of its own connected components.
2. **Fill** every region with one robust colour, the per-channel median of the network's
   output over the region in CIELAB (medians ignore the stray pixels of a smear).
3. **Guard**: a region covering more than ``max_region_share`` of the image (typically paper
   that leaked around an open drawing, or the background) takes its median only when the
   network's own output there is already nearly one colour (90% of its pixels within
   ``uniform_tolerance`` ΔE of the median); otherwise it keeps the per-pixel output. Regions
   smaller than ``min_region_pixels`` keep the per-pixel output (a median of a few pixels is
   noise).
4. **Lines** (ink pixels) keep the network's output: the line is what the network drew there.

Every step works on uint8 RGB images at any size; the segmentation is CPU-only
(OpenCV and scikit-image primitives).
"""
from dataclasses import dataclass
from typing import Optional

import cv2
import numpy as np
from skimage.color import lab2rgb, rgb2lab
from skimage.segmentation import watershed

from colorizer.invalid_argument import check_number

__all__ = ['RegionFill', 'segment_regions', 'LINE']

#: Label of ink (line) pixels in :func:`segment_regions`' output.
LINE = -1


def _gray(line_art: np.ndarray) -> np.ndarray:
    if line_art.ndim == 3 and line_art.shape[2] == 1:
        line_art = line_art[..., 0]
    if line_art.ndim == 3:
        line_art = cv2.cvtColor(np.ascontiguousarray(line_art), cv2.COLOR_RGB2GRAY)
    if line_art.ndim != 2:
        raise ValueError(f'line art must be (H, W), (H, W, 1) or (H, W, 3), got shape '
                         f'{line_art.shape}')
    if line_art.dtype != np.uint8:
        raise TypeError(f'line art must be uint8, got {line_art.dtype}')
    return line_art


def segment_regions(line_art: np.ndarray, line_threshold: int = 128,
                    gap_radius: int = 1) -> np.ndarray:
    """Closed regions of a line drawing by trapped-ball filling.

    Args:
        line_art: (H, W) uint8 (or (H, W, 3) RGB, converted to gray): dark lines on light paper.
        line_threshold: Pixels with a gray value below it are ink.
        gap_radius: Radius in pixels of the ball; gaps in the lines up to about
            ``2 * gap_radius`` pixels are closed. 0 closes no gap (plain flood fill).

    Returns:
        (H, W) int32 labels: :data:`LINE` (-1) on ink, 0, 1, ... one per closed region.

    Raises:
        ValueError, TypeError: a line art of another shape or dtype.
    """
    if gap_radius < 0:
        raise ValueError(f'gap_radius must be >= 0, got {gap_radius}')
    gray = _gray(line_art)
    ink = gray < line_threshold
    paper = ~ink
    if gap_radius > 0:
        size = 2 * gap_radius + 1
        ball = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
        # the ball fits where the dilated ink leaves paper: seeds that cannot leak through gaps
        trapped = ~cv2.dilate(ink.astype(np.uint8), ball).astype(bool)
    else:
        trapped = paper
    count, seeds = cv2.connectedComponents(trapped.astype(np.uint8), connectivity=4)
    # grow the seeds back into the paper they were shrunk from (labels 1..count-1, 0 = none)
    if count > 1:
        grown = watershed(np.zeros(gray.shape, np.uint8), markers=seeds, mask=paper)
    else:
        grown = np.zeros(gray.shape, np.int32)
    # paper no seed reached: regions narrower than the ball, each a region of its own
    left = paper & (grown == 0)
    if left.any():
        extra, extra_labels = cv2.connectedComponents(left.astype(np.uint8), connectivity=4)
        grown = np.where(left, extra_labels + grown.max(), grown)
    labels = grown.astype(np.int32) - 1
    labels[ink] = LINE
    # consecutive ids 0..R-1
    ids = np.unique(labels[labels >= 0])
    remap = np.full(int(labels.max()) + 2 if labels.size else 1, LINE, np.int32)
    remap[ids + 1] = np.arange(len(ids), dtype=np.int32)
    return remap[labels + 1]


@dataclass
class RegionFill:
    """One robust colour per closed region of the line art (see the module docstring).

    Args:
        line_threshold: Gray value below which a line-art pixel is ink.
        gap_radius: Trapped-ball radius (closes gaps of about ``2 * gap_radius`` pixels).
        max_region_share: Regions covering more than this share of the image are filled only
            when the output there is already nearly uniform (guard against leaked regions).
        uniform_tolerance: ΔE (CIE76) within which 90% of a large region's output pixels must
            lie from their median for the region to be filled anyway.
        min_region_pixels: Regions with fewer pixels keep the per-pixel output.
    """

    line_threshold: int = 128
    gap_radius: int = 1
    max_region_share: float = 0.3
    uniform_tolerance: float = 8.0
    min_region_pixels: int = 4

    def __post_init__(self):
        owner = 'RegionFill'
        check_number('line_threshold', self.line_threshold, 0, 255, integer=True, owner=owner)
        check_number('gap_radius', self.gap_radius, 0, integer=True, owner=owner)
        check_number('max_region_share', self.max_region_share, 0, 1, exclusive_minimum=True,
                     owner=owner)
        check_number('uniform_tolerance', self.uniform_tolerance, 0, owner=owner)
        check_number('min_region_pixels', self.min_region_pixels, 1, integer=True, owner=owner)

    def __call__(self, output: np.ndarray, line_art: np.ndarray,
                 regions: Optional[np.ndarray] = None) -> np.ndarray:
        """Fill ``output`` region by region.

        Args:
            output: (H, W, 3) uint8 RGB colourisation.
            line_art: (H, W) uint8 line art of the same size (dark lines on light paper).
            regions: precomputed :func:`segment_regions` labels, else segmented here.

        Returns:
            (H, W, 3) uint8 RGB, a new array.

        Raises:
            ValueError: images of different sizes or layouts.
        """
        if output.ndim != 3 or output.shape[2] != 3 or output.dtype != np.uint8:
            raise ValueError(f'output must be (H, W, 3) uint8, got {output.shape} {output.dtype}')
        if regions is None:
            regions = segment_regions(line_art, self.line_threshold, self.gap_radius)
        if regions.shape != output.shape[:2]:
            raise ValueError(f'line art {regions.shape} and output {output.shape[:2]} differ in '
                             'size')
        lab = rgb2lab(output.astype(np.float64) / 255.0)  # (H, W, 3)
        filled = lab.copy()
        total = regions.size
        flat = regions.ravel()
        order = np.argsort(flat, kind='stable')
        bounds = np.searchsorted(flat[order], np.arange(flat.max() + 2 if flat.size else 1))
        lab_flat, out_flat = lab.reshape(-1, 3), filled.reshape(-1, 3)
        for region in range(len(bounds) - 1):
            pixels = order[bounds[region]:bounds[region + 1]]
            if len(pixels) < self.min_region_pixels:
                continue
            colours = lab_flat[pixels]  # (n, 3)
            median = np.median(colours, axis=0)
            if len(pixels) > self.max_region_share * total:
                # a high quantile: a median distance would pass a region that is 51% one
                # colour and 49% another
                spread = np.quantile(np.linalg.norm(colours - median, axis=1), 0.9)
                if spread > self.uniform_tolerance:
                    continue  # a leaked or mixed region: keep the network's pixels
            out_flat[pixels] = median
        rgb = lab2rgb(filled)
        result = np.clip(np.round(rgb * 255.0), 0, 255).astype(np.uint8)
        # pixels not filled stay bit-identical (no Lab round trip)
        untouched = np.all(filled == lab, axis=-1)
        result[untouched] = output[untouched]
        return result
