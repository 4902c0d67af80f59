"""colorizer.apis: init_model and colorize on every kind of input."""
import numpy as np
import pytest
import torch
from PIL import Image

from api_samples import ROOT, color_picture, line_drawing, write_png
from colorizer.apis import (AttentionMap, CheckpointMismatchError, Letterbox, colorize,
                            init_model)
from colorizer.datasets.image_io import ImageReadError
from colorizer.datasets.transforms.xdog import xdog_sketch


@pytest.fixture(scope='module')
def sketch():
    return line_drawing(300, 451)  # odd size, wider than high


@pytest.fixture(scope='module')
def reference():
    return color_picture(120, 90, seed=1)  # another size and aspect


def test_init_model_remembers_size_and_is_in_eval_mode(model):
    assert model.img_size == (32, 32)  # the TINY dataset size, not the config's top-level 64
    assert not model.training
    assert model.perceptual_loss is None


def test_output_has_the_sketch_size_for_arrays_paths_and_pil(model, sketch, reference,
                                                             tmp_path):
    from_array = colorize(model, sketch, reference)
    assert from_array.shape == (300, 451, 3) and from_array.dtype == np.uint8
    sketch_path = write_png(tmp_path / 'sketch.png', sketch)
    reference_path = write_png(tmp_path / 'reference.png', reference)
    np.testing.assert_array_equal(colorize(model, sketch_path, reference_path), from_array)
    from_pil = colorize(model, Image.fromarray(sketch), Image.fromarray(reference))
    np.testing.assert_array_equal(from_pil, from_array)


def test_gray_rgb_rgba_and_other_dtypes_are_the_same_sketch(model, sketch, reference):
    expected = colorize(model, sketch, reference)
    rgb = np.repeat(sketch[..., None], 3, axis=2)
    # line art on a transparent layer: only the lines are opaque
    rgba = np.zeros(sketch.shape + (4, ), np.uint8)
    rgba[..., 3] = 255 - sketch
    for variant in (sketch[..., None], rgb, rgba, sketch.astype(np.uint16) * 257,
                    sketch.astype(np.float32) / 255):
        np.testing.assert_array_equal(colorize(model, variant, reference), expected)


def test_lists_pair_one_to_one_or_share_one_reference(model, reference):
    sketches = [line_drawing(40, 40), line_drawing(33, 70), line_drawing(64, 31)]
    outputs = colorize(model, sketches, reference, batch_size=2)
    assert [out.shape[:2] for out in outputs] == [(40, 40), (33, 70), (64, 31)]
    np.testing.assert_array_equal(outputs[1], colorize(model, sketches[1], reference))
    references = [reference, color_picture(50, 50, seed=2), reference]
    pairwise = colorize(model, sketches, references)
    np.testing.assert_array_equal(pairwise[0], outputs[0])
    with pytest.raises(ValueError, match='3 sketches but 2 references'):
        colorize(model, sketches, references[:2])


def test_multiply_lines_darkens_line_pixels_only(model, sketch, reference):
    plain = colorize(model, sketch, reference).astype(int)
    multiplied = colorize(model, sketch, reference, multiply_lines=True).astype(int)
    lines, paper = sketch == 0, sketch == 255
    assert (multiplied[lines] == 0).all() and plain[lines].max() > 0
    np.testing.assert_array_equal(multiplied[paper], plain[paper])
    assert (multiplied <= plain).all()


def test_colour_sketch_is_drawn_with_xdog_at_the_model_size(model, reference):
    picture = color_picture(32, 32, seed=3)  # the model size: the letterbox changes nothing
    extracted = colorize(model, picture, reference, sketch_is_color=True)
    np.testing.assert_array_equal(extracted, colorize(model, xdog_sketch(picture), reference))
    large = colorize(model, color_picture(90, 60, seed=3), reference, sketch_is_color=True,
                     multiply_lines=True)
    assert large.shape == (90, 60, 3)


