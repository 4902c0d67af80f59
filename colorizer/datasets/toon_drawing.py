"""Procedural cartoon characters: random geometry, random palette, flat-colour rendering.

Geometry and palette are independent draws, which is what makes the random-reference protocol
checkable: the true colourisation of sketch ``i`` with the reference of ``j`` is
``render(geometry_i, palette_j)``.

A geometry is a list of filled primitives in painter's order, each ``(region, kind, params)``
with coordinates in [0, 1] image units:

- ``('ellipse', dict(center, axes, angle, arc))``: ``arc=(start, end)`` in degrees, a sector;
- ``('poly', dict(points))``: a filled polygon.

A palette is a ``(len(REGIONS), 3)`` uint8 RGB array.
"""
import colorsys
import math
from typing import List, Optional, Tuple

import cv2
import numpy as np

__all__ = ['REGIONS', 'OUTLINE_COLOR', 'sample_geometry', 'sample_palette', 'draw_labels',
           'render_toon']

#: Region names; a label map holds the index of the region of each pixel.
REGIONS = ('background', 'skin', 'hair', 'eyes', 'mouth', 'clothes', 'accessory')
BACKGROUND, SKIN, HAIR, EYES, MOUTH, CLOTHES, ACCESSORY = range(len(REGIONS))

#: Line colour; dark enough that XDoG keeps even thick lines dark (I * I < epsilon).
OUTLINE_COLOR = (16, 12, 20)

_SUBPIXEL_BITS = 4  # OpenCV drawing's fixed-point shift, for sub-pixel smooth shapes

Primitive = Tuple[int, str, dict]


def _ellipse(region, center, axes, angle=0.0, arc=(0.0, 360.0)) -> Primitive:
    return region, 'ellipse', dict(center=center, axes=axes, angle=angle, arc=arc)


def _poly(region, points) -> Primitive:
    return region, 'poly', dict(points=points)


class _HeadFrame:
    """Offsets in a head-centred frame, rotated by the head's tilt, to image coordinates."""

    def __init__(self, cx, cy, rx, ry, tilt):
        self.cx, self.cy, self.rx, self.ry, self.tilt = cx, cy, rx, ry, tilt
        rad = math.radians(tilt)
        self.cos, self.sin = math.cos(rad), math.sin(rad)

    def __call__(self, u: float, v: float) -> Tuple[float, float]:
        """Point at ``(u * rx, v * ry)`` from the head centre in the tilted frame."""
        dx, dy = u * self.rx, v * self.ry
        return (self.cx + dx * self.cos - dy * self.sin, self.cy + dx * self.sin + dy * self.cos)


def _back_hair(rng, f: _HeadFrame, style: str) -> List[Primitive]:
    u = rng.uniform
    ops = []
    if style == 'long':
        bottom = f.cy + f.ry * u(1.5, 2.3)
        spread = f.rx * u(1.25, 1.6)
        ops.append(_poly(HAIR, [f(-1.15, -0.2), f(1.15, -0.2), (f.cx + spread, bottom),
                                (f.cx - spread, bottom)]))
    grow = (1.05, 1.12) if style == 'short' else (1.12, 1.3)
    ops.append(
        _ellipse(HAIR, f(0, -u(0.08, 0.2)), (f.rx * u(*grow), f.ry * u(grow[0], grow[1] - 0.05)),
                 f.tilt))
    return ops


def _body(rng, f: _HeadFrame) -> List[Primitive]:
    u = rng.uniform
    neck_w = f.rx * u(0.3, 0.45)
    top = f.cy + f.ry * u(0.85, 1.05) + u(0.03, 0.07)
    bw, bh = f.rx * u(1.4, 2.1), u(0.22, 0.32)
    bx = f.cx + u(-0.03, 0.03)
    ops = [
        _poly(SKIN, [(f.cx - neck_w, f.cy), (f.cx + neck_w, f.cy), (f.cx + neck_w, top + 0.04),
                     (f.cx - neck_w, top + 0.04)]),
        _ellipse(CLOTHES, (bx, top + bh), (bw, bh), u(-6, 6)),
    ]
    if rng.random() < 0.5:  # a V-neck shows some skin
        depth = u(0.06, 0.14)
        ops.append(_poly(SKIN, [(bx - neck_w * 1.3, top + 0.01), (bx + neck_w * 1.3, top + 0.01),
                                (bx, top + depth)]))
    return ops


