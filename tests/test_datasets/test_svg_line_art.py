"""The SVG line-art converter: exact images and labels on hand-written drawings, rejections."""
import json

import numpy as np
import pytest

from colorizer.datasets.line_art_conversion import convert_folder, convert_svg, scan_svgs
from colorizer.datasets.line_art_gates import GateThresholds, failed_gates, measure_drawing
from colorizer.datasets.svg_line_art import SvgRejected, parse_color, parse_drawing
from colorizer.datasets.svg_rendering import decode_labels
import line_art_svgs as svgs

ANY = GateThresholds(min_regions=1, min_saturation=0.0, ink_range=(0.0, 1.0),
                     max_gradient_share=1.0, min_lined_share=0.0)


def _convert(svg, size=32, **kwargs):
    result = convert_svg(svg, size, thresholds=ANY, **kwargs)
    assert result['status'] == 'accepted', result
    return result


def test_strokes_give_exact_colour_line_and_labels():
    result = _convert(svgs.STROKES)
    color, line, labels = svgs.strokes_expected()
    np.testing.assert_array_equal(result['color'], color)
    np.testing.assert_array_equal(result['line'], line)
    np.testing.assert_array_equal(result['labels'], labels)
    assert result['labels'].dtype == np.uint16
    regions = {r['label']: r for r in result['meta']['regions']}
    assert regions[1]['color'] == '#ff0000' and regions[2]['color'] == '#00ff00'
    assert regions[1]['pixels'] == 64 and not regions[1]['gradient']
    assert result['meta']['colors'] == ['#00ff00', '#ff0000']
    assert [regions[k]['color_index'] for k in (1, 2)] == [1, 0]


@pytest.mark.parametrize('spot_blacks', [True, False])
def test_dark_outline_shapes_and_spot_blacks(spot_blacks):
    result = _convert(svgs.OUTLINE_FILL, spot_blacks=spot_blacks)
    color, line, labels = svgs.outline_expected(spot_blacks)
    np.testing.assert_array_equal(result['color'], color)
    np.testing.assert_array_equal(result['line'], line)
    np.testing.assert_array_equal(result['labels'], labels)


def test_gradients_measured_and_one_colour_gradient_is_flat():
    result = _convert(svgs.GRADIENTS)
    regions = {r['label']: r for r in result['meta']['regions']}
    assert regions[1]['gradient'] and not regions[2]['gradient']
    assert regions[2]['color'] == '#00ff00'
    inside = result['labels'] == 1
    assert inside.sum() == 100  # the 12-px square less the inner half of its 2-px stroke
    # the measured colour is the rendered median, between the two stops
    median = np.median(result['color'][inside], axis=0).astype(int)
    assert regions[1]['color'] == '#%02x%02x%02x' % tuple(median)
    assert result['stats']['gradient_share'] == pytest.approx(100 / 200)
    assert result['failed'] == []


@pytest.mark.parametrize('svg, reason', [
    (svgs.TEXT, 'text'), (svgs.USE_CLONE, 'use_clone'),
    (b'<svg', 'parse_error'),
    (svgs.svg('', root='width="100%"'), 'no_size')])
def test_inexact_drawings_rejected_before_rendering(svg, reason):
    with pytest.raises(SvgRejected) as info:
        parse_drawing(svg, 32)
    assert info.value.reason == reason
    assert convert_svg(svg, 32)['reason'] == reason


def test_translucent_shapes_left_out_of_line_art_and_labels():
    result = _convert(svgs.HALF_TRANSPARENT)
    labels, line = result['labels'], result['line']
    expected = np.zeros((32, 32), np.uint16)
    expected[3:13, 3:13] = 65535
    expected[5:11, 5:11] = 1
    expected[20:28, 20:28] = 2  # the dropped shadow took no id
    np.testing.assert_array_equal(labels, expected)
    np.testing.assert_array_equal(line, np.where(expected == 65535, 0, 255))
    assert result['meta']['dropped_transparent'] == 1
    # the colour image keeps the shadow: half of navy over white and over the red square
    assert np.abs(result['color'][8, 14].astype(int) - (127.5, 127.5, 191.5)).max() <= 1
    assert np.abs(result['color'][8, 9].astype(int) - (127.5, 0, 64)).max() <= 1
    with pytest.raises(SvgRejected, match='transparency'):
        parse_drawing(svgs.HALF_TRANSPARENT, 32, transparent='reject')


def test_invisible_shapes_ignored_and_pt_sizes_rendered():
    result = _convert(svgs.INVISIBLE)
    assert set(np.unique(result['labels'])) == {0, 1}
    result = _convert(svgs.PT_SIZED, size=32)
    # 24 pt without a viewBox is 32 px of user space: the red square fills three quarters
    assert (result['labels'] == 1).sum() == 24 * 24


