"""Tell line art from a colour picture, so a picture passed as a sketch is reported.

The model reads its sketch as gray line art: a colour picture given without
``sketch_is_color=True`` (CLI: ``--extract-sketch``) becomes a gray photo to the model, which has
only ever seen XDoG lines, and the output is junk. Line art is mostly near-white paper with thin
dark lines and little colour; a picture has colour or large dark areas. Two shares measure that:

- ``saturated``: pixels whose chroma (max - min of R, G, B) exceeds :data:`CHROMA_THRESHOLD`;
  paper, pencil and ink are nearly gray, coloured pencil lines are too thin to count;
- ``bright``: pixels whose luma is at least :data:`BRIGHT_THRESHOLD` (paper).

An image is taken for a picture when more than :data:`MAX_SATURATED_SHARE` of it is saturated or
less than :data:`MIN_BRIGHT_SHARE` of it is bright. Pale, nearly gray pictures on white pass as
sketches (the check errs towards silence); the thresholds are checked against XDoG sketches, the
embedded cartoons' outlines and colour renderings in ``tests/test_apis/test_sketch_check.py``.
"""
from dataclasses import dataclass

import cv2
import numpy as np

__all__ = ['SketchCheck', 'ColorSketchWarning']

#: Chroma (0-255) above which a pixel counts as coloured.
CHROMA_THRESHOLD = 48
#: Luma (0-255) from which a pixel counts as paper.
BRIGHT_THRESHOLD = 200
#: Largest share of coloured pixels in line art.
MAX_SATURATED_SHARE = 0.20
#: Smallest share of paper pixels in line art.
MIN_BRIGHT_SHARE = 0.4
#: Longest side the check looks at (a downscaled copy: the shares barely change, and a large
#: photo is checked in milliseconds).
_CHECK_SIDE = 256


class ColorSketchWarning(UserWarning):
    """A sketch looks like a colour picture but was not marked as one."""


@dataclass(frozen=True)
class SketchCheck:
    """How much of an image is coloured and how much is paper.

    Attributes:
        saturated: Share of pixels with chroma above :data:`CHROMA_THRESHOLD`, in [0, 1].
        bright: Share of pixels with luma at least :data:`BRIGHT_THRESHOLD`, in [0, 1].
    """

    saturated: float
    bright: float

    @classmethod
    def measure(cls, rgb: np.ndarray) -> 'SketchCheck':
        """Measure an ``(H, W, 3)`` uint8 RGB image (or an ``(H, W)`` gray one)."""
        if rgb.ndim == 2:
            rgb = np.repeat(rgb[..., None], 3, axis=2)
        h, w = rgb.shape[:2]
        scale = _CHECK_SIDE / max(h, w)
        if scale < 1:
            rgb = cv2.resize(rgb, (max(1, round(w * scale)), max(1, round(h * scale))),
                             interpolation=cv2.INTER_AREA)
        chroma = rgb.max(axis=2).astype(np.int16) - rgb.min(axis=2)
        luma = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)
        return cls(float((chroma > CHROMA_THRESHOLD).mean()),
                   float((luma >= BRIGHT_THRESHOLD).mean()))

    @property
    def looks_like_color_picture(self) -> bool:
        """Too much colour, or too little paper, for line art."""
        return self.saturated > MAX_SATURATED_SHARE or self.bright < MIN_BRIGHT_SHARE

    def message(self, what: str, remedy: str = 'sketch_is_color=True') -> str:
        """The warning text for an input described as ``what``; ``remedy`` is the option that
        extracts the lines (the API's argument, or a command-line flag)."""
        return (f'{what} looks like a colour picture, not line art ({self.saturated:.0%} of it '
                f'coloured, {self.bright:.0%} paper-white; line art is mostly white paper with '
                'dark lines): the model reads it as gray lines and the result will be poor. '
                f'Pass {remedy} to draw its lines with XDoG first.')
