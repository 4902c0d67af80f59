"""Line art, colour image and exact region labels from one flat-coloured SVG drawing.

Clip art draws its outlines as strokes or as thin dark shapes and its colours as flat fills.
Rewriting the fills and strokes of every shape and rendering three times gives, exactly:

- the colour image (the SVG as drawn);
- the line art alone: fills painted white, ink (dark strokes, dark shapes) painted black, so the
  artist's own lines stay, with their varying width and antialiasing, and colour changes the
  artist left undrawn stay undrawn;
- the region labels: every fill shape painted with a colour encoding its id, rendered without
  antialiasing (``shape-rendering: crispEdges``), so every pixel decodes to exactly one id.

Paint resolution follows SVG 1.1 (section 11, "Painting"): ``fill``, ``stroke``, their opacities
and ``color`` are inherited, a ``style`` declaration wins over the presentation attribute, the
default fill is black and the default stroke none. Drawings using what this module cannot make
exact (text, bitmaps, patterns, masks, filters, CSS style sheets, ``<use>`` clones) are
rejected by :func:`parse_drawing` with a reason, before any rendering.

Rendering: :mod:`.svg_rendering` (resvg, which also renders without antialiasing).

One file of a little over 400 lines, on purpose: SVG paint resolution (inheritance, style
declarations, gradients) and the rejection rules decide together what counts as ink, fill or
reason to reject, and read best side by side.
"""
import re
from typing import Dict, List, Optional, Tuple
import xml.etree.ElementTree as ET

import numpy as np

__all__ = [
    'SvgRejected', 'Drawing', 'Region', 'parse_drawing', 'parse_color', 'INK_LABEL',
    'BACKGROUND_LABEL', 'DARK_VALUE'
]

SVG_NS = 'http://www.w3.org/2000/svg'
XLINK_NS = 'http://www.w3.org/1999/xlink'
ET.register_namespace('', SVG_NS)
ET.register_namespace('xlink', XLINK_NS)

#: Label of pixels no shape covers (the paper).
BACKGROUND_LABEL = 0
#: Label of ink pixels (lines and spot blacks) in the stored 16-bit label map.
INK_LABEL = 65535
#: Paint whose brightest channel (HSV value, 0-255) is below this is ink, not colour. The value,
#: not the luma: a saturated blue (luma 29) is a colour, a dark brown outline (value 43) is ink.
DARK_VALUE = 80

_SHAPES = {'path', 'rect', 'circle', 'ellipse', 'polygon', 'polyline', 'line'}
# Containers whose children are not drawn where they stand.
_NOT_DRAWN = {'defs', 'clipPath', 'mask', 'symbol', 'marker', 'pattern', 'linearGradient',
              'radialGradient', 'metadata', 'title', 'desc', 'filter', 'namedview'}
# Elements whose presence makes the drawing inexact, with the rejection reason.
_REJECTED_ELEMENTS = {
    'text': 'text', 'flowRoot': 'text', 'image': 'bitmap', 'pattern': 'pattern',
    'mask': 'mask', 'filter': 'filter', 'style': 'css', 'use': 'use_clone', 'marker': 'marker',
    'script': 'script'
}
# Not rejected: ``<switch>`` (editors wrap their private data in it; resvg draws the same child
# in all three renderings) and ``<foreignObject>`` (resvg draws none, in any rendering).
_INHERITED = ('fill', 'stroke', 'fill-opacity', 'stroke-opacity', 'stroke-width', 'color',
              'visibility')
_PAINT_PROPS = ('fill', 'stroke', 'fill-opacity', 'stroke-opacity', 'opacity', 'color',
                'shape-rendering')
_UNITS = {'': 1.0, 'px': 1.0, 'pt': 4.0 / 3.0, 'pc': 16.0, 'mm': 96.0 / 25.4,
          'cm': 96.0 / 2.54, 'in': 96.0}
_LENGTH = re.compile(r'^\s*([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*([a-z%]*)\s*$')
_URL = re.compile(r'^url\(\s*[\'"]?#([^)\'"]+)[\'"]?\s*\)')


class SvgRejected(ValueError):
    """The drawing cannot give exact line art and labels; ``reason`` is a short key."""

    def __init__(self, reason: str, detail: str = ''):
        super().__init__(f'{reason}: {detail}' if detail else reason)
        self.reason = reason


def _local(tag) -> str:
    return tag.rsplit('}', 1)[-1] if isinstance(tag, str) else ''