def test_label_decoding_refuses_blended_pixels():
    rgba = np.zeros((2, 2, 4), np.uint8)
    rgba[0, 0] = (0, 0, 1, 255)
    assert decode_labels(rgba, {1}).tolist() == [[1, 0], [0, 0]]
    rgba[1, 1] = (0, 0, 1, 128)
    with pytest.raises(SvgRejected, match='label_blend'):
        decode_labels(rgba, {1})
    rgba[1, 1] = (0, 0, 7, 255)
    with pytest.raises(SvgRejected, match='label_blend'):
        decode_labels(rgba, {1})


def test_parse_color():
    assert parse_color('#F00') == (255, 0, 0)
    assert parse_color('rgb(0, 50%, 255)') == (0, 128, 255)
    assert parse_color('ForestGreen') == (0x22, 0x8b, 0x22)
    assert parse_color('nonsense') is None


def test_gates_on_measured_drawings():
    thresholds = GateThresholds()
    result = convert_svg(svgs.FOUR_SQUARES, 40)
    assert result['status'] == 'accepted', result
    stats = result['stats']
    assert stats['regions'] == 4 and stats['lined_share'] == 1.0
    assert stats['ink_share'] == pytest.approx(4 * (18 * 18 - 14 * 14) / (4 * 18 * 18))
    # the same drawing with its outlines gone: every colour change is unlined
    line = np.full((40, 40), 255, np.uint8)
    labels = result['labels'].copy()
    labels[labels == 65535] = 0
    colors = {1: (255, 0, 0), 2: (0, 170, 0), 3: (0, 0, 255), 4: (255, 0, 0)}
    unlined = measure_drawing(line, labels, colors, {}, thresholds)
    assert unlined['lined_share'] == 0.0
    assert failed_gates(unlined, thresholds) == ['ink_too_little', 'unlined_boundaries']
    grey = measure_drawing(result['line'], result['labels'],
                           {k: (90, 90, 90) for k in range(1, 5)}, {}, thresholds)
    assert failed_gates(grey, thresholds) == ['greyscale']


def _write(folder, files):
    folder.mkdir()
    for name, svg in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(svg)


def test_folder_conversion_resumable_deterministic_and_parallel(tmp_path):
    src = tmp_path / 'svg'
    _write(src, {'a/squares.svg': svgs.FOUR_SQUARES, 'b/squares_copy.svg': svgs.FOUR_SQUARES,
                 'text.svg': svgs.TEXT, 'strokes.svg': svgs.STROKES})
    files, duplicates = scan_svgs(str(src))
    assert [n for n, _ in files] == ['a__squares', 'strokes', 'text']
    assert duplicates == ['b__squares_copy']
    one = convert_folder(str(src), str(tmp_path / 'one'), size=40, progress=False)
    two = convert_folder(str(src), str(tmp_path / 'two'), size=40, workers=2, progress=False)
    assert one['accepted'] == 1 and one['rejected'] == 2 and one['duplicates'] == 1
    assert one['rejection_reasons'] == {'text': 1, 'few_regions': 1}
    for sub in ('color/a__squares.png', 'line/a__squares.png', 'labels/a__squares.png'):
        assert (tmp_path / 'one' / sub).read_bytes() == (tmp_path / 'two' / sub).read_bytes()
    meta = json.loads((tmp_path / 'one/meta/a__squares.json').read_text())
    assert meta['source'] == 'a/squares.svg' and meta['strict'] and meta['license']
    assert two['accepted'] == 1
    again = convert_folder(str(src), str(tmp_path / 'one'), size=40, progress=False)
    assert again['converted_this_run'] == 0 and again['accepted'] == 1
    lines = (tmp_path / 'one/log.jsonl').read_text().splitlines()
    assert len(lines) == 3


def test_limit_counts_only_the_kept_files_and_their_copies(tmp_path):
    src = tmp_path / 'svg'
    _write(src, {'a/squares.svg': svgs.FOUR_SQUARES, 'b/squares_copy.svg': svgs.FOUR_SQUARES,
                 'strokes.svg': svgs.STROKES, 'z/strokes_copy.svg': svgs.STROKES,
                 'text.svg': svgs.TEXT, 'z/text_copy.svg': svgs.TEXT})
    files, duplicates = scan_svgs(str(src), limit=1)
    assert [n for n, _ in files] == ['a__squares'] and duplicates == ['b__squares_copy']
    summary = convert_folder(str(src), str(tmp_path / 'out'), size=40, limit=2,
                             progress=False)
    # 'text' and its copy are beyond the limit; each kept file has one copy
    assert (summary['distinct'], summary['duplicates'], summary['files']) == (2, 2, 4)


def test_missing_source_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match='nowhere'):
        convert_folder(str(tmp_path / 'nowhere'), str(tmp_path / 'out'), progress=False)
