import logging
import os

import cv2
import numpy as np
import pytest
import torch
from data_helpers import smooth_image, write_rgb

from colorizer.datasets import ColorizationDataset, ImageReadError, read_color_image
from colorizer.datasets.transforms import xdog_sketch
from colorizer.registry import DATASETS

PIPELINE = [
    dict(type='LoadColorImage'),
    dict(type='LoadSketch'),
    dict(type='RandomResizedCrop', size=32, scale=(0.5, 1.0)),
    dict(type='RandomFlip'),
    dict(type='ColorJitter'),
    dict(type='XDoG'),
    dict(type='TPSWarp'),
    dict(type='PackColorizationInputs'),
]
VAL_PIPELINE = [
    dict(type='LoadColorImage'),
    dict(type='LoadSketch'),
    dict(type='Resize', size=32),
    dict(type='XDoG'),
    dict(type='TPSWarp'),
    dict(type='PackColorizationInputs'),
]


def test_train_mode(image_folder):
    ds = ColorizationDataset(data_root=str(image_folder), pipeline=PIPELINE)
    assert len(ds) == 5
    sample = ds[0]
    assert sample['inputs']['sketch'].shape == (1, 32, 32)
    assert sample['inputs']['reference'].shape == (3, 32, 32)
    meta = sample['data_samples'].metainfo
    assert meta['protocol'] == 'train' and meta['index'] == meta['reference_index'] == 0
    assert meta['sketch_path'] == meta['reference_path'] == str(image_folder / 'a.jpg')


def test_build_from_registry(image_folder):
    ds = DATASETS.build(
        dict(type='ColorizationDataset', data_root=str(image_folder), pipeline=PIPELINE))
    assert isinstance(ds, ColorizationDataset)


def test_files_sorted_recursive_and_filtered(image_folder):
    (image_folder / 'readme.txt').write_text('x')
    (image_folder / '.hidden.png').write_bytes(b'')
    write_rgb(image_folder / 'UPPER.JPG', smooth_image(16))
    ds = ColorizationDataset(data_root=str(image_folder), pipeline=[])
    names = [os.path.relpath(ds.get_data_info(i)['img_path'], image_folder) for i in range(len(ds))]
    assert names == ['UPPER.JPG', 'a.jpg', 'b.png', 'c.jpg', 'sub/d.png', 'sub/e.jpg']


def test_random_reference_mode(image_folder):
    ds = ColorizationDataset(
        data_root=str(image_folder), mode='random_reference', pairing_seed=3,
        pipeline=VAL_PIPELINE)
    refs = []
    for i in range(len(ds)):
        meta = ds[i]['data_samples'].metainfo
        assert meta['protocol'] == 'random'
        assert meta['reference_index'] != i
        assert meta['reference_path'] == ds.get_data_info(meta['reference_index'])['img_path']
        refs.append(meta['reference_index'])
    assert sorted(refs) == list(range(len(ds)))
    # The reference is the other image, not a warp of the target.
    s = ds[0]
    other = ds[s['data_samples'].metainfo['reference_index']]
    assert torch.equal(s['inputs']['reference'], other['data_samples'].target)
    # Deterministic across runs and dataset instances.
    again = ColorizationDataset(
        data_root=str(image_folder), mode='random_reference', pairing_seed=3,
        pipeline=VAL_PIPELINE)[0]
    assert torch.equal(again['inputs']['sketch'], s['inputs']['sketch'])


def test_self_reference_mode_is_deterministic(image_folder):
    kwargs = dict(data_root=str(image_folder), mode='self_reference', pipeline=VAL_PIPELINE)
    a, b = ColorizationDataset(**kwargs)[1], ColorizationDataset(**kwargs)[1]
    assert a['data_samples'].metainfo['protocol'] == 'self'
    assert torch.equal(a['inputs']['reference'], b['inputs']['reference'])
    assert not torch.equal(a['inputs']['reference'], a['data_samples'].target)  # warped


def test_missing_folder_names_path(tmp_path):
    with pytest.raises(FileNotFoundError, match='does_not_exist'):
        ColorizationDataset(data_root=str(tmp_path / 'does_not_exist'), pipeline=[])


def test_empty_folder_names_path(tmp_path):
    (tmp_path / 'empty' / 'sub').mkdir(parents=True)
    (tmp_path / 'empty' / 'notes.txt').write_text('no images here')
    with pytest.raises(ValueError, match='empty'):
        ColorizationDataset(data_root=str(tmp_path / 'empty'), pipeline=[])


def test_random_reference_needs_two_images(tmp_path):
    write_rgb(tmp_path / 'only.png', smooth_image(16))
    with pytest.raises(ValueError, match='at least 2'):
        ColorizationDataset(data_root=str(tmp_path), mode='random_reference', pipeline=[])


def test_bad_image_raises_by_default(image_folder):
    (image_folder / 'a.jpg').write_bytes(b'')
    ds = ColorizationDataset(data_root=str(image_folder), pipeline=PIPELINE)
    with pytest.raises(ImageReadError, match='a.jpg'):
        ds[0]


