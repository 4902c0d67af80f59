"""Start-up check of plugin arguments: one line naming the key path, the value and what is valid."""
import re

import pytest
import torch
from mmengine.config import Config

from colorizer.datasets import SyntheticToonDataset
from colorizer.engine.component_validation import check_components
from colorizer.engine.config_validation import ConfigError
from colorizer.engine.propagated_options import (apply_propagated_options,
                                                 split_propagated_options)
from colorizer.invalid_argument import (InvalidArgumentError, check_choice, check_number,
                                        check_size)
from colorizer.registry import DATASETS, MODELS

DEMO = 'configs/sga/sga_demo.py'


def _config(path, options=None):
    propagated, rest = split_propagated_options(options or {})
    cfg = Config.fromfile(path)
    cfg.merge_from_dict(rest)
    applied = apply_propagated_options(cfg, propagated)
    return cfg, applied, propagated


def _refusal(path, options) -> str:
    cfg, applied, propagated = _config(path, options)
    with pytest.raises(ConfigError) as info:
        check_components(cfg, applied, propagated)
    message = str(info.value)
    assert '\n' not in message
    return message


# (config, option key, bad value, what the message must list as valid)
BAD_VALUES = [
    (DEMO, 'model.generator.attention.norm', 'single', "('double', 'softmax')"),
    (DEMO, 'model.generator.attention.implementation', 'fast', "('chunked', 'naive')"),
    (DEMO, 'model.generator.attention.chunk_size', 0, 'an integer >= 1'),
    ('configs/unite/unite_demo.py', 'model.generator.attention.transport', 'exact',
     "('unbalanced', 'balanced')"),
    ('configs/spade/spade_demo.py', 'model.generator.attention.condition', 'local',
     "('spatial', 'global')"),
    ('configs/cocosnet/cocosnet_demo.py', 'model.generator.attention.temperature', -1.0,
     'a number > 0'),
    (DEMO, 'model.nan_policy', 'ignore', "('raise', 'skip')"),
    (DEMO, 'train_dataloader.dataset.mode', 'paired', "'random_reference'"),
    (DEMO, 'train_dataloader.dataset.sketch', 'canny', "('xdog', 'outline')"),
    (DEMO, 'val_dataloader.dataset.pipeline.1.border_mode', 'wrap', 'one of ('),
    (DEMO, 'train_dataloader.dataset.pipeline.3.strength', -0.5, 'a number >= 0.0'),
    (DEMO, 'val_evaluator.1.mode', 'local', "('global', 'windowed')"),
    ('configs/corr_sga/corr_sga_demo.py', 'model.generator.attention.temperature', 0,
     'a number > 0'),
    ('configs/corr_sga/corr_sga_demo.py', 'model.correspondence_loss.positives', 'pixel',
     "one of ('region'"),
    ('configs/corr_sga/corr_sga_demo.py', 'train_dataloader.dataset.random_reference_prob', 1.5,
     'a number >= 0.0 and <= 1.0'),
]


@pytest.mark.parametrize('config,key,value,valid', BAD_VALUES,
                         ids=[f'{k}={v}' for _, k, v, _ in BAD_VALUES])
def test_a_bad_plugin_argument_is_one_line_with_key_value_and_valid_set(config, key, value,
                                                                        valid):
    message = _refusal(config, {key: value})
    path = key.replace('.pipeline.1.', '.pipeline[1].').replace('.pipeline.3.', '.pipeline[3].')
    path = path.replace('val_evaluator.1.', 'val_evaluator[1].')
    assert message.startswith(f'{path} = {value!r}:'), message
    assert valid in message, message


def test_region_fill_arguments_are_checked_at_start_up():
    message = _refusal(DEMO, {'model.region_fill': dict(max_region_share=2.0)})
    assert 'max_region_share' in message and '2.0' in message and '<= 1' in message, message


def test_a_loss_argument_is_checked_too():
    cfg, _, _ = _config(DEMO)
    cfg.model.perceptual_loss = dict(type='PerceptualLoss', pretrained=None, input_norm='zscore')
    with pytest.raises(ConfigError) as info:
        check_components(cfg)
    message = str(info.value)
    assert message.startswith("model.perceptual_loss.input_norm = 'zscore':"), message
    assert "'imagenet'" in message


def test_a_value_from_a_top_level_option_names_the_option():
    message = _refusal(DEMO, {'img_size': 8})
    assert message.startswith('img_size = 8 (applied to train_dataloader.dataset.img_size)')
    assert 'an integer >= 16 or an (h, w) pair' in message
    message = _refusal(DEMO, {'img_size': 'big'})
    assert message.startswith("img_size = 'big'"), message


def test_an_unknown_argument_names_the_component_path():
    message = _refusal(DEMO, {'model.generator.attention.nrom': 'double'})
    assert message.startswith('model.generator.attention (SGA):') and 'nrom' in message