def _ears(rng, f: _HeadFrame, style: str) -> List[Primitive]:
    u = rng.uniform
    if style == 'side':
        return [_ellipse(SKIN, f(s * 0.97, 0.05), (f.rx * u(0.16, 0.24), f.ry * u(0.22, 0.3)),
                         f.tilt) for s in (-1, 1)]
    if style == 'animal':
        tip_u, tip_v = u(0.6, 0.95), u(1.25, 1.55)
        return [_poly(HAIR, [f(s * 0.15, -0.8), f(s * 0.85, -0.45), f(s * tip_u, -tip_v)])
                for s in (-1, 1)]
    return []


def _front_hair(rng, f: _HeadFrame, style: str, fringe: float,
                fringe_limit: float) -> List[Primitive]:
    u = rng.uniform
    ops = [_ellipse(HAIR, f(0, fringe), (f.rx * 1.04, f.ry * (1.0 + fringe) + 0.004), f.tilt,
                    (180.0, 360.0))]
    if style == 'spiky':
        n = int(rng.integers(3, 6))
        edges = np.linspace(-0.95, 0.95, n + 1)
        for a, b in zip(edges[:-1], edges[1:]):
            tip = min(fringe + u(0.12, 0.3), fringe_limit + 0.06)  # spikes stop above the eyes
            ops.append(_poly(HAIR, [f(a, fringe - 0.01), f(b, fringe - 0.01), f((a + b) / 2, tip)]))
        for a in np.linspace(-0.6, 0.6, int(rng.integers(2, 4))):
            ops.append(_poly(HAIR, [f(a - 0.3, -0.85), f(a + 0.3, -0.85),
                                    f(a + u(-0.1, 0.1), -u(1.25, 1.45))]))
    elif style in ('bob', 'long'):
        length = u(0.5, 0.95)
        axes = (f.rx * u(0.2, 0.3), f.ry * length * 0.75)
        ops.extend(
            _ellipse(HAIR, f(s * 0.88, fringe + length * 0.5), axes, f.tilt) for s in (-1, 1))
    return ops


def _face(rng, f: _HeadFrame) -> Tuple[List[Primitive], float]:
    """Eyes and mouth, and how low the fringe may reach without covering the eyes."""
    u = rng.uniform
    ex, ey = u(0.32, 0.5), u(0.05, 0.25)
    ax, ay = u(0.11, 0.2), u(0.14, 0.26)
    slant = u(-12, 12)
    eyes = [_ellipse(EYES, f(s * ex, ey), (f.rx * ax, f.ry * ay), f.tilt + s * slant)
            for s in (-1, 1)]
    my = u(0.5, 0.66)
    mouth_axes = (f.rx * u(0.1, 0.28), f.ry * u(0.05, 0.13))
    arc = (0.0, 360.0) if rng.random() < 0.3 else (0.0, 180.0)  # open mouth or smile
    mouth = _ellipse(MOUTH, f(0, my), mouth_axes, f.tilt, arc)
    fringe_limit = ey - ay - 0.08
    return eyes + [mouth], fringe_limit