def _named_colors() -> Dict[str, str]:
    # The CSS colour keywords (SVG 1.1 section 4.4), from matplotlib, a dependency already.
    from matplotlib.colors import CSS4_COLORS
    return {name.lower(): value for name, value in CSS4_COLORS.items()}


_NAMED: Dict[str, str] = {}


def parse_color(text: str) -> Optional[Tuple[int, int, int]]:
    """An SVG colour (``#rgb``, ``#rrggbb``, ``rgb(...)``, a keyword) as RGB 0-255, else ``None``.

    Args:
        text: The colour as written.

    Returns:
        ``(r, g, b)`` ints, or ``None`` when ``text`` is not a colour this parser knows.
    """
    text = text.strip().lower()
    if not _NAMED:
        _NAMED.update(_named_colors())
    text = _NAMED.get(text, text).lower()
    if re.fullmatch(r'#[0-9a-f]{3}', text):
        return tuple(int(c * 2, 16) for c in text[1:])
    if re.fullmatch(r'#[0-9a-f]{6}', text):
        return tuple(int(text[i:i + 2], 16) for i in (1, 3, 5))
    match = re.fullmatch(r'rgb\(([^)]*)\)', text)
    if match:
        parts = [p.strip() for p in match.group(1).split(',')]
        if len(parts) != 3:
            return None
        try:
            values = [float(p[:-1]) * 255 / 100 if p.endswith('%') else float(p) for p in parts]
        except ValueError:
            return None
        return tuple(int(round(min(max(v, 0.0), 255.0))) for v in values)
    return None


def value(rgb) -> int:
    """HSV value (brightest channel, 0-255) of an RGB colour."""
    return max(rgb)


def _style(element) -> Dict[str, str]:
    props = {}
    for item in (element.get('style') or '').split(';'):
        if ':' in item:
            key, value = item.split(':', 1)
            props[key.strip()] = value.strip()
    return props


def _props(element) -> Dict[str, str]:
    props = {k: v for k, v in element.attrib.items() if '}' not in k}
    props.update(_style(element))  # a style declaration wins over the attribute
    return props


def _opacity(text: Optional[str], where: str) -> float:
    if text is None or text == 'inherit':
        return 1.0
    try:
        return float(text[:-1]) / 100.0 if text.endswith('%') else float(text)
    except ValueError:
        raise SvgRejected('bad_value', f'{where} opacity {text!r}') from None


def _opaque(paint, opacity: float, name: str, transparent: str) -> Tuple[object, bool]:
    """``(paint, dropped)``: an invisible paint (opacity ~ 0, e.g. editors' hit areas) is none;
    a partly transparent one (shadows, highlights) is neither line nor region: dropped from the
    line art and the labels (``transparent='drop'``) or the drawing is rejected."""
    if paint is None or opacity < 0.01:
        return None, False
    if opacity < 0.999 or paint == 'transparent':
        if transparent == 'reject':
            raise SvgRejected('transparency', f'<{name}> opacity {opacity:.2f}')
        return None, True
    return paint, False


class Region:
    """One fill shape (or coloured stroke) of a drawing.

    Attributes:
        label: Id in the label map (1 ... 65534).
        color: Its flat RGB colour, or ``None`` for a gradient (measured after rendering).
        kind: ``'fill'`` or ``'stroke'``.
    """

    def __init__(self, label: int, color: Optional[Tuple[int, int, int]], kind: str):
        self.label, self.color, self.kind = label, color, kind

    @property
    def gradient(self) -> bool:
        """Whether the region is painted with a (non-flat) gradient."""
        return self.color is None


class Drawing:
    """A parsed SVG, resized to a square of ``size`` px, and its three rewritten versions.

    Attributes:
        color_svg: The drawing as drawn (only its size set), SVG text.
        line_svg: Fills white, ink black.
        label_svg: Region ``k`` painted ``#RRGGBB = k``, ink ``#00ffff``, no antialiasing.
        regions: The regions, by label.
        creator: The ``dc:creator`` of the RDF metadata, or ``''``.
        license: The ``cc:license`` resource of the metadata, or ``''``.
    """

    def __init__(self, color_svg: str, line_svg: str, label_svg: str,
                 regions: Dict[int, Region], creator: str, license: str):
        self.color_svg, self.line_svg, self.label_svg = color_svg, line_svg, label_svg
        self.regions, self.creator, self.license = regions, creator, license
        #: Partly transparent fills and strokes left out of the line art and the labels.
        self.dropped = 0


def _length(text: Optional[str]) -> Optional[float]:
    if text is None:
        return None
    match = _LENGTH.match(text)
    if not match or match.group(2) not in _UNITS:
        return None
    return float(match.group(1)) * _UNITS[match.group(2)]


