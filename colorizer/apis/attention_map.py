"""Where a sketch point takes its colour from: the cross-attention map in image coordinates.

The fusion module's cross step relates every sketch token (a cell of the encoder's coarsest
grid, ``stride`` = 2**(num_levels - 1) input pixels wide) to every reference token. Row ``i`` of
the (N_sketch, N_ref) map, reshaped to the reference's token grid, shows which parts of the
reference sketch token ``i`` reads; :meth:`AttentionMap.heatmap` brings it into the reference's
original pixels.
"""
import math
from dataclasses import dataclass
from typing import Dict, Optional, Sequence, Tuple

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from colorizer.structures.token_grid import token_grid
from .letterbox import Letterbox

__all__ = ['AttentionMap', 'ATTENTION_MAX_CELLS', 'overlay_heatmap', 'draw_marker', 'pooled_grid']


#: Default cap on the cells kept per axis of an attention map (64 x 64 sketch cells by 64 x 64
#: reference cells: 64 MiB of float32 at most, whatever the input size; the full map of a 1024²
#: input at stride 8 is 16384² = 1 GiB).
ATTENTION_MAX_CELLS = 64 * 64


def pooled_grid(grid: Tuple[int, int], max_cells: int) -> Tuple[int, int]:
    """The grid of cells ``f x f`` tokens wide, for the smallest ``f`` that keeps at most
    ``max_cells`` cells (``grid`` itself when it has no more)."""
    height, width = grid
    factor = 1
    while math.ceil(height / factor) * math.ceil(width / factor) > max(1, max_cells):
        factor += 1
    return math.ceil(height / factor), math.ceil(width / factor)


def _pool_columns(weights: torch.Tensor, grid: Tuple[int, int],
                  cells: Tuple[int, int]) -> torch.Tensor:
    """(R, h*w) -> (R, h'*w'): each row, read as an h x w map, area-averaged into ``cells``."""
    rows = weights.shape[0]
    pooled = F.adaptive_avg_pool2d(weights.reshape(rows, *grid), cells)
    return pooled.reshape(rows, cells[0] * cells[1])


@dataclass
class AttentionMap:
    """The cross-attention of one colourised pair, with the geometry to read it in pixels.

    Three forms, all read with :meth:`heatmap`:

    - **full**: row ``i`` of ``weights`` is sketch token ``i`` (``max_cells=None``);
    - **pooled** (default of :func:`~colorizer.apis.inference.colorize`): each axis area-averaged
      into at most ``max_cells`` cells (``sketch_grid`` / ``reference_grid`` are then the cell
      grids): row ``i`` is where the sketch cell ``i`` (a block of tokens) takes its colour
      from, over reference cells. A 1024² input keeps 64 MiB instead of 1 GiB;
    - **rows at points**: only the rows of the sketch tokens under given points, exact
      (``rows`` maps a token to its row); another point raises ``ValueError``.

    Attributes:
        weights: ``(K, M)`` float32 (row k: what sketch token or cell k attends to).
        sketch_grid: (h, w) grid of the sketch tokens (or cells) the rows refer to.
        reference_grid: (h', w') grid of the reference tokens (or cells), ``h' * w' = M``.
        sketch_box: Letterbox of the sketch in the model input.
        reference_box: Letterbox of the reference in the model input.
        rows: ``{sketch token: row of weights}`` for the rows-at-points form, else ``None``.
    """

    weights: np.ndarray
    sketch_grid: Tuple[int, int]
    reference_grid: Tuple[int, int]
    sketch_box: Letterbox
    reference_box: Letterbox
    rows: Optional[Dict[int, int]] = None

    @classmethod
    def from_weights(cls, weights: np.ndarray, sketch_box: Letterbox,
                     reference_box: Letterbox) -> 'AttentionMap':
        """Wrap a full ``(N_sketch, N_ref)`` map, deriving the token grids from the input sizes."""
        return cls(np.asarray(weights, np.float32),
                   token_grid(weights.shape[0], sketch_box.dst_size),
                   token_grid(weights.shape[1], reference_box.dst_size), sketch_box,
                   reference_box)

    @classmethod
    def from_tensor(cls, weights: torch.Tensor, sketch_box: Letterbox, reference_box: Letterbox,
                    max_cells: Optional[int] = ATTENTION_MAX_CELLS,
                    points: Optional[Sequence[Tuple[float, float]]] = None) -> 'AttentionMap':
        """Keep a ``(N_sketch, N_ref)`` map (on any device) in a bounded form.

        Args:
            weights: The full map of one pair, as the fusion module returned it.
            sketch_box: Letterbox of the sketch in the model input.
            reference_box: Letterbox of the reference in the model input.
            max_cells: Cap on the cells kept per axis (pooled form); ``None`` keeps the full
                map. Ignored when ``points`` is given.
            points: (x, y) points of the original sketch: keep their rows only, exact.

        Raises:
            ValueError: A point outside the sketch, or a map whose size fits no token grid.
        """
        sketch_grid = token_grid(weights.shape[0], sketch_box.dst_size)
        reference_grid = token_grid(weights.shape[1], reference_box.dst_size)
        with torch.no_grad():
            if points is not None:
                probe = cls(np.zeros((0, 0), np.float32), sketch_grid, reference_grid,
                            sketch_box, reference_box)
                tokens = sorted({probe.token_at(x, y) for x, y in points})
                kept = weights[tokens].float().cpu().numpy()
                return cls(kept, sketch_grid, reference_grid, sketch_box, reference_box,
                           {token: i for i, token in enumerate(tokens)})
            if max_cells is not None:
                # reference axis first: rows are contiguous, no copy of the full map is made
                cells = pooled_grid(reference_grid, max_cells)
                if cells != reference_grid:
                    weights, reference_grid = _pool_columns(weights, reference_grid,
                                                            cells), cells
                cells = pooled_grid(sketch_grid, max_cells)
                if cells != sketch_grid:
                    weights = _pool_columns(weights.t().contiguous(), sketch_grid, cells).t()
                    sketch_grid = cells
            return cls(weights.float().cpu().numpy(), sketch_grid, reference_grid, sketch_box,
                       reference_box)

    @property
    def nbytes(self) -> int:
        """Memory the kept map holds."""
        return int(self.weights.nbytes)

    def token_at(self, x: float, y: float) -> int:
        """Index of the sketch token (or cell) covering pixel (x = column, y = row) of the
        original sketch.

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
        token = self.token_at(x, y)
        if self.rows is not None:
            if token not in self.rows:
                raise ValueError(f'point ({x}, {y}) lies in no sketch token whose attention was '
                                 'kept: this map holds the rows of the points given to '
                                 'colorize(attention_points=...) only')
            token = self.rows[token]
        row = self.weights[token].reshape(self.reference_grid)
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