def _accessory(rng, f: _HeadFrame) -> List[Primitive]:
    u = rng.uniform
    kind = rng.choice(['none', 'bow', 'hat', 'tie'], p=[0.3, 0.3, 0.2, 0.2])
    if kind == 'bow':
        side = rng.choice([-1, 1])
        cx, cy = f(side * u(0.3, 0.6), -u(0.85, 1.0))
        w, h = f.rx * u(0.35, 0.5), f.ry * u(0.2, 0.3)
        return [
            _poly(ACCESSORY, [(cx, cy), (cx - w, cy - h), (cx - w, cy + h)]),
            _poly(ACCESSORY, [(cx, cy), (cx + w, cy - h), (cx + w, cy + h)]),
            _ellipse(ACCESSORY, (cx, cy), (w * 0.3, h * 0.45)),
        ]
    if kind == 'hat':
        brim_v = -u(0.7, 0.85)
        crown = u(0.5, 0.8)
        return [
            _poly(ACCESSORY, [f(-0.75, brim_v), f(0.75, brim_v), f(0.6, brim_v - crown),
                              f(-0.6, brim_v - crown)]),
            _ellipse(ACCESSORY, f(0, brim_v), (f.rx * u(1.35, 1.7), f.ry * u(0.12, 0.2)), f.tilt),
        ]
    if kind == 'tie':
        top = f.cy + f.ry * 1.02 + 0.05
        w, length = f.rx * u(0.15, 0.25), u(0.15, 0.25)
        return [_poly(ACCESSORY, [(f.cx - w, top), (f.cx + w, top), (f.cx + w * 0.6, top + length),
                                  (f.cx, top + length + w), (f.cx - w * 0.6, top + length)])]
    return []


def sample_geometry(rng: np.random.Generator) -> List[Primitive]:
    """Draw a random character's shapes.

    Args:
        rng: Random generator (seed it per index for a deterministic dataset).

    Returns:
        List of ``(region, kind, params)`` primitives in painter's order.
    """
    u = rng.uniform
    rx = u(0.15, 0.21)
    f = _HeadFrame(u(0.38, 0.62), u(0.36, 0.48), rx, rx * u(1.0, 1.22), u(-18, 18))
    hair_style = str(rng.choice(['short', 'long', 'spiky', 'bob']))
    ear_style = str(rng.choice(['none', 'side', 'animal'], p=[0.3, 0.4, 0.3]))
    face, fringe_limit = _face(rng, f)
    fringe = min(-u(0.05, 0.3), fringe_limit)
    return (_back_hair(rng, f, hair_style) + _body(rng, f) + _ears(rng, f, ear_style) +
            [_ellipse(SKIN, (f.cx, f.cy), (f.rx, f.ry), f.tilt)] +
            _front_hair(rng, f, hair_style, fringe, fringe_limit) + face + _accessory(rng, f))


# Per-region (saturation range, value range); hues are uniform.
_PALETTE_RANGES = {
    BACKGROUND: ((0.05, 0.45), (0.78, 1.0)),
    SKIN: ((0.1, 0.5), (0.8, 1.0)),
    HAIR: ((0.35, 1.0), (0.35, 0.95)),
    EYES: ((0.4, 1.0), (0.35, 0.95)),
    MOUTH: ((0.3, 0.9), (0.5, 0.95)),
    CLOTHES: ((0.3, 1.0), (0.35, 1.0)),
    ACCESSORY: ((0.4, 1.0), (0.4, 1.0)),
}
_MIN_GRAY = 70  # keeps regions clearly lighter than the outlines, also under XDoG
_MIN_DISTANCE = 60.0  # RGB distance between any two regions, so every boundary is visible


def _hsv_to_rgb(h: float, s: float, v: float) -> np.ndarray:
    return np.array(colorsys.hsv_to_rgb(h, s, v), np.float32) * 255.0