def _set_size(root, size: int) -> None:
    """Set the root to ``size`` x ``size`` px, the drawing centred (resvg needs px sizes)."""
    if root.get('viewBox') is None:
        width, height = _length(root.get('width')), _length(root.get('height'))
        if not width or not height or width <= 0 or height <= 0:
            raise SvgRejected('no_size', f"width={root.get('width')!r} "
                              f"height={root.get('height')!r}, no viewBox")
        root.set('viewBox', f'0 0 {width:g} {height:g}')
    root.set('width', str(size))
    root.set('height', str(size))
    root.set('preserveAspectRatio', 'xMidYMid meet')


def _gradient_colors(element, ids: Dict[str, ET.Element]) -> List[Tuple[int, int, int]]:
    """The stop colours of a gradient, following ``xlink:href`` templates."""
    seen = set()
    while element is not None and id(element) not in seen:
        seen.add(id(element))
        stops = [s for s in element if _local(s.tag) == 'stop']
        if stops:
            colors = []
            for stop in stops:
                props = _props(stop)
                if _opacity(props.get('stop-opacity'), 'stop') < 0.999:
                    return ['transparent']
                rgb = parse_color(props.get('stop-color', 'black'))
                if rgb is None:
                    raise SvgRejected('bad_value', f"stop-color {props.get('stop-color')!r}")
                colors.append(rgb)
            return colors
        href = element.get(f'{{{XLINK_NS}}}href') or element.get('href') or ''
        element = ids.get(href[1:]) if href.startswith('#') else None
    return []


def _paint(text: Optional[str], color: str, ids: Dict[str, ET.Element]):
    """Resolve a paint: ``None`` (none), an RGB tuple, or ``'gradient'`` with its mean colour."""
    if text is None or text == 'none':
        return None, None
    if text == 'currentColor':
        text = color
    match = _URL.match(text)
    if match:
        target = ids.get(match.group(1))
        if target is None:  # a dangling reference paints the fallback, or nothing
            rest = text[match.end():].strip()
            return _paint(rest or 'none', color, ids)
        if _local(target.tag) not in ('linearGradient', 'radialGradient'):
            raise SvgRejected('pattern', f'paint server <{_local(target.tag)}>')
        colors = _gradient_colors(target, ids)
        if not colors:
            return None, None
        if colors == ['transparent']:
            return 'transparent', None
        if all(c == colors[0] for c in colors):
            return colors[0], None  # a one-colour gradient is a flat fill
        mean = tuple(int(round(v)) for v in np.mean(colors, axis=0))
        return 'gradient', mean
    rgb = parse_color(text)
    if rgb is None:
        raise SvgRejected('bad_value', f'paint {text!r}')
    return rgb, None


def _reject_elements(root) -> None:
    for element in root.iter():
        name = _local(element.tag)
        if name in _REJECTED_ELEMENTS:
            raise SvgRejected(_REJECTED_ELEMENTS[name], f'<{name}>')
        props = _props(element)
        for key, reason in (('mask', 'mask'), ('filter', 'filter')):
            if props.get(key, 'none') not in ('none', ''):
                raise SvgRejected(reason, f'{key} attribute')


def _metadata(root) -> Tuple[str, str]:
    creator = license = ''
    for element in root.iter():
        name = _local(element.tag)
        if name == 'creator' and not creator:
            creator = ' '.join(t.strip() for t in element.itertext() if t.strip())
        elif name == 'license' and not license:
            license = next((v for k, v in element.attrib.items() if k.endswith('resource')), '')
    return creator, license


