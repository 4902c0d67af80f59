"""Thin-plate-spline warp that makes the training reference from the target."""
import functools
from typing import Optional, Tuple

import cv2
import numpy as np
from mmcv.transforms import BaseTransform

from colorizer.invalid_argument import check_choice, check_number
from colorizer.registry import TRANSFORMS
from .random_state import sample_rng

__all__ = [
    'TPSWarp', 'tps_warp', 'tps_grid', 'remap_grid', 'min_area_ratio', 'fit_tps', 'eval_tps',
    'random_tps_points'
]

_BORDERS = {
    'reflect': cv2.BORDER_REFLECT_101,
    'replicate': cv2.BORDER_REPLICATE,
    'constant': cv2.BORDER_CONSTANT,
}


def _tps_kernel(dist2: np.ndarray) -> np.ndarray:
    # U(r) = r^2 log r^2, with U(0) = 0.
    return np.where(dist2 > 0, dist2 * np.log(np.maximum(dist2, 1e-12)), 0.0)


def _sq_dist(points: np.ndarray, ctrl: np.ndarray) -> np.ndarray:
    """(m, n) squared distances, per axis (cheaper than an (m, n, 2) difference array)."""
    dx = points[:, 0, None] - ctrl[None, :, 0]
    dy = points[:, 1, None] - ctrl[None, :, 1]
    return dx * dx + dy * dy