def test_valid_configs_pass_without_reading_data(tmp_path):
    for config in (DEMO, 'configs/unite/unite_demo.py', 'configs/sga/sga_folder.py'):
        cfg, applied, propagated = _config(config, {'data_root': str(tmp_path)}
                                           if 'folder' in config else None)
        check_components(cfg, applied, propagated)  # the empty folder is not listed here


def test_a_data_root_option_naming_no_folder_is_refused(tmp_path):
    message = _refusal('configs/sga/sga_folder.py', {'data_root': str(tmp_path / 'absent')})
    assert message.startswith(f"data_root = '{tmp_path / 'absent'}': no such folder")
    assert 'train_dataloader.dataset.data_root' in message


def test_a_transform_size_from_img_size_is_checked():
    message = _refusal('configs/sga/sga_folder.py', {'img_size': (0, 64)})
    assert message.startswith('img_size = (0, 64) (applied to train_dataloader.dataset.'
                              'pipeline['), message
    assert 'an integer >= 1 or an (h, w) pair' in message


def test_tuple_img_size_on_the_demo_is_applied_and_trains():
    cfg, applied, propagated = _config(DEMO, {'img_size': (48, 64)})
    check_components(cfg, applied, propagated)
    assert cfg.train_dataloader.dataset.img_size == (48, 64)
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    samples = [dataset[i] for i in range(2)]
    for sample in samples:
        assert tuple(sample['inputs']['sketch'].shape) == (1, 48, 64)
        assert tuple(sample['inputs']['reference'].shape) == (3, 48, 64)
        assert tuple(sample['data_samples'].labels.shape) == (48, 64)
    cfg.model.generator.base_channels = 2
    model = MODELS.build(cfg.model)
    batch = dict(inputs=[s['inputs'] for s in samples],
                 data_samples=[s['data_samples'] for s in samples])
    batch = dict(inputs={k: [i[k] for i in batch['inputs']] for k in batch['inputs'][0]},
                 data_samples=batch['data_samples'])
    with torch.no_grad():
        out = model(**model.data_preprocessor(batch, True), mode='tensor')
    assert tuple(out.shape) == (2, 3, 48, 64) and torch.isfinite(out).all()


def test_synthetic_rectangle_is_the_square_scene_centre_crop():
    square = SyntheticToonDataset(img_size=64, length=1)
    wide = SyntheticToonDataset(img_size=(48, 64), length=1)
    image, labels = square.render(square.geometry(0), square.palette(0))
    crop, crop_labels = wide.render(wide.geometry(0), wide.palette(0))
    assert crop.shape == (48, 64, 3) and crop.flags['C_CONTIGUOUS']
    assert (crop == image[8:56]).all() and (crop_labels == labels[8:56]).all()


def test_argument_checks():
    assert check_size('s', (3, 4)) == (3, 4) and check_size('s', 5) == (5, 5)
    for bad in (True, (4,), (4, 4.5), '4', (0, 4)):
        with pytest.raises(InvalidArgumentError, match='an integer >= 1 or an'):
            check_size('s', bad)
    assert check_number('n', 2, 1, integer=True) == 2
    for bad, kwargs in ((1.5, dict(integer=True)), (float('nan'), {}), (float('inf'), {}),
                        (0, dict(exclusive_minimum=True)), (True, {}), (None, {})):
        with pytest.raises(InvalidArgumentError) as info:
            check_number('n', bad, 0, **kwargs)
        assert info.value.argument == 'n'
    assert check_number('n', None, 0, allow_none=True) is None
    with pytest.raises(InvalidArgumentError, match=r"x=\[1\] is not valid; valid: one of"):
        check_choice('x', [1], {'a'})
    error = InvalidArgumentError('norm', 'single', "one of ('double',)", 'SGA')
    import pickle
    again = pickle.loads(pickle.dumps(error))
    assert (again.argument, again.value, again.valid, str(again)) == (
        'norm', 'single', "one of ('double',)", str(error))


@pytest.mark.parametrize('evaluator,path', [
    (dict(type='SSIM', mode='x'), 'test_evaluator.mode'),
    (dict(metrics=[dict(type='PSNR'), dict(type='SSIM', mode='x')]),
     'test_evaluator.metrics[1].mode'),
])
def test_metric_paths_in_every_evaluator_form(evaluator, path):
    cfg, _, _ = _config(DEMO)
    cfg.test_evaluator = evaluator
    with pytest.raises(ConfigError, match='^' + re.escape(f"{path} = 'x'")):
        check_components(cfg)


def test_a_training_run_does_not_build_the_test_split():
    cfg, _, _ = _config(DEMO, {'test_dataloader.dataset.sketch': 'canny'})
    check_components(cfg, splits=('train', 'val'))  # train.py never builds the test split
    with pytest.raises(ConfigError, match="^test_dataloader.dataset.sketch = 'canny'"):
        check_components(cfg, splits=('test',))
