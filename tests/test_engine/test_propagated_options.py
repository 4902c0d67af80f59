"""--data-root / --cfg-options data_root=... and img_size=... reach every value computed from
them, and say so when the config does not read them."""
import pytest
from mmengine.config import Config

from colorizer.engine.config_validation import ConfigError
from colorizer.engine.propagated_options import (apply_propagated_options, dataset_description,
                                                 split_propagated_options)


def _load(path, options=None, data_root=None):
    propagated, rest = split_propagated_options(options, data_root)
    cfg = Config.fromfile(path)
    cfg.merge_from_dict(rest)
    return cfg, apply_propagated_options(cfg, propagated)


def test_data_root_reaches_every_dataset_of_the_folder_config():
    cfg, changed = _load('configs/sga/sga_folder.py', {'data_root': '/my/images'})
    for split in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        assert cfg[split].dataset.data_root == '/my/images'
    assert len(changed['data_root']) == 3


def test_data_root_keeps_sub_folders_of_the_paper_configs():
    cfg, _ = _load('configs/sga/sga_afhq_dog.py', data_root='/data/afhq')
    assert cfg.train_dataloader.dataset.data_root.startswith('/data/afhq/train')
    assert cfg.test_dataloader.dataset.data_root.startswith('/data/afhq/val')


def test_flag_wins_and_explicit_dataset_paths_stay():
    cfg, _ = _load('configs/sga/sga_folder.py',
                   {'data_root': '/a', 'test_dataloader.dataset.data_root': '/elsewhere'},
                   data_root='/b')
    assert cfg.train_dataloader.dataset.data_root == '/b'
    assert cfg.test_dataloader.dataset.data_root == '/elsewhere'


def test_data_root_on_the_demo_is_an_error_not_ignored():
    with pytest.raises(ConfigError, match=r'no top-level data_root.*SyntheticToonDataset'):
        _load('configs/sga/sga_demo.py', {'data_root': '/my/images'})


def test_img_size_reaches_the_pipelines():
    cfg, changed = _load('configs/sga/sga_folder.py', {'img_size': 96})
    sizes = [t['size'] for t in cfg.train_dataloader.dataset.pipeline if 'size' in t]
    sizes += [t['size'] for t in cfg.val_dataloader.dataset.pipeline if 'size' in t]
    assert sizes == [96, 96]
    assert cfg.img_size == 96 and changed['img_size']


def test_dataset_description_follows_the_folder():
    cfg, _ = _load('configs/sga/sga_demo.py')
    assert dataset_description(cfg)['dataset'] == 'synthetic_toon'
    cfg, _ = _load('configs/sga/sga_folder.py', data_root='/data/wesnoth/portraits')
    described = dataset_description(cfg)
    assert described == dict(dataset='portraits', dataset_type='ColorizationDataset',
                             data_root='/data/wesnoth/portraits')
    cfg, _ = _load('configs/sga/sga_afhq_dog.py')  # unchanged: the config's own name
    assert dataset_description(cfg)['dataset'] == cfg.dataset_name
    cfg, _ = _load('configs/sga/sga_afhq_dog.py', data_root='/x/afhq2')
    assert dataset_description(cfg)['dataset'] == 'dog'  # /x/afhq2/val/dog: split folder skipped


def _sizes(node, path=''):
    """``(dotted path, value)`` of every img_size / size / min_size below ``node``."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ('img_size', 'size', 'min_size'):
                yield f'{path}.{key}', value
            yield from _sizes(value, f'{path}.{key}')
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            yield from _sizes(value, f'{path}[{i}]')


def test_img_size_reaches_every_size_of_a_paper_config_including_the_decode_size():
    cfg, changed = _load('configs/sga/sga_afhq_dog.py', {'img_size': 128})
    sizes = dict(_sizes({split: cfg[split] for split in
                         ('train_dataloader', 'val_dataloader', 'test_dataloader')}))
    assert sizes['.train_dataloader.dataset.pipeline[0].min_size'] == 128  # LoadColorImage
    assert cfg.train_dataloader.dataset.pipeline[0]['type'] == 'LoadColorImage'
    assert len(sizes) >= 4 and set(sizes.values()) == {128}, sizes
    assert 'train_dataloader.dataset.pipeline[0].min_size' in changed['img_size']
    # the top-level pipeline variables, which the dumped config shows, say the same size
    variables = dict(_sizes({key: cfg[key] for key in cfg.keys() if key.endswith('pipeline')}))
    assert variables and set(variables.values()) == {128}, variables


def test_img_size_reaches_transforms_inside_wrapping_transforms():
    cfg = Config(dict(img_size=64, train_dataloader=dict(dataset=dict(
        type='ColorizationDataset', pipeline=[
            dict(type='RandomChoice', transforms=[dict(type='Resize', size=64),
                                                  dict(type='CenterCrop', size=32)])]))))
    changed = apply_propagated_options(cfg, {'img_size': (96, 128)})
    inner = cfg.train_dataloader.dataset.pipeline[0]['transforms']
    assert inner[0]['size'] == (96, 128) and inner[1]['size'] == 32  # 32 was not img_size
    assert changed['img_size'] == ['train_dataloader.dataset.pipeline[0].transforms[0].size']