def test_attention_heat_map_covers_the_reference(model, sketch, reference):
    image, attention = colorize(model, sketch, reference, return_attention=True,
                                resolution='training')
    assert isinstance(attention, AttentionMap) and image.shape == (300, 451, 3)
    assert attention.sketch_grid == attention.reference_grid == (4, 4)  # 32 px / stride 8
    heat = attention.heatmap(x=450, y=0)
    assert heat.shape == reference.shape[:2] and heat.dtype == np.float32
    assert 0 <= heat.min() and 0 < heat.max() <= 1
    # the point picks its row of the map: another token, another heat map
    assert attention.token_at(0, 0) == 0 and attention.token_at(450, 299) == 15
    with pytest.raises(ValueError, match='outside the sketch'):
        attention.heatmap(451, 0)


def test_bad_inputs_name_the_file_or_argument(model, reference, tmp_path):
    broken = tmp_path / 'broken.png'
    broken.write_bytes(b'\x89PNG\r\n\x1a\n truncated')
    with pytest.raises(ImageReadError, match='broken.png'):
        colorize(model, str(broken), reference)
    with pytest.raises(ImageReadError, match='missing.png'):
        colorize(model, line_drawing(32, 32), str(tmp_path / 'missing.png'))
    with pytest.raises(ValueError, match=r'sketch 1 .*unsupported image shape'):
        colorize(model, [line_drawing(32, 32), np.zeros((8, 8, 5), np.uint8)], reference)
    with pytest.raises(TypeError, match='reference'):
        colorize(model, line_drawing(32, 32), 42)


def test_paper_config_builds_without_vgg_weights(monkeypatch, tmp_path):
    monkeypatch.setenv('TORCH_HOME', str(tmp_path))  # no VGG19 file in this hub cache
    model = init_model(str(ROOT / 'configs' / 'sga' / 'sga_afhq_dog.py'))
    assert model.perceptual_loss is None and model.img_size == (256, 256)


def test_checkpoint_loads_strictly_and_skips_training_only_weights(trained, model, tmp_path):
    config, checkpoint = trained
    state = dict(model.state_dict())
    state['perceptual_loss.vgg.0.weight'] = torch.zeros(64, 3, 3, 3)  # a paper checkpoint's VGG
    with_vgg = tmp_path / 'with_vgg.pth'
    torch.save({'state_dict': state}, with_vgg)
    init_model(config, str(with_vgg))
    del state['generator.decoder.' + next(k for k in model.generator.decoder.state_dict())]
    state['generator.extra.weight'] = torch.zeros(1)
    torch.save({'state_dict': state}, tmp_path / 'other.pth')
    with pytest.raises(CheckpointMismatchError, match='missing keys generator.decoder'):
        init_model(config, str(tmp_path / 'other.pth'))


def test_letterbox_round_trip_and_point_mapping():
    box = Letterbox.fit((300, 451), (32, 32))
    assert box.inner_size == (21, 32) and box.padding == (5, 6, 0, 0)
    image = np.arange(300 * 451, dtype=np.float32).reshape(300, 451)
    assert box.apply(image.astype(np.uint8)).shape == (32, 32)
    assert box.invert(box.apply(image, fill=0)).shape == (300, 451)
    x, y = box.to_input(225, 149.5)  # the sketch's centre is the centre of its resized copy
    assert x == pytest.approx(15.5, abs=1e-6) and y == pytest.approx(5 + 10, abs=1e-6)


def test_region_fill_gives_each_closed_region_one_colour(model, reference):
    from colorizer.postprocessing import segment_regions
    sketch = np.full((64, 64), 255, np.uint8)
    sketch[10, 10:50] = sketch[49, 10:50] = 0  # a closed 40x40 square
    sketch[10:50, 10] = sketch[10:50, 49] = 0
    plain = colorize(model, sketch, reference)
    filled = colorize(model, sketch, reference, region_fill=dict(max_region_share=1.0,
                                                                 uniform_tolerance=1e9))
    labels = segment_regions(sketch)
    inside = labels == labels[30, 30]
    assert len(np.unique(filled[inside], axis=0)) == 1
    assert len(np.unique(plain[inside], axis=0)) > 1  # the network alone is not flat
    np.testing.assert_array_equal(filled[sketch == 0], plain[sketch == 0])  # lines kept
    with pytest.raises(TypeError, match='region_fill'):
        colorize(model, sketch, reference, region_fill='yes')