def test_bad_image_skip_logs_and_takes_next(image_folder, monkeypatch):
    from colorizer.datasets import colorization_dataset
    logged = []
    monkeypatch.setattr(colorization_dataset, 'print_log',
                        lambda msg, logger, level: logged.append((msg, logger, level)))
    (image_folder / 'a.jpg').write_bytes(b'\xff\xd8\xff\xe0 truncated')
    ds = ColorizationDataset(
        data_root=str(image_folder), on_bad_image='skip', pipeline=PIPELINE)
    sample = ds[0]
    assert sample['data_samples'].metainfo['index'] == 1
    assert sample['data_samples'].metainfo['sketch_path'].endswith('b.png')
    assert len(logged) == 1
    msg, logger, level = logged[0]
    assert 'a.jpg' in msg and logger == 'current' and level == logging.WARNING
    ds[0]
    assert len(logged) == 1  # reported once, not every epoch


def test_all_bad_images(tmp_path):
    for name in ('x.png', 'y.png'):
        (tmp_path / name).write_text('not an image')
    ds = ColorizationDataset(data_root=str(tmp_path), on_bad_image='skip', pipeline=PIPELINE)
    with pytest.raises(RuntimeError, match='no readable image'):
        ds[0]


def test_invalid_arguments(image_folder):
    with pytest.raises(ValueError, match='mode'):
        ColorizationDataset(data_root=str(image_folder), mode='val')
    with pytest.raises(ValueError, match='on_bad_image'):
        ColorizationDataset(data_root=str(image_folder), on_bad_image='ignore')


def test_sketch_root_skips_xdog(image_folder, tmp_path):
    sketch_root = tmp_path / 'sketches'
    for rel in ('a', 'b', 'c', 'sub/d', 'sub/e'):
        (sketch_root / rel).parent.mkdir(parents=True, exist_ok=True)
        marker = np.zeros((48, 48), np.uint8)  # all-black sketch: cannot come from XDoG
        cv2.imwrite(str(sketch_root / f'{rel}.png'), marker)
    ds = ColorizationDataset(
        data_root=str(image_folder), sketch_root=str(sketch_root), pipeline=VAL_PIPELINE)
    sample = ds[0]
    assert sample['inputs']['sketch'].max() == 0
    assert sample['data_samples'].metainfo['sketch_path'].endswith('a.png')
    assert 'xdog_sigma' not in sample['data_samples'].metainfo


def test_sketch_root_with_missing_sketch(image_folder, tmp_path):
    (tmp_path / 'sk').mkdir()
    with pytest.raises(FileNotFoundError, match='no sketch'):
        ColorizationDataset(
            data_root=str(image_folder), sketch_root=str(tmp_path / 'sk'), pipeline=[])


def test_sketch_is_drawn_from_unjittered_image(image_folder):
    pipeline = [
        dict(type='LoadColorImage'),
        dict(type='ColorJitter', brightness=0.5, hue=0.2),
        dict(type='XDoG', sigmas=(0.4, )),
        dict(type='TPSWarp'),
        dict(type='PackColorizationInputs'),
    ]
    ds = ColorizationDataset(data_root=str(image_folder), pipeline=pipeline)
    img = read_color_image(ds.get_data_info(1)['img_path'])
    sample = ds[1]
    np.testing.assert_array_equal(sample['inputs']['sketch'][0].numpy(), xdog_sketch(img, 0.4))


def test_holdout_parts_are_disjoint_cover_the_folder_and_are_seeded(tmp_path):
    import cv2
    import numpy as np
    from colorizer.datasets import ColorizationDataset
    for i in range(40):
        cv2.imwrite(str(tmp_path / f'img_{i:02d}.png'), np.full((8, 8, 3), i, np.uint8))
    kwargs = dict(data_root=str(tmp_path), holdout=0.1, holdout_seed=3)
    rest = ColorizationDataset(holdout_part='rest', **kwargs)
    held = ColorizationDataset(holdout_part='holdout', **kwargs)
    rest_paths = {rest.get_data_info(i)['img_path'] for i in range(len(rest))}
    held_paths = {held.get_data_info(i)['img_path'] for i in range(len(held))}
    assert len(held_paths) == 4 and len(rest_paths) == 36 and not rest_paths & held_paths
    again = ColorizationDataset(holdout_part='holdout', **kwargs)
    assert held_paths == {again.get_data_info(i)['img_path'] for i in range(len(again))}
    other = ColorizationDataset(holdout_part='holdout', data_root=str(tmp_path), holdout=0.1,
                                holdout_seed=4)
    assert held_paths != {other.get_data_info(i)['img_path'] for i in range(len(other))}
    import pytest
    with pytest.raises(ValueError, match='holdout'):
        ColorizationDataset(data_root=str(tmp_path), holdout=1.5)