def fit_tps(ctrl: np.ndarray, values: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Fit a 2-D thin-plate spline through ``ctrl -> values``.

    Args:
        ctrl: ``(n, 2)`` control points.
        values: ``(n, d)`` values at the control points.

    Returns:
        ``(weights (n, d), affine (3, d))`` for :func:`eval_tps`.
    """
    n = len(ctrl)
    system = np.zeros((n + 3, n + 3))
    system[:n, :n] = _tps_kernel(_sq_dist(ctrl, ctrl))
    system[:n, n] = system[n, :n] = 1.0
    system[:n, n + 1:] = ctrl
    system[n + 1:, :n] = ctrl.T
    rhs = np.zeros((n + 3, values.shape[1]))
    rhs[:n] = values
    try:
        sol = np.linalg.solve(system, rhs)
    except np.linalg.LinAlgError:
        sol = None
    if sol is None or not np.all(np.isfinite(sol)):
        # Coincident control points make the system singular; lstsq still gives the spline.
        sol = np.linalg.lstsq(system, rhs, rcond=None)[0]
    return sol[:n], sol[n:]


def eval_tps(points: np.ndarray, ctrl: np.ndarray, weights: np.ndarray,
             affine: np.ndarray) -> np.ndarray:
    """Evaluate a fitted thin-plate spline at ``points`` (m, 2); returns (m, d)."""
    return affine[0] + points @ affine[1:] + _tps_kernel(_sq_dist(points, ctrl)) @ weights


def random_tps_points(rng: np.random.Generator, num_points: int,
                      strength: float) -> Tuple[np.ndarray, np.ndarray]:
    """The authors' control points: fixed corners plus points on the diagonal, moved at random.

    Args:
        rng: Random generator.
        num_points: Moving points, evenly spaced on the main diagonal.
        strength: Maximum displacement per axis, as a fraction of the image size.

    Returns:
        ``(src, dst)``: ``(4 + num_points, 2)`` point sets in [0, 1] coordinates; the content at
        ``src`` in the input ends up at ``dst`` in the output.
    """
    corners = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    t = (np.arange(num_points) + 1.0) / (num_points + 1.0)
    moving = np.stack([t, t], axis=1)
    shift = rng.uniform(-strength, strength, size=moving.shape)
    src = np.concatenate([corners, moving])
    dst = np.concatenate([corners, moving + shift])
    return src, dst


def _odd_step(grid_step: int) -> int:
    return max(1, int(grid_step)) | 1


@functools.lru_cache(maxsize=32)
def _grid_nodes(shape: Tuple[int, int], step: int) -> Tuple[np.ndarray, np.ndarray, int, int]:
    """The coarse grid's nodes in [0, 1] x/y (m, 2), the pixel scale, and the grid's (gh, gw).

    Cached: a dataset has one or a few image sizes, and the nodes depend only on the size.
    """
    h, w = shape
    gh, gw = -(-(h - 1) // step) + 1, -(-(w - 1) // step) + 1
    scale = np.array([max(w - 1, 1), max(h - 1, 1)], np.float64)
    gy, gx = np.meshgrid(np.arange(gh) * step, np.arange(gw) * step, indexing='ij')
    nodes = np.stack([gx.ravel(), gy.ravel()], axis=1) / scale
    nodes.setflags(write=False)
    return nodes, scale, gh, gw


def tps_grid(src: np.ndarray, dst: np.ndarray, shape: Tuple[int, int],
             grid_step: int = 9) -> np.ndarray:
    """The inverse warp map (output pixel -> input position) on a coarse grid.

    Grid node ``(i, j)`` sits on output pixel ``(i * step, j * step)``, ``step`` being
    ``grid_step`` made odd (see :func:`remap_grid`); the last nodes may lie past the border.

    Args:
        src: ``(n, 2)`` source points in [0, 1] x/y.
        dst: ``(n, 2)`` destination points.
        shape: ``(H, W)`` of the image.
        grid_step: Approximate spacing of the grid in pixels.

    Returns:
        ``(gh, gw, 2)`` float32 input x/y pixel positions at the grid nodes.
    """
    nodes, scale, gh, gw = _grid_nodes(tuple(int(s) for s in shape[:2]), _odd_step(grid_step))
    dst = np.asarray(dst, np.float64)
    weights, affine = fit_tps(dst, np.asarray(src, np.float64))
    mapped = eval_tps(nodes, dst, weights, affine) * scale
    return mapped.reshape(gh, gw, 2).astype(np.float32)


def min_area_ratio(grid: np.ndarray, grid_step: int = 9) -> float:
    """Smallest local area scale of a coarse map (<= 0 where the warp folds over itself)."""
    step = float(_odd_step(grid_step))
    d_col = np.diff(grid, axis=1)[:-1] / step
    d_row = np.diff(grid, axis=0)[:, :-1] / step
    det = d_col[..., 0] * d_row[..., 1] - d_col[..., 1] * d_row[..., 0]
    return float(det.min()) if det.size else 1.0


def remap_grid(img: np.ndarray,
               grid: np.ndarray,
               grid_step: int = 9,
               interpolation: int = cv2.INTER_LINEAR,
               border_mode: int = cv2.BORDER_REFLECT_101) -> np.ndarray:
    """Sample ``img`` at a coarse map from :func:`tps_grid`, upsampled bilinearly.

    ``cv2.resize`` by an integer factor ``s`` puts source node ``j`` on output pixel
    ``j * s + (s - 1) / 2``; with ``s`` odd that is a whole pixel, so cropping ``(s - 1) / 2``
    pixels puts node ``j`` exactly on pixel ``j * s``, as :func:`tps_grid` laid them out. This is
    exact bilinear interpolation at OpenCV speed (no BLAS, whose threads crawl in busy
    dataloader workers).
    """
    h, w = img.shape[:2]
    step = _odd_step(grid_step)
    gh, gw = grid.shape[:2]
    dense = cv2.resize(grid, (gw * step, gh * step), interpolation=cv2.INTER_LINEAR)
    off = (step - 1) // 2
    # One contiguous two-channel map: the same samples as separate x / y maps, without the
    # copies OpenCV makes of strided ones.
    dense = np.ascontiguousarray(dense[off:off + h, off:off + w])
    if img.ndim == 3 and img.shape[2] == 3 and img.dtype == np.uint8:
        # OpenCV's 4-channel remap is vectorised better than its 3-channel one: padding with
        # a fourth channel and dropping it gives the same RGB values (tested) in 0.27 ms
        # instead of 0.41 at 256 px.
        rgba = cv2.cvtColor(img, cv2.COLOR_RGB2RGBA)
        out = cv2.remap(rgba, dense, None, interpolation, borderMode=border_mode)
        return cv2.cvtColor(out, cv2.COLOR_RGBA2RGB)
    out = cv2.remap(img, dense, None, interpolation, borderMode=border_mode)
    return out[..., None] if img.ndim == 3 and out.ndim == 2 else out


def tps_warp(img: np.ndarray,
             src: np.ndarray,
             dst: np.ndarray,
             grid_step: int = 9,
             interpolation: int = cv2.INTER_LINEAR,
             border_mode: int = cv2.BORDER_REFLECT_101) -> np.ndarray:
    """Warp ``img`` so that the content at ``src`` moves to ``dst`` (both in [0, 1] x/y).

    The inverse map (output pixel -> input position) is a thin-plate spline fitted from ``dst``
    to ``src``. It is smooth, so it is evaluated on a coarse grid (about every ``grid_step``
    pixels) and upsampled bilinearly; the remap itself is one ``cv2.remap`` call.

    Args:
        img: ``(H, W)`` or ``(H, W, C)`` image.
        src: ``(n, 2)`` source points.
        dst: ``(n, 2)`` destination points.
        grid_step: Spacing of the coarse evaluation grid in pixels (rounded up to odd).
        interpolation: OpenCV interpolation flag.
        border_mode: OpenCV border mode for samples that fall outside the image.

    Returns:
        The warped image, same shape and dtype.
    """
    grid = tps_grid(src, dst, img.shape[:2], grid_step)
    return remap_grid(img, grid, grid_step, interpolation, border_mode)


@TRANSFORMS.register_module()
class TPSWarp(BaseTransform):
    """``reference = TPS(target)``: same colours, pixels moved (training / self-reference).

    Follows the authors: the four corners stay, ``num_points`` points on the diagonal move by up
    to ``strength`` of the image size per axis. Implemented with OpenCV rather than
    albumentations' ``ThinPlateSpline``: evaluating the spline on a coarse grid takes 0.6 ms at
    256 px against 7.7 ms (one core), and the data pipeline is CPU-bound. Draws that would fold
    the image over itself are redrawn slightly weaker (``min_area``).

    A no-op when the dataset already supplied an independent ``reference`` (random-reference
    protocol). Uses ``target`` if present, else ``img`` (pipelines without colour jitter).

    Region labels (``label_keys``): when the sample has pixel labels (``labels``), they are
    warped with the same map, nearest-neighbour, into the reference's labels
    (``reference_labels``), so correspondence diagnostics know the reference's regions.

    Required keys: ``target`` or ``img``. Added keys: ``reference``, and ``reference_labels``
    when ``labels`` is present.

    Args:
        strength: Maximum displacement per axis as a fraction of the image size (authors: 0.25).
        num_points: Number of moving control points.
        prob: Probability to warp (else the reference is an exact copy of the target).
        grid_step: Pixel spacing of the grid the spline is evaluated on (rounded up to odd).
        min_area: Smallest local area scale accepted; draws that squash a region more (or fold
            the image, area <= 0) are redrawn with 0.8 times the strength.
        border_mode: ``'reflect'``, ``'replicate'`` or ``'constant'`` (black).
        src_key: Image to warp (falls back to ``img`` when missing).
        dst_key: Where to write the warped image.
        label_keys: ``(source, destination)`` of the region labels to warp alongside, or
            ``None`` to leave labels alone.
    """

    def __init__(self,
                 strength: float = 0.25,
                 num_points: int = 2,
                 prob: float = 1.0,
                 grid_step: int = 9,
                 min_area: float = 0.2,
                 border_mode: str = 'reflect',
                 src_key: str = 'target',
                 dst_key: str = 'reference',
                 label_keys: Optional[Tuple[str, str]] = ('labels', 'reference_labels')):
        check_choice('border_mode', border_mode, sorted(_BORDERS), 'TPSWarp')
        check_number('strength', strength, 0.0, owner='TPSWarp')
        check_number('num_points', num_points, 0, integer=True, owner='TPSWarp')
        check_number('prob', prob, 0.0, 1.0, owner='TPSWarp')
        self.strength = strength
        self.num_points = num_points
        self.prob = prob
        self.grid_step = grid_step
        self.min_area = min_area
        self.border_mode = border_mode
        self.src_key = src_key
        self.dst_key = dst_key
        self.label_keys = tuple(label_keys) if label_keys else None

    def transform(self, results: dict) -> dict:
        if self.dst_key in results:
            return results
        img = results[self.src_key] if self.src_key in results else results['img']
        rng = sample_rng(results, 'TPSWarp')
        if rng.random() >= self.prob or self.num_points == 0 or self.strength == 0:
            results[self.dst_key] = img.copy()
            self._warp_labels(results, None)
            return results
        grid = self._unfolded_grid(rng, img.shape[:2])
        results[self.dst_key] = remap_grid(
            img, grid, self.grid_step, border_mode=_BORDERS[self.border_mode])
        self._warp_labels(results, grid)
        return results

    def _warp_labels(self, results: dict, grid: Optional[np.ndarray]) -> None:
        # the reference's labels: the same map, nearest (ids must not blend); None: no warp
        if self.label_keys is None or self.label_keys[0] not in results:
            return
        labels = results[self.label_keys[0]]
        if grid is not None:
            # cv2.remap takes int32, not int64; region ids are small
            labels = remap_grid(labels.astype(np.int32), grid, self.grid_step, cv2.INTER_NEAREST,
                                _BORDERS[self.border_mode])
        results[self.label_keys[1]] = labels.astype(np.int64)

    def _unfolded_grid(self, rng: np.random.Generator, shape: Tuple[int, int]) -> np.ndarray:
        # Two independently moved points can cross and fold the image over itself (mirrored
        # content); redraw with a slightly smaller strength until the warp is a fold-free one.
        strength = self.strength
        while True:
            src, dst = random_tps_points(rng, self.num_points, strength)
            grid = tps_grid(src, dst, shape, self.grid_step)
            if min_area_ratio(grid, self.grid_step) >= self.min_area or strength < 1e-3:
                return grid
            strength *= 0.8

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(strength={self.strength}, num_points={self.num_points}, '
                f'prob={self.prob}, border_mode={self.border_mode!r})')
