"""Where a sketch point takes its colour from: the cross-attention map in image coordinates.

The fusion module's cross step relates every sketch token (a cell of the encoder's coarsest
grid, ``stride`` = 2**(num_levels - 1) input pixels wide) to every reference token. Row ``i`` of
the (N_sketch, N_ref) map, reshaped to the reference's token grid, shows which parts of the
reference sketch token ``i`` reads; :meth:`AttentionMap.heatmap` brings it into the reference's
original pixels.
"""
from dataclasses import dataclass
from typing import Tuple

import cv2
import numpy as np

from colorizer.structures.token_grid import token_grid
from .letterbox import Letterbox

__all__ = ['AttentionMap', 'overlay_heatmap', 'draw_marker']


@dataclass
class AttentionMap:
    """The cross-attention of one colourised pair, with the geometry to read it in pixels.

    Attributes:
        weights: ``(N_sketch, N_ref)`` float32 map (row i: what sketch token i attends to).
        sketch_grid: (h, w) token grid of the sketch.
        reference_grid: (h', w') token grid of the reference.
        sketch_box: Letterbox of the sketch in the model input.
        reference_box: Letterbox of the reference in the model input.
    """

    weights: np.ndarray
    sketch_grid: Tuple[int, int]
    reference_grid: Tuple[int, int]
    sketch_box: Letterbox
    reference_box: Letterbox

    @classmethod
    def from_weights(cls, weights: np.ndarray, sketch_box: Letterbox,
                     reference_box: Letterbox) -> 'AttentionMap':
        """Wrap a ``(N_sketch, N_ref)`` map, deriving the token grids from the input sizes."""
        return cls(np.asarray(weights, np.float32),
                   token_grid(weights.shape[0], sketch_box.dst_size),
                   token_grid(weights.shape[1], reference_box.dst_size), sketch_box,
                   reference_box)

    def token_at(self, x: float, y: float) -> int:
        """Index of the sketch token covering pixel (x = column, y = row) of the original sketch.

        Raises:
            ValueError: The point lies outside the sketch.
        """
        height, width = self.sketch_box.src_size
        if not (0 <= x < width and 0 <= y < height):
            raise ValueError(f'point ({x}, {y}) is outside the sketch of {width}x{height} pixels')
        ix, iy = self.sketch_box.to_input(x, y)
        (in_h, in_w), (gh, gw) = self.sketch_box.dst_size, self.sketch_grid
        col = min(gw - 1, max(0, int((ix + 0.5) * gw / in_w)))
        row = min(gh - 1, max(0, int((iy + 0.5) * gh / in_h)))
        return row * gw + col

    def heatmap(self, x: float, y: float) -> np.ndarray:
        """Attention of the sketch point (x, y) over the reference, in reference pixels.

        Args:
            x: Column in the original sketch.
            y: Row in the original sketch.

        Returns:
            ``(H_ref, W_ref)`` float32 in [0, 1] (scaled so the strongest token is 1), the
            original reference's size.
        """
        row = self.weights[self.token_at(x, y)].reshape(self.reference_grid)
        peak = float(row.max())
        row = row / peak if peak > 0 else row
        in_h, in_w = self.reference_box.dst_size
        # bilinear: tokens are soft regions, not hard blocks
        heat = cv2.resize(row.astype(np.float32), (in_w, in_h), interpolation=cv2.INTER_LINEAR)
        heat = self.reference_box.invert(heat, cv2.INTER_LINEAR)
        return np.clip(heat, 0.0, 1.0)


def overlay_heatmap(image: np.ndarray, heat: np.ndarray, alpha: float = 0.55,
                    colormap: int = cv2.COLORMAP_JET) -> np.ndarray:
    """Blend a [0, 1] heat map over an RGB image with a colour map.

    Args:
        image: ``(H, W, 3)`` uint8 RGB.
        heat: ``(H, W)`` float in [0, 1].
        alpha: Weight of the colour map.
        colormap: OpenCV colour map.

    Returns:
        ``(H, W, 3)`` uint8 RGB.
    """
    colors = cv2.applyColorMap(np.round(heat * 255).astype(np.uint8), colormap)
    colors = cv2.cvtColor(colors, cv2.COLOR_BGR2RGB)
    return cv2.addWeighted(colors, alpha, image, 1.0 - alpha, 0.0)


def draw_marker(image: np.ndarray, x: float, y: float,
                color: Tuple[int, int, int] = (255, 0, 0)) -> np.ndarray:
    """A copy of an RGB (or gray) image with a cross in a ring at pixel (x, y).

    Args:
        image: ``(H, W, 3)`` uint8 RGB or ``(H, W)`` gray.
        x: Column.
        y: Row.
        color: RGB colour of the marker.

    Returns:
        ``(H, W, 3)`` uint8 RGB.
    """
    out = cv2.cvtColor(image, cv2.COLOR_GRAY2RGB) if image.ndim == 2 else image.copy()
    size = max(7, round(min(out.shape[:2]) / 20))
    thickness = max(1, size // 6)
    center = (int(round(x)), int(round(y)))
    cv2.drawMarker(out, center, color, cv2.MARKER_CROSS, 2 * size, thickness, cv2.LINE_AA)
    cv2.circle(out, center, size, color, thickness, cv2.LINE_AA)
    return out
