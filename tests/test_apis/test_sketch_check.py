"""A colour picture given as a sketch is reported; real line art is not."""
import warnings

import numpy as np
import pytest
from skimage import data as skimage_data

from api_samples import color_picture, line_drawing
from colorizer.apis import ColorSketchWarning, SketchCheck, colorize
from colorizer.datasets import SyntheticToonDataset
from colorizer.datasets.transforms.xdog import xdog_sketch


def _toon(sketch='outline'):
    dataset = SyntheticToonDataset(img_size=128, length=3, sketch=sketch, mode='train',
                                   pipeline=[])
    return dataset.prepare_data(1)


def _line_art():
    """Real sketches: XDoG of a photo (as training draws them), a cartoon's drawn outline, a
    pen drawing, and the same drawing as pale blue pencil lines."""
    blue = np.repeat(line_drawing(120, 160)[..., None], 3, axis=2)
    blue[blue[..., 0] == 0] = (60, 90, 200)
    return {'xdog_astronaut': xdog_sketch(skimage_data.astronaut()),
            'toon_outline': _toon()['sketch'],
            'pen_drawing': line_drawing(120, 160),
            'blue_pencil': blue}


def _pictures():
    return {'astronaut': skimage_data.astronaut(), 'coffee': skimage_data.coffee(),
            'toon_colours': _toon()['img'], 'blobs': color_picture(120, 160),
            'gray_photo': skimage_data.camera()}


@pytest.mark.parametrize('name', list(_line_art()))
def test_line_art_is_not_reported(name):
    assert not SketchCheck.measure(_line_art()[name]).looks_like_color_picture


@pytest.mark.parametrize('name', list(_pictures()))
def test_pictures_are_reported(name):
    assert SketchCheck.measure(_pictures()[name]).looks_like_color_picture


def test_colorize_warns_for_a_picture_and_not_for_a_sketch(model):
    reference = color_picture(64, 64, seed=1)
    with pytest.warns(ColorSketchWarning, match=r'sketch .*looks like a colour picture.*'
                                                r'sketch_is_color=True'):
        colorize(model, skimage_data.coffee(), reference, resolution='training')
    with warnings.catch_warnings():
        warnings.simplefilter('error', ColorSketchWarning)
        colorize(model, _line_art()['xdog_astronaut'], reference, resolution='training')
        # marked as a picture: its lines are extracted, nothing to warn about
        colorize(model, skimage_data.coffee(), reference, sketch_is_color=True,
                 resolution='training')
        colorize(model, skimage_data.coffee(), reference, check_sketch=False,
                 resolution='training')
