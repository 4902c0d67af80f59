"""tools/colorize.py and colorize() with files real users bring: decompression bombs
are listed per file without losing the batch; sideways-stored pictures come out upright."""
import io
import sys

import cv2
import numpy as np
import pytest
from PIL import Image

from api_samples import ROOT, color_picture, line_drawing, load_tool, write_png

sys.path.insert(0, str(ROOT / 'tests' / 'test_datasets'))
from odd_images import png_claiming, stored_sideways  # noqa: E402


@pytest.fixture(scope='module')
def tool():
    return load_tool('colorize.py')


class TestColorizeToolListsBadFilesPerFile:
    """One bad file (or one pair the model refuses) costs only its own output."""

    def _run(self, tool, trained, tmp_path, capsys, *extra):
        config, checkpoint = trained
        code = tool.main(['--config', config, '--checkpoint', checkpoint, '--sketch',
                          str(tmp_path / 'sketches'), '--reference', str(tmp_path / 'ref.png'),
                          '--out', str(tmp_path / 'out'), '--batch-size', '3', *extra])
        return code, capsys.readouterr().err

    def _folder(self, tmp_path):
        sketches = tmp_path / 'sketches'
        sketches.mkdir()
        write_png(sketches / 'a.png', line_drawing(40, 48))
        (sketches / 'bomb.png').write_bytes(png_claiming(100000, 100000))
        write_png(sketches / 'c.png', line_drawing(36, 30))
        write_png(tmp_path / 'ref.png', color_picture(40, 40))

    def test_decompression_bomb_is_listed_and_the_rest_written(self, tool, trained, tmp_path,
                                                               capsys):
        self._folder(tmp_path)
        code, err = self._run(tool, trained, tmp_path, capsys)
        assert code == 1
        assert '1 failed' in err and 'bomb.png' in err and '100000x100000' in err
        assert sorted(p.name for p in (tmp_path / 'out').glob('*.png')) == ['a.png', 'c.png']

    def test_a_pair_the_model_refuses_costs_only_its_output(self, tool, trained, tmp_path,
                                                            capsys, monkeypatch):
        self._folder(tmp_path)
        (tmp_path / 'sketches' / 'bomb.png').unlink()
        real = tool.colorize

        def refuse_narrow(model, sketches, references, **kwargs):
            if any(s.shape[1] == 30 for s in sketches):
                raise ValueError('sketch 30 px wide refused')
            return real(model, sketches, references, **kwargs)

        monkeypatch.setattr(tool, 'colorize', refuse_narrow)
        code, err = self._run(tool, trained, tmp_path, capsys)
        assert code == 1 and '1 failed' in err and 'c.png: ValueError: sketch 30 px' in err
        assert [p.name for p in (tmp_path / 'out').glob('*.png')] == ['a.png']


def test_colorize_output_follows_the_exif_orientation(model, tmp_path):
    """The same sketch as PNG and JPEG with Orientation=6, and as a PIL image, gives outputs of
    the upright size, equal to the output for the upright array."""
    from colorizer.apis import colorize
    upright = cv2.cvtColor(line_drawing(24, 40), cv2.COLOR_GRAY2RGB)
    reference = color_picture(32, 32)
    expected = colorize(model, upright, reference)
    assert expected.shape == (24, 40, 3)
    for fmt, suffix in (('PNG', 'png'), ('WEBP', 'webp')):
        path = tmp_path / f'turned.{suffix}'
        data = stored_sideways(fmt, 6, upright)
        path.write_bytes(data)
        np.testing.assert_array_equal(colorize(model, str(path), reference), expected)
        pil = Image.open(io.BytesIO(data))
        np.testing.assert_array_equal(colorize(model, pil, reference), expected)
