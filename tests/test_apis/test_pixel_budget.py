"""Inference memory bounded by pixels: batching plan, lazy loading, kept attention maps."""
import argparse

import numpy as np
import pytest
import torch
from mmengine.config import Config

from api_samples import color_picture, line_drawing, load_tool, write_png
from colorizer.apis import (AttentionMap, batched, colorize, init_model, input_size,
                            plan_batches)
from colorizer.apis.attention_map import pooled_grid


@pytest.fixture(scope='module')
def tiny_model():
    """The demo architecture at 32 px with 2 base channels, random weights (fast)."""
    cfg = Config.fromfile('configs/sga/sga_demo.py')
    cfg.model.generator.base_channels = 2
    torch.manual_seed(0)
    return init_model(cfg, None, img_size=32)


def test_plan_batches_by_pixels():
    small, big = (32, 32), (1024, 1024)
    # 3 small fit a budget of 3 * 1024 px; the 4th starts a new batch
    assert plan_batches([small] * 4, 3 * 1024) == [[0, 1, 2], [3]]
    # an input above the budget runs alone; a size change always starts a batch
    assert plan_batches([small, small, big, small, (32, 64)], 4 * 1024) == [
        [0, 1], [2], [3], [4]]
    # a count cap applies too
    assert plan_batches([small] * 5, 10**9, max_batch_size=2) == [[0, 1], [2, 3], [4]]
    assert plan_batches([], 100) == []
    with pytest.raises(ValueError, match='max_batch_pixels'):
        plan_batches([small], 0)


def test_batched_reads_items_only_as_the_batch_fills():
    pulled = []

    def items():
        for i in range(6):
            pulled.append(i)
            yield i

    batches = batched(items(), lambda i: (10, 10), max_batch_pixels=200)
    assert next(batches) == [0, 1] and pulled == [0, 1, 2]  # one item beyond the batch
    assert list(batches) == [[2, 3], [4, 5]]


def test_colorize_passes_follow_the_pixel_budget(tiny_model, monkeypatch):
    passes = []
    forward = tiny_model.generator.forward

    def counting(sketch, reference, **kwargs):
        passes.append(tuple(sketch.shape))
        return forward(sketch, reference, **kwargs)

    monkeypatch.setattr(tiny_model.generator, 'forward', counting)
    sketches = [line_drawing(32, 32)] * 5 + [line_drawing(64, 64)]
    reference = color_picture(32, 32)
    outputs = colorize(tiny_model, sketches, reference, max_batch_pixels=2 * 32 * 32)
    assert [p[0] for p in passes] == [2, 2, 1, 1] and passes[-1][2:] == (64, 64)
    # batching does not change the result: one pass per pair gives the same images
    passes.clear()
    alone = colorize(tiny_model, sketches, reference, max_batch_pixels=1)
    assert [p[0] for p in passes] == [1] * 6
    for a, b in zip(outputs, alone):
        assert np.abs(a.astype(int) - b.astype(int)).max() <= 1


def test_tool_batches_files_by_pixels(tiny_model, tmp_path, monkeypatch):
    tool = load_tool('colorize.py')
    sizes = [(32, 32), (32, 32), (32, 32), (200, 200), (32, 32)]
    pairs = [tool.Pair(write_png(tmp_path / f's{i}.png', line_drawing(*size)),
                       write_png(tmp_path / 'ref.png', color_picture(32, 32)), f's{i}')
             for i, size in enumerate(sizes)]
    calls = []
    real = tool.colorize

    def recording(model, sketches, references, **kwargs):
        calls.append([s.shape[:2] for s in sketches])
        return real(model, sketches, references, **kwargs)

    monkeypatch.setattr(tool, 'colorize', recording)
    args = argparse.Namespace(extract_sketch=False, no_sketch_check=True, grid=False,
                              multiply_lines=False, attention_at=(5.0, 5.0),
                              out=str(tmp_path / 'out'), batch_size=None,
                              max_batch_pixels=2 * 32 * 32, region_fill=False)
    failures = []
    assert tool.colorize_all(tiny_model, pairs, args, failures) == 5 and not failures
    big = input_size(tiny_model, (200, 200))
    assert big[0] * big[1] > args.max_batch_pixels
    assert calls == [[(32, 32)] * 2, [(32, 32)], [(200, 200)], [(32, 32)]]
    assert len(list((tmp_path / 'out' / 'attention').glob('*.png'))) == 5


def test_kept_attention_equals_the_full_map_at_the_same_point(tiny_model):
    sketch, reference = line_drawing(96, 128), color_picture(80, 112, seed=2)
    # 128 px wide at stride 8: a 12 x 16 token grid (192 tokens) on each side
    kwargs = dict(return_attention=True, resolution=(96, 128))
    _, full = colorize(tiny_model, sketch, reference, attention_cells=None, **kwargs)
    assert full.sketch_grid == (12, 16) and full.weights.shape == (192, 192)
    points = [(5.0, 7.0), (100.0, 60.0), (127.0, 95.0)]
    _, rows = colorize(tiny_model, sketch, reference, attention_points=points, **kwargs)
    assert rows.weights.shape == (3, 192) and rows.nbytes * 64 == full.nbytes
    for x, y in points:
        np.testing.assert_allclose(rows.heatmap(x, y), full.heatmap(x, y), atol=1e-6)
    with pytest.raises(ValueError, match='attention_points'):
        rows.heatmap(60.0, 5.0)

    _, pooled = colorize(tiny_model, sketch, reference, attention_cells=48, **kwargs)
    assert pooled.sketch_grid == pooled.reference_grid == pooled_grid((12, 16), 48) == (6, 8)
    assert pooled.nbytes * 16 == full.nbytes
    # independent computation: the full map averaged over 2 x 2 blocks of tokens on each axis
    blocks = full.weights.reshape(6, 2, 8, 2, 6, 2, 8, 2).mean(axis=(1, 3, 5, 7))
    np.testing.assert_allclose(pooled.weights, blocks.reshape(48, 48), rtol=1e-5, atol=1e-8)
    for x, y in points:  # a point reads the row of the block it lies in
        block = AttentionMap(blocks.reshape(48, 48), (6, 8), (6, 8), full.sketch_box,
                             full.reference_box)
        np.testing.assert_allclose(pooled.heatmap(x, y), block.heatmap(x, y), atol=1e-5)


def test_default_cap_bounds_a_kept_map_at_1024_px():
    from colorizer.apis import ATTENTION_MAX_CELLS
    # the demo model (stride 8) at 1024²: 128 x 128 tokens, a 1 GiB float32 map in full
    assert pooled_grid((128, 128), ATTENTION_MAX_CELLS) == (64, 64)
    assert 128**4 * 4 == 2**30 and 64**4 * 4 == 64 * 2**20
    assert pooled_grid((3, 500), 64) == (1, 63)  # ceil division keeps every token covered