def parse_drawing(svg: bytes, size: int = 256, spot_blacks: bool = True,
                  dark_value: int = DARK_VALUE, transparent: str = 'drop') -> Drawing:
    """Parse an SVG and write its colour, line-art and label versions.

    Every drawn shape is classified by its resolved paint: a fill darker than ``dark_value``
    (brightest channel) is ink when ``spot_blacks`` (solid black areas and outline shapes stay
    lines), else a region; any other fill is a region of its own; a stroke darker than
    ``dark_value`` is ink, a lighter one a region of its own.

    Args:
        svg: The file's bytes.
        size: Side of the square renderings in px (the drawing is fitted and centred).
        spot_blacks: Keep dark fills as ink (default) instead of making them regions.
        dark_value: HSV value (0-255) under which a paint is ink.
        transparent: ``'drop'`` partly transparent paints from the line art and the labels
            (they are neither line nor region; the colour image keeps them), or ``'reject'``
            the drawing.

    Returns:
        The :class:`Drawing`.

    Raises:
        SvgRejected: the file is not well-formed SVG (``'parse_error'``), uses something that
            cannot be made exact (``'text'``, ``'bitmap'``, ``'pattern'``, ``'mask'``,
            ``'filter'``, ``'css'``, ``'use_clone'``, ``'transparency'`` if ``transparent`` is
            ``'reject'``, ...), or has more
            regions than a 16-bit label map holds (``'too_many_shapes'``).
    """
    try:
        root = ET.fromstring(svg)
    except ET.ParseError as error:
        raise SvgRejected('parse_error', str(error)) from None
    if _local(root.tag) != 'svg':
        raise SvgRejected('parse_error', f'root element <{_local(root.tag)}>')
    _reject_elements(root)
    _set_size(root, size)
    ids = {e.get('id'): e for e in root.iter() if e.get('id')}
    creator, license = _metadata(root)
    color_svg = ET.tostring(root, encoding='unicode')

    line_root, label_root = ET.fromstring(color_svg), ET.fromstring(color_svg)
    if transparent not in ('drop', 'reject'):
        raise ValueError(f"transparent must be 'drop' or 'reject', got {transparent!r}")
    regions: Dict[int, Region] = {}
    dropped = [0]
    ink_label = f'#{INK_LABEL:06x}'

    def new_region(color, kind) -> str:
        label = len(regions) + 1
        if label >= INK_LABEL:
            raise SvgRejected('too_many_shapes', f'more than {INK_LABEL - 1} regions')
        regions[label] = Region(label, color, kind)
        return f'#{label:06x}'

    def classify(paint, mean, kind):
        """(line-art paint, label paint) of one fill or stroke."""
        if paint is None:
            return 'none', 'none'
        rgb = mean if paint == 'gradient' else paint
        if value(rgb) < dark_value and (spot_blacks or kind == 'stroke'):
            return '#000000', ink_label
        return '#ffffff', new_region(None if paint == 'gradient' else paint, kind)

    # The three trees have the same structure: walk them in step.
    def walk(element, line_el, label_el, inherited, opacity):
        name = _local(element.tag)
        if name in _NOT_DRAWN:
            return
        props = _props(element)
        if props.get('display') == 'none':
            return
        state = dict(inherited)
        for key in _INHERITED:
            if key in props and props[key] != 'inherit':
                state[key] = props[key]
        opacity *= _opacity(props.get('opacity'), f'<{name}>')
        for el in (line_el, label_el):
            style = {k: v for k, v in _style(el).items() if k not in _PAINT_PROPS}
            el.set('style', ';'.join(f'{k}:{v}' for k, v in style.items()))
            # every paint left is opaque: group opacities would only blend label colours
            for key in ('shape-rendering', 'opacity'):
                el.attrib.pop(key, None)
        if name in _SHAPES and state.get('visibility', 'visible') == 'visible':
            fill, fill_mean = _paint(state.get('fill', 'black'), state.get('color', 'black'), ids)
            stroke, stroke_mean = _paint(state.get('stroke', 'none'),
                                         state.get('color', 'black'), ids)
            width = _length(state.get('stroke-width', '1'))
            if width is not None and width <= 0:
                stroke = None
            fill, fill_dropped = _opaque(
                fill, opacity * _opacity(state.get('fill-opacity'), 'fill'), name, transparent)
            stroke, stroke_dropped = _opaque(
                stroke, opacity * _opacity(state.get('stroke-opacity'), 'stroke'), name,
                transparent)
            dropped[0] += fill_dropped + stroke_dropped
            line_fill, label_fill = classify(fill, fill_mean, 'fill')
            line_stroke, label_stroke = classify(stroke, stroke_mean, 'stroke')
            for el, f, s in ((line_el, line_fill, line_stroke),
                             (label_el, label_fill, label_stroke)):
                el.set('fill', f)
                el.set('stroke', s)
                el.set('fill-opacity', '1')
                el.set('stroke-opacity', '1')
        for child, line_child, label_child in zip(element, line_el, label_el):
            walk(child, line_child, label_child, state, opacity)

    walk(ET.fromstring(color_svg), line_root, label_root, {}, 1.0)
    label_root.set('shape-rendering', 'crispEdges')
    drawing = Drawing(color_svg, ET.tostring(line_root, encoding='unicode'),
                      ET.tostring(label_root, encoding='unicode'), regions, creator, license)
    drawing.dropped = dropped[0]
    return drawing
