"""Rendering SVG text with resvg, and decoding crisp label renderings into label maps.

resvg (the ``resvg_py`` binding) renders with or without antialiasing
(``shape-rendering: crispEdges``); without it every pixel of a label rendering is exactly one
shape's paint, which :func:`decode_labels` turns back into the shape's id.
"""
from typing import Optional

import cv2
import numpy as np

from .svg_line_art import BACKGROUND_LABEL, INK_LABEL, SvgRejected

__all__ = ['render_svg', 'decode_labels']


def render_svg(svg: str, crisp: bool = False,
               background: Optional[str] = 'white') -> np.ndarray:
    """Render SVG text with resvg.

    Args:
        svg: SVG text whose root has its size in px (see :func:`parse_drawing`).
        crisp: Render without antialiasing (for label maps).
        background: Colour behind the drawing, or ``None`` for transparent.

    Returns:
        ``(H, W, 4)`` uint8 RGBA.

    Raises:
        SvgRejected: resvg cannot render it (``'render_error'``).
    """
    import resvg_py  # imported here: only conversion needs the renderer
    try:
        png = resvg_py.svg_to_bytes(
            svg_string=svg, background=background, skip_system_fonts=True,
            shape_rendering='crisp_edges' if crisp else 'geometric_precision')
    except BaseException as error:  # noqa: B036 (the Rust binding raises PanicException)
        if isinstance(error, (KeyboardInterrupt, SystemExit)):
            raise
        raise SvgRejected('render_error', str(error)[:200]) from None
    image = cv2.imdecode(np.frombuffer(bytes(png), np.uint8), cv2.IMREAD_UNCHANGED)
    if image is None or image.ndim != 3 or image.shape[2] != 4:
        raise SvgRejected('render_error', 'resvg returned no RGBA image')
    return cv2.cvtColor(image, cv2.COLOR_BGRA2RGBA)


def decode_labels(rgba: np.ndarray, known: set) -> np.ndarray:
    """Label map from a crisp label rendering: transparent is background, else ``#RRGGBB``.

    Args:
        rgba: ``(H, W, 4)`` uint8 rendering of a drawing's ``label_svg``.
        known: The region labels the drawing has.

    Returns:
        ``(H, W)`` uint16 labels (:data:`BACKGROUND_LABEL`, region ids, :data:`INK_LABEL`).

    Raises:
        SvgRejected: a pixel is partly transparent or decodes to no known label
            (``'label_blend'``: something was still antialiased or blended).
    """
    alpha = rgba[..., 3]
    if np.any((alpha > 0) & (alpha < 255)):
        raise SvgRejected('label_blend', 'partly transparent label pixels')
    rgb = rgba[..., :3].astype(np.int64)
    code = (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]
    code[alpha == 0] = BACKGROUND_LABEL
    valid = set(known) | {BACKGROUND_LABEL, INK_LABEL}
    unknown = set(np.unique(code).tolist()) - valid
    if unknown:
        raise SvgRejected('label_blend', f'{len(unknown)} unknown label colours')
    return code.astype(np.uint16)
