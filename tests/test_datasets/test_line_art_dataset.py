"""LineArtDataset on a folder converted from hand-written SVGs."""
import json

import cv2
import numpy as np
import pytest
import torch

from colorizer.datasets import LineArtDataset
from colorizer.datasets.line_art_conversion import convert_folder
from colorizer.datasets.line_art_dataset import compose_line_art
from colorizer.datasets.line_art_splits import (difference_hash, group_drawings, line_art_hash,
                                                make_splits)
import line_art_svgs as svgs

PIPELINE = [dict(type='TPSWarp', strength=0.25, num_points=2),
            dict(type='PackColorizationInputs')]


@pytest.fixture(scope='module')
def converted(tmp_path_factory):
    """Four distinct drawings of four outlined squares, 40 px, and a split list."""
    root = tmp_path_factory.mktemp('line_art')
    src = root / 'svg'
    src.mkdir()
    others = ['#00aa00', '#0000ff', '#ffaa00', '#aa00ff']
    for i in range(4):  # squares 1 and 4 share a colour
        colours = ('#ff0000', others[i], others[(i + 1) % 4], '#ff0000')
        (src / f'drawing{i}_artist.svg').write_bytes(svgs.squares(colours))
    dst = root / 'converted'
    summary = convert_folder(str(src), str(dst), size=40, progress=False)
    assert summary['accepted'] == 4, summary
    split_file = root / 'splits.json'
    split_file.write_text(json.dumps(dict(test=['drawing0_artist', 'drawing1_artist'],
                                          val=[], train=['drawing2_artist', 'drawing3_artist'])))
    return dst, split_file


def _build(converted, **kwargs):
    dst, split_file = converted
    args = dict(data_root=str(dst), split='test', split_file=str(split_file), img_size=40,
                pipeline=PIPELINE)
    args.update(kwargs)
    return LineArtDataset(**args)


def test_sample_has_real_sketch_exact_target_and_labels(converted):
    dataset = _build(converted)
    assert len(dataset) == 2
    sample = dataset[0]
    data = sample['data_samples']
    line = cv2.imread(str(converted[0] / 'line/drawing0_artist.png'), cv2.IMREAD_GRAYSCALE)
    np.testing.assert_array_equal(sample['inputs']['sketch'][0].numpy(), line)
    labels = data.labels.numpy()
    assert set(np.unique(labels)) == {-1, 0, 1, 2, 3, 4}
    assert data.reference_labels.shape == labels.shape
    target = data.target.permute(1, 2, 0).numpy()
    # paper stays white, ink black, every region one flat colour
    assert (target[labels == 0] == 255).all() and (target[labels == -1] == 0).all()
    colours = {k: np.unique(target[labels == k], axis=0) for k in range(1, 5)}
    assert all(len(c) == 1 for c in colours.values())
    # squares 1 and 4 share their original red: one new colour for both
    np.testing.assert_array_equal(colours[1], colours[4])
    assert not np.array_equal(colours[1], colours[2])
    assert data.metainfo['exact_target'] is True and data.metainfo['protocol'] == 'self'
    # the reference is the target warped: the same colours, moved
    reference = sample['inputs']['reference'].permute(1, 2, 0).numpy()
    ref_labels = data.reference_labels.numpy()
    for k in range(1, 5):
        inside = reference[ref_labels == k]
        assert (np.abs(inside.astype(int) - colours[k][0]).max(axis=1) <= 60).mean() > 0.8


def test_palettes_deterministic_per_seed(converted):
    a, b = _build(converted)[1], _build(converted)[1]
    assert torch.equal(a['data_samples'].target, b['data_samples'].target)
    assert torch.equal(a['inputs']['reference'], b['inputs']['reference'])
    c = _build(converted, pairing_seed=5)[1]
    assert not torch.equal(a['data_samples'].target, c['data_samples'].target)


def test_random_reference_has_no_exact_target(converted):
    dataset = _build(converted, mode='random_reference')
    sample = dataset[0]
    data = sample['data_samples']
    assert data.metainfo['exact_target'] is False and data.metainfo['reference_index'] == 1
    assert 'reference_labels' not in data
    # the target is the drawing in its own colours: the red squares red
    target = data.target.permute(1, 2, 0).numpy()
    assert (target[data.labels.numpy() == 1] == (255, 0, 0)).all()
    assert LineArtDataset.provided_fields('random_reference') == {'target', 'labels'}


def test_resized_and_all_split(converted):
    dataset = _build(converted, split='all', img_size=20)
    assert len(dataset) == 4
    sample = dataset[3]
    assert sample['inputs']['sketch'].shape == (1, 20, 20)
    assert sample['data_samples'].labels.shape == (20, 20)


def test_missing_drawing_and_bad_split(converted, tmp_path):
    split_file = tmp_path / 's.json'
    split_file.write_text(json.dumps(dict(test=['nothing_here'])))
    with pytest.raises(FileNotFoundError, match='nothing_here') as error:
        _build(converted, split_file=str(split_file))
    assert str(split_file) in str(error.value)  # a typo in the user's own split list
    with pytest.raises(ValueError, match='split'):
        _build(converted, split='dev')
    with pytest.raises(FileNotFoundError, match='meta'):
        _build(converted, data_root=str(tmp_path))


def test_compose_multiplies_region_colour_by_line_grey():
    line = np.array([[255, 128, 0]], np.uint8)
    labels = np.array([[1, -1, -1]])
    out = compose_line_art(line, labels, np.array([[255, 255, 255], [200, 100, 50]], np.uint8))
    np.testing.assert_array_equal(out[0], [[200, 100, 50], [100, 50, 25], [0, 0, 0]])


def test_splits_keep_series_and_near_duplicates_together(converted):
    metas = [dict(name='animals__cat_bob_01', creator='Bob'),
             dict(name='animals__cat_bob_02', creator='Bob'),
             dict(name='dog', creator=''), dict(name='bird', creator=''),
             dict(name='cat_grey', creator='Bob')]
    hashes = [1, 2 ** 40, 0b111, 0b1111 << 20, 2 ** 63]
    groups = group_drawings(metas, hashes, max_hash_distance=1)
    assert groups[0] == groups[1] == groups[4]  # series stem, then creator + first word
    assert groups[2] not in (groups[0], groups[3]) and groups[3] != groups[0]
    groups = group_drawings(metas, hashes, max_hash_distance=3)
    assert groups[2] == groups[0]  # hash 0b111 is 2 bits from 1
    ramp = np.tile(np.arange(0, 160, 10, dtype=np.uint8), (16, 1))  # brighter to the right
    assert difference_hash(ramp) == 2 ** 64 - 1 and difference_hash(ramp[:, ::-1]) == 0
    # the hash of the ink's bounding box: the same drawing moved on the paper hashes alike
    paper = np.full((64, 64), 255, np.uint8)
    moved = paper.copy()
    paper[10:26, 10:20] = ramp[:, :10] // 2
    moved[30:46, 40:50] = ramp[:, :10] // 2
    assert line_art_hash(paper) == line_art_hash(moved) != difference_hash(paper)
    # the converted drawings differ only in colour: their line art hashes alike, so they are
    # near-duplicates, one group, never split
    splits = make_splits(str(converted[0]), num_test=1, num_val=1)
    assert splits['groups'] == 1
    assert splits['test'] == [f'drawing{i}_artist' for i in range(4)]
    assert splits['val'] == [] and splits['train'] == []