def sample_palette(rng: np.random.Generator) -> np.ndarray:
    """Draw one flat colour per region.

    Colours are at least ``_MIN_DISTANCE`` apart and lighter than the outlines. Skin takes a
    natural hue 70% of the time, any hue otherwise.

    Args:
        rng: Random generator.

    Returns:
        ``(len(REGIONS), 3)`` uint8 RGB palette.
    """
    colors: List[np.ndarray] = []
    for region in range(len(REGIONS)):
        (s_lo, s_hi), (v_lo, v_hi) = _PALETTE_RANGES[region]
        for _ in range(200):
            hue = rng.uniform(0.02, 0.11) if region == SKIN and rng.random() < 0.7 else rng.random()
            rgb = _hsv_to_rgb(hue, rng.uniform(s_lo, s_hi), rng.uniform(v_lo, v_hi))
            gray = rgb @ np.array([0.299, 0.587, 0.114], np.float32)
            far = all(np.linalg.norm(rgb - c) >= _MIN_DISTANCE for c in colors)
            if gray >= _MIN_GRAY and far:
                break
        colors.append(rgb)
    return np.clip(np.round(np.stack(colors)), 0, 255).astype(np.uint8)


def draw_labels(geometry: List[Primitive], size: int) -> np.ndarray:
    """Rasterise a geometry into a ``(size, size)`` uint8 label map (no anti-aliasing)."""
    labels = np.zeros((size, size), np.uint8)
    scale = size * (1 << _SUBPIXEL_BITS)

    def fixed(p):
        return int(round(p * scale))

    for region, kind, params in geometry:
        if kind == 'ellipse':
            center = tuple(fixed(c) for c in params['center'])
            axes = tuple(max(1, fixed(a)) for a in params['axes'])
            start, end = params['arc']
            cv2.ellipse(labels, center, axes, float(params['angle']), start, end, int(region),
                        -1, cv2.LINE_8, _SUBPIXEL_BITS)
        else:
            pts = np.array([[fixed(x), fixed(y)] for x, y in params['points']], np.int32)
            cv2.fillPoly(labels, [pts], int(region), cv2.LINE_8, _SUBPIXEL_BITS)
    return labels


def _boundaries(labels: np.ndarray, width: int) -> np.ndarray:
    edge = np.zeros(labels.shape, bool)
    horizontal = labels[:, 1:] != labels[:, :-1]
    vertical = labels[1:, :] != labels[:-1, :]
    edge[:, 1:] |= horizontal
    edge[:, :-1] |= horizontal
    edge[1:, :] |= vertical
    edge[:-1, :] |= vertical
    if width > 2:
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (width - 1, width - 1))
        edge = cv2.dilate(edge.astype(np.uint8), kernel).astype(bool)
    return edge


def render_toon(geometry: List[Primitive],
                palette: np.ndarray,
                size: int,
                line_width: Optional[float] = None,
                supersample: int = 2) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Paint a geometry with a palette and draw its outlines.

    Rendering happens at ``supersample`` times the size and is area-averaged down, so edges are
    anti-aliased; the label map is sampled at the pixel centres and keeps exact region ids.

    Args:
        geometry: From :func:`sample_geometry`.
        palette: From :func:`sample_palette`.
        size: Output side length in pixels.
        line_width: Outline width in output pixels; default ``max(1, size / 64)``.
        supersample: Rendering resolution factor.

    Returns:
        ``(image (size, size, 3) uint8 RGB, labels (size, size) int64, outline sketch
        (size, size) uint8 with 255 background and dark lines)``.
    """
    big = size * supersample
    line_width = max(1.0, size / 64) if line_width is None else line_width
    labels = draw_labels(geometry, big)
    edge = _boundaries(labels, max(2, int(round(line_width * supersample))))
    color = palette[labels]
    color[edge] = OUTLINE_COLOR
    image = cv2.resize(color, (size, size), interpolation=cv2.INTER_AREA)
    ink = cv2.resize(edge.astype(np.float32), (size, size), interpolation=cv2.INTER_AREA)
    sketch = np.clip(255.0 * (1.0 - ink) + 0.5, 0, 255).astype(np.uint8)
    center = supersample // 2
    small_labels = labels[center::supersample, center::supersample].astype(np.int64)
    return image, small_labels, sketch
