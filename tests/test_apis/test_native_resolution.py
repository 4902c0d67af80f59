"""Inference near the sketch's own size keeps its detail (a 1200x200 sketch is no longer
squeezed into the 32/64 px training size); resolution='training' keeps the former behaviour."""
import numpy as np
import pytest

from api_samples import color_picture, line_drawing
from colorizer.apis import colorize, input_size, native_input_size


def test_native_size_is_a_stride_multiple_near_the_input():
    assert native_input_size((200, 1200), 8, 32 * 32, 1024 * 1024) == (200, 1200)
    assert native_input_size((201, 1203), 8, 32 * 32, 1024 * 1024) == (208, 1208)
    # over the budget: scaled down keeping the aspect ratio, about max_pixels
    h, w = native_input_size((4000, 6000), 8, 32 * 32, 1024 * 1024)
    assert h % 8 == w % 8 == 0 and abs(w / h - 1.5) < 0.02
    assert 0.98 < h * w / (1024 * 1024) < 1.02
    # below the training size: enlarged to its pixel count
    assert native_input_size((10, 40), 8, 32 * 32, 10**6) == (16, 64)


def test_input_size_modes(model):
    assert input_size(model, (200, 1200)) == (200, 1200)
    assert input_size(model, (200, 1200), 'training') == (32, 32)
    assert input_size(model, (200, 1200), (30, 50)) == (32, 56)
    with pytest.raises(ValueError, match='resolution must be one of'):
        input_size(model, (200, 1200), 'huge')


def _detail(image):
    """Mean absolute difference between neighbouring columns: high-frequency content."""
    return float(np.abs(np.diff(image.astype(np.float32), axis=1)).mean())


def test_wide_sketch_runs_at_its_own_size_and_keeps_detail(model, monkeypatch):
    sketch = line_drawing(200, 1200)
    reference = color_picture(96, 96, seed=1)
    seen = []
    generator_forward = model.generator.forward

    def spy(sketch_batch, *args, **kwargs):
        seen.append(tuple(sketch_batch.shape[-2:]))
        return generator_forward(sketch_batch, *args, **kwargs)

    monkeypatch.setattr(model.generator, 'forward', spy)
    native = colorize(model, sketch, reference)
    training = colorize(model, sketch, reference, resolution='training')
    assert seen == [(200, 1200), (32, 32)]  # the model ran above its 32 px training size
    assert native.shape == training.shape == (200, 1200, 3)
    # letterboxed into 32 px the sketch keeps 32x5 pixels: its output is a smear
    assert _detail(native) > 2 * _detail(training)


def test_pairs_of_different_sizes_are_batched_separately(model):
    sketches = [line_drawing(40, 40), line_drawing(40, 40), line_drawing(48, 96)]
    outputs = colorize(model, sketches, color_picture(64, 64), batch_size=3)
    assert [o.shape[:2] for o in outputs] == [(40, 40), (40, 40), (48, 96)]
    np.testing.assert_array_equal(outputs[2], colorize(model, sketches[2], color_picture(64, 64)))
