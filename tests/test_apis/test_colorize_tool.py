"""tools/colorize.py: batches of files, pairing rules, and failures that do not stop a batch."""
import sys

import cv2
import numpy as np
import pytest

from api_samples import color_picture, line_drawing, load_tool, write_png
from tool_runner import run_tool


@pytest.fixture(scope='module')
def tool():
    return load_tool('colorize.py')


@pytest.mark.slow
def test_folder_with_a_corrupt_file_writes_the_others_and_fails(trained, tmp_path):
    config, checkpoint = trained
    sketches, out = tmp_path / 'sketches', tmp_path / 'out'
    sketches.mkdir()
    write_png(sketches / 'a.png', line_drawing(300, 451))
    write_png(sketches / 'b.png', line_drawing(48, 40))
    (sketches / 'c.png').write_bytes(b'\x89PNG\r\n\x1a\n' + b'\0' * 40)  # corrupt
    reference = write_png(tmp_path / 'ref.png', color_picture(64, 80))
    result = run_tool([sys.executable, 'tools/colorize.py', '--config', config, '--checkpoint',
                       checkpoint, '--sketch', str(sketches), '--reference', reference,
                       '--out', str(out), '--grid', '--multiply-lines', '--attention-at',
                       '10,20', '--batch-size', '2'], check=False)
    assert result.returncode != 0
    assert 'c.png' in result.stderr and '1 failed' in result.stderr
    assert sorted(p.name for p in out.glob('*.png')) == ['a.png', 'b.png']
    assert cv2.imread(str(out / 'a.png')).shape == (300, 451, 3)
    assert sorted(p.name for p in (out / 'grids').glob('*.png')) == ['a.png', 'b.png']
    heat = cv2.imread(str(out / 'attention' / 'a.png'))
    assert heat is not None and heat.shape[0] == 300 + 2 * 4  # sketch height + border
    assert heat.std() > 10  # a coloured heat map, not a blank picture


def test_pairs_by_name_in_two_folders(tool, tmp_path):
    sketches, references = tmp_path / 'sketches', tmp_path / 'references'
    sketches.mkdir(), references.mkdir()
    for name in ('cat.png', 'dog.png', 'owl.png'):
        (sketches / name).write_bytes(b'')
    for name in ('cat.jpg', 'dog.png', 'extra.png', 'notes.txt'):
        (references / name).write_bytes(b'')
    pairs, failures = tool.make_pairs(str(sketches), str(references), None)
    assert [(p.name, p.reference.split('/')[-1]) for p in pairs] == [('cat', 'cat.jpg'),
                                                                     ('dog', 'dog.png')]
    assert failures and failures[0][0].endswith('owl.png') and 'owl' in failures[0][1]


def test_one_sketch_with_every_reference_gets_distinct_names(tool, tmp_path):
    references = tmp_path / 'references'
    references.mkdir()
    for name in ('r1.png', 'r2.png'):
        (references / name).write_bytes(b'')
    sketch = tmp_path / 's.png'
    sketch.write_bytes(b'')
    pairs, _ = tool.make_pairs(str(sketch), str(references), None)
    assert [p.name for p in pairs] == ['s__r1', 's__r2']


def test_pairs_csv_resolves_against_the_folders(tool, tmp_path):
    (tmp_path / 'pairs.csv').write_text('sketch,reference\na.png,x.png\n\nb.png, y.png\n')
    pairs, failures = tool.make_pairs(None, None, str(tmp_path / 'pairs.csv'))
    assert [(p.sketch, p.reference) for p in pairs] == [
        (str(tmp_path / 'a.png'), str(tmp_path / 'x.png')),
        (str(tmp_path / 'b.png'), str(tmp_path / 'y.png'))]
    assert not failures
    roots = tmp_path / 'sk', tmp_path / 'ref'
    for root in roots:
        root.mkdir()
    pairs, _ = tool.make_pairs(str(roots[0]), str(roots[1]), str(tmp_path / 'pairs.csv'))
    assert pairs[0].sketch == str(roots[0] / 'a.png')
    assert pairs[0].reference == str(roots[1] / 'x.png')
    (tmp_path / 'bad.csv').write_text('only-one-column\n')
    with pytest.raises(ValueError, match='line 1'):
        tool.make_pairs(None, None, str(tmp_path / 'bad.csv'))


def test_side_by_side_keeps_aspect_ratios(tool):
    row = tool.side_by_side([np.zeros((30, 60, 3), np.uint8), np.zeros((10, 10, 3), np.uint8)],
                            30)
    assert row.shape == (30 + 8, 60 + 4 + 30 + 8, 3)


def test_side_by_side_headers_sit_above_their_panels(tool):
    panels = [np.zeros((30, 60, 3), np.uint8), np.zeros((30, 40, 3), np.uint8)]
    row = tool.side_by_side(panels, 30, headers=('sketch', 'output'))
    strip = row.shape[0] - (30 + 8)
    assert strip >= 12 and row.shape[1] == 60 + 4 + 40 + 8
    title = row[4:4 + strip]
    # dark text over each panel, none over the gap between them
    assert (title[:, 4:64] < 128).any() and (title[:, 68:108] < 128).any()
    assert (title[:, 64:68] == 255).all()
    assert (row[4 + strip:] == 0).sum() > 0  # the panels follow below


@pytest.mark.slow
def test_colour_picture_as_sketch_is_named_on_stderr(trained, tmp_path):
    config, checkpoint = trained
    sketches = tmp_path / 'sketches'
    sketches.mkdir()
    write_png(sketches / 'drawing.png', line_drawing(48, 40))
    write_png(sketches / 'photo.png', color_picture(48, 40, seed=5))
    reference = write_png(tmp_path / 'ref.png', color_picture(64, 80))
    command = [sys.executable, 'tools/colorize.py', '--config', config, '--checkpoint',
               checkpoint, '--sketch', str(sketches), '--reference', reference]
    result = run_tool(command + ['--out', str(tmp_path / 'out')])
    assert 'photo.png' in result.stderr and 'looks like a colour picture' in result.stderr
    assert '--extract-sketch' in result.stderr and 'drawing.png' not in result.stderr
    for flag in ('--extract-sketch', '--no-sketch-check'):
        quiet = run_tool(command + ['--out', str(tmp_path / flag), flag])
        assert 'looks like a colour picture' not in quiet.stderr
