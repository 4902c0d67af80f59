"""Small hand-written SVG drawings for the line-art converter tests (no Debian package needed).

Every shape sits on whole pixels of a 32 x 32 user space rendered at 32 px, so antialiased and
crisp renderings are both exact and the expected images can be written down with numpy.
"""
import numpy as np

HEAD = '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '


def svg(body: str, root: str = 'viewBox="0 0 32 32" width="32" height="32"') -> bytes:
    return (HEAD + root + '>' + body + '</svg>').encode()


#: A red square with a black 2-px stroke and a blue square with a dark-green (ink) stroke.
STROKES = svg(
    '<rect x="4" y="4" width="10" height="10" fill="#ff0000" stroke="#000000" stroke-width="2"/>'
    '<g style="fill:#0000ff"><rect x="18" y="18" width="10" height="10" fill="#00ff00" '
    'stroke="#003300" stroke-width="2"/></g>')


def strokes_expected():
    """(colour, line, labels) of :data:`STROKES`: regions 1 (red) and 2 (green: the child's own
    attribute wins over the fill it would inherit from the group's style)."""
    color = np.full((32, 32, 3), 255, np.uint8)
    line = np.full((32, 32), 255, np.uint8)
    labels = np.zeros((32, 32), np.uint16)
    color[3:15, 3:15] = (0, 0, 0)
    color[5:13, 5:13] = (255, 0, 0)
    color[17:29, 17:29] = (0, 0x33, 0)
    color[19:27, 19:27] = (0, 255, 0)
    line[3:15, 3:15] = 0
    line[5:13, 5:13] = 255
    line[17:29, 17:29] = 0
    line[19:27, 19:27] = 255
    labels[3:15, 3:15] = 65535
    labels[5:13, 5:13] = 1
    labels[17:29, 17:29] = 65535
    labels[19:27, 19:27] = 2
    return color, line, labels


#: An outline drawn as a dark shape (an Inkscape-style filled ring), a yellow fill on top of it,
#: and a spot black (a solid black pupil) on the yellow.
OUTLINE_FILL = svg(
    '<rect x="2" y="2" width="28" height="28" style="fill:#1a1a1a;stroke:none"/>'
    '<rect x="4" y="4" width="24" height="24" fill="#ffff00"/>'
    '<rect x="12" y="12" width="4" height="4"/>')


def outline_expected(spot_blacks: bool = True):
    """(colour, line, labels) of :data:`OUTLINE_FILL`."""
    color = np.full((32, 32, 3), 255, np.uint8)
    color[2:30, 2:30] = 0x1a
    color[4:28, 4:28] = (255, 255, 0)
    color[12:16, 12:16] = 0
    line = np.full((32, 32), 255, np.uint8)
    line[2:30, 2:30] = 0
    line[4:28, 4:28] = 255
    labels = np.zeros((32, 32), np.uint16)
    labels[2:30, 2:30] = 65535
    labels[4:28, 4:28] = 1
    if spot_blacks:
        line[12:16, 12:16] = 0
        labels[12:16, 12:16] = 65535
    else:  # the dark fills are regions (ring 1, yellow 2, pupil 3), and no ink is left
        line[:] = 255
        labels[2:30, 2:30] = 1
        labels[4:28, 4:28] = 2
        labels[12:16, 12:16] = 3
    return color, line, labels


#: A two-colour gradient fill (a region whose colour is measured) and a one-colour gradient
#: (a flat fill), each with a black stroke.
GRADIENTS = svg(
    '<defs><linearGradient id="two"><stop offset="0" stop-color="#ff0000"/>'
    '<stop offset="1" stop-color="#0000ff"/></linearGradient>'
    '<linearGradient id="one"><stop offset="0" style="stop-color:#00ff00"/></linearGradient>'
    '<linearGradient id="ref" xlink:href="#one"/></defs>'
    '<rect x="2" y="2" width="12" height="12" fill="url(#two)" stroke="black" stroke-width="2"/>'
    '<rect x="18" y="18" width="12" height="12" fill="url(#ref)" stroke="black"'
    ' stroke-width="2"/>')

TEXT = svg('<text x="4" y="20">hi</text>')
USE_CLONE = svg('<defs><rect id="r" width="4" height="4" fill="red"/></defs>'
                '<use xlink:href="#r" x="8" y="8"/>')
#: A red square half covered by a translucent shadow (a group at opacity 0.5), and a blue square
#: inside a ``<switch>`` after an editor's private ``<foreignObject>``.
HALF_TRANSPARENT = svg(
    '<rect x="4" y="4" width="8" height="8" fill="red" stroke="#000" stroke-width="2"/>'
    '<g opacity="0.5"><rect x="8" y="4" width="8" height="8" fill="#000080"/></g>'
    '<switch><foreignObject requiredExtensions="http://example.org/x" width="1" height="1"/>'
    '<g><rect x="20" y="20" width="8" height="8" fill="blue"/></g></switch>')
#: An invisible hit area (fill-opacity 0) over a red square: the hit area is ignored.
INVISIBLE = svg('<rect x="4" y="4" width="8" height="8" fill="red"/>'
                '<rect x="0" y="0" width="32" height="32" fill="blue" fill-opacity="0"/>')
#: Sized in pt without a viewBox (resvg alone refuses such sizes).
PT_SIZED = svg('<rect x="0" y="0" width="24" height="24" fill="red"/>',
               root='width="24pt" height="24pt"')
def squares(colours) -> bytes:
    """Four 16-px squares of the given colours with 2-px black outlines, 40 x 40 px."""
    return svg(''.join(
        f'<rect x="{x}" y="{y}" width="16" height="16" fill="{c}" stroke="#000" '
        f'stroke-width="2"/>' for (x, y), c in zip(((2, 2), (22, 2), (2, 22), (22, 22)), colours)),
        root='viewBox="0 0 40 40" width="40" height="40"')


#: Four coloured squares with black outlines, two of them the same red: passes every gate.
FOUR_SQUARES = squares(('#ff0000', '#00aa00', '#0000ff', '#ff0000'))
