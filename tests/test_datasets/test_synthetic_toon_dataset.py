import cv2
import numpy as np
import pytest
import torch

from colorizer.datasets import SyntheticToonDataset
from colorizer.registry import DATASETS

VAL_PIPELINE = [dict(type='XDoG'), dict(type='TPSWarp'), dict(type='PackColorizationInputs')]
TRAIN_PIPELINE = [
    dict(type='RandomFlip'),
    dict(type='ColorJitter'),
    dict(type='XDoG'),
    dict(type='TPSWarp'),
    dict(type='PackColorizationInputs'),
]


def _mode_color(img: np.ndarray, mask: np.ndarray):
    """Most frequent colour inside the mask, away from its anti-aliased / outlined border
    (``None`` for a region too thin to have such pixels)."""
    inner = cv2.erode(mask.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    if inner.sum() < 3:
        return None
    colors, counts = np.unique(img[inner].reshape(-1, 3), axis=0, return_counts=True)
    return tuple(colors[counts.argmax()])


def test_regions_in_metainfo_and_class():
    ds = SyntheticToonDataset(length=2, pipeline=VAL_PIPELINE)
    assert ds.metainfo['regions'] == SyntheticToonDataset.REGIONS
    assert SyntheticToonDataset.REGIONS[0] == 'background'
    assert {'skin', 'hair', 'eyes', 'mouth', 'clothes'} <= set(SyntheticToonDataset.REGIONS)


def test_deterministic_per_index_and_seed():
    a = SyntheticToonDataset(img_size=32, length=4, seed=5, pipeline=VAL_PIPELINE,
                             mode='self_reference')
    b = SyntheticToonDataset(img_size=32, length=4, seed=5, pipeline=VAL_PIPELINE,
                             mode='self_reference')
    for i in (0, 3):
        for key in ('sketch', 'reference'):
            assert torch.equal(a[i]['inputs'][key], b[i]['inputs'][key])
        assert torch.equal(a[i]['data_samples'].target, b[i]['data_samples'].target)
    c = SyntheticToonDataset(img_size=32, length=4, seed=6, pipeline=VAL_PIPELINE)
    assert not torch.equal(a[0]['data_samples'].target, c[0]['data_samples'].target)
    assert not torch.equal(a[0]['data_samples'].target, a[1]['data_samples'].target)


def test_render_is_a_function_of_geometry_and_palette():
    ds = SyntheticToonDataset(img_size=48, length=3, pipeline=[])
    img, labels = ds.render(ds.geometry(1), ds.palette(1))
    assert img.shape == (48, 48, 3) and img.dtype == np.uint8
    assert labels.shape == (48, 48) and labels.dtype == np.int64
    assert labels.min() >= 0 and labels.max() < len(ds.REGIONS)
    # at least background, skin, hair, eyes and clothes are visible
    assert {0, 1, 2, 3, 5} <= set(np.unique(labels).tolist())
    img2, labels2 = ds.render(ds.geometry(1), ds.palette(2))
    np.testing.assert_array_equal(labels, labels2)  # geometry alone decides the regions
    assert not np.array_equal(img, img2)


def test_flat_regions_with_dark_outlines():
    ds = SyntheticToonDataset(img_size=64, length=1, pipeline=[])
    img, labels = ds.render(ds.geometry(0), ds.palette(0))
    palette = ds.palette(0)
    checked = 0
    for region in np.unique(labels):
        color = _mode_color(img, labels == region)
        if color is not None:
            assert color == tuple(palette[region])
            checked += 1
    assert checked >= 4
    assert (img.min(axis=2) < 40).mean() > 0.03  # outlines


def test_random_reference_oracle_uses_reference_palette_on_sketch_geometry():
    ds = SyntheticToonDataset(img_size=64, length=6, mode='random_reference', pairing_seed=1,
                              pipeline=VAL_PIPELINE)
    for i in range(len(ds)):
        sample = ds[i]
        meta = sample['data_samples'].metainfo
        j = meta['reference_index']
        assert j != i and meta['protocol'] == 'random'
        labels = sample['data_samples'].labels.numpy()
        oracle = sample['data_samples'].oracle.numpy().transpose(1, 2, 0)
        target = sample['data_samples'].target.numpy().transpose(1, 2, 0)
        reference = sample['inputs']['reference'].numpy().transpose(1, 2, 0)
        _, ref_labels = ds.render(ds.geometry(j), ds.palette(j))
        assert not np.array_equal(labels, ref_labels)  # regions sit elsewhere in the reference
        checked = 0
        for region in set(np.unique(labels)) & set(np.unique(ref_labels)):
            mask, ref_mask = labels == region, ref_labels == region
            expected = tuple(ds.palette(j)[region])
            oracle_color = _mode_color(oracle, mask)
            if oracle_color is None:
                continue  # too thin to have interior pixels
            checked += 1
            assert oracle_color == expected
            assert _mode_color(target, mask) == tuple(ds.palette(i)[region])
            assert _mode_color(reference, ref_mask) in (expected, None)
        assert checked >= 4


def test_train_mode_output():
    ds = DATASETS.build(
        dict(type='SyntheticToonDataset', img_size=32, length=4, pipeline=TRAIN_PIPELINE))
    sample = ds[2]
    assert sample['inputs']['sketch'].shape == (1, 32, 32)
    assert sample['inputs']['reference'].shape == (3, 32, 32)
    ds_ = sample['data_samples']
    assert ds_.labels.shape == (32, 32) and 'oracle' not in ds_
    assert ds_.metainfo['protocol'] == 'train' and ds_.metainfo['reference_path'] is None


def test_outline_sketch_option():
    ds = SyntheticToonDataset(img_size=32, length=2, sketch='outline', pipeline=VAL_PIPELINE)
    sample = ds[0]
    assert 'xdog_sigma' not in sample['data_samples'].metainfo  # XDoG skipped
    sketch = sample['inputs']['sketch'][0].numpy()
    assert sketch.max() == 255 and sketch.min() < 100


def test_invalid_arguments():
    with pytest.raises(ValueError, match='sketch'):
        SyntheticToonDataset(sketch='canny')
    with pytest.raises(ValueError, match='img_size'):
        SyntheticToonDataset(img_size=4)
