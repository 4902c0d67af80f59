"""tools/train.py and tools/test.py end to end on the demo config, shrunk to seconds."""
import json
import sys

import pytest
import torch

from colorizer.engine import safe_load
from tool_runner import TINY, run_tool, train


def test_train_checkpoints_resumes_and_continues(tmp_path):
    work = tmp_path / 'work'
    train(work, 'train_cfg.max_iters=4', 'train_cfg.val_interval=4',
          'default_hooks.checkpoint.interval=2')
    assert (work / 'iter_4.pth').exists() and (work / 'samples' / 'iter_4.png').exists()
    assert (work / 'sga_demo.py').exists()  # the resolved config is dumped
    first = safe_load(str(work / 'iter_4.pth'))
    assert first['meta']['iter'] == 4

    result = train(work, 'train_cfg.max_iters=6', 'train_cfg.val_interval=6',
                   'default_hooks.checkpoint.interval=2', extra=['--resume'])
    assert 'resumed epoch: 0, iter: 4' in result.stdout + result.stderr
    resumed = safe_load(str(work / 'iter_6.pth'))
    assert resumed['meta']['iter'] == 6
    # Training went on from the resumed weights: the two checkpoints differ.
    changed = [k for k, v in first['state_dict'].items()
               if v.is_floating_point() and not torch.equal(v, resumed['state_dict'][k])]
    assert changed


def test_resume_from_an_explicit_checkpoint_and_test_tool_writes_metrics(tmp_path):
    work = tmp_path / 'work'
    train(work, 'train_cfg.max_iters=2', 'train_cfg.val_interval=2',
          'default_hooks.checkpoint.interval=2')
    out = tmp_path / 'results.json'
    images = tmp_path / 'images'
    run_tool([sys.executable, 'tools/test.py', 'configs/sga/sga_demo.py', str(work / 'iter_2.pth'),
              '--work-dir', str(work), '--out', str(out), '--save-images', str(images),
              '--cfg-options', *TINY])
    record = json.loads(out.read_text())
    assert record['method'] == 'SGA' and 0 <= record['random_ref/ssim'] <= 1
    assert 'random_ref/delta_e' in record
    assert len(list(images.glob('*.png'))) == 4


def test_misspelled_config_key_stops_with_its_name(tmp_path):
    result = train(tmp_path, 'trian_cfg.max_iters=2', check=False)
    assert result.returncode != 0
    assert "'trian_cfg'" in result.stderr and 'train_cfg' in result.stderr
    assert not (tmp_path / 'sga_demo.py').exists()  # stopped before writing anything


def test_missing_data_folder_stops_with_the_path(tmp_path):
    missing = tmp_path / 'no_such_folder'
    result = run_tool([sys.executable, 'tools/train.py', 'configs/sga/sga_afhq_dog.py',
                       '--work-dir', str(tmp_path / 'w'), '--cfg-options',
                       f'train_dataloader.dataset.data_root={missing}',
                       'model.perceptual_loss.pretrained=None'], check=False)
    assert result.returncode != 0
    assert str(missing) in result.stderr


def test_missing_resume_checkpoint_is_named(tmp_path):
    result = train(tmp_path, extra=['--resume', str(tmp_path / 'nope.pth')], check=False)
    assert result.returncode != 0 and 'nope.pth' in result.stderr


def test_paper_config_without_vgg_weights_stops_at_start_up_naming_the_file(tmp_path):
    result = run_tool([sys.executable, 'tools/train.py', 'configs/sga/sga_afhq_dog.py',
                       '--work-dir', str(tmp_path / 'w')],
                      env={'TORCH_HOME': str(tmp_path / 'empty_hub')}, check=False)
    assert result.returncode != 0
    assert 'vgg19-dcbb9e9d.pth' in result.stderr and 'Traceback' not in result.stderr


def test_test_tool_refuses_a_checkpoint_of_another_architecture(tmp_path):
    work = tmp_path / 'work'
    train(work, 'train_cfg.max_iters=1', 'train_cfg.val_interval=1',
          'default_hooks.checkpoint.interval=1')
    result = run_tool([sys.executable, 'tools/test.py', 'configs/scft/scft_demo.py',
                       str(work / 'iter_1.pth'), '--work-dir', str(tmp_path / 't'),
                       '--cfg-options', *TINY], check=False)
    assert result.returncode != 0
    assert 'does not fit the model' in result.stderr and 'attention' in result.stderr


def test_paper_config_without_inception_weights_stops_before_training(tmp_path):
    import cv2
    import numpy as np
    data = tmp_path / 'images'
    data.mkdir()
    for i in range(40):  # the 5% validation hold-out needs two images for its pairing
        cv2.imwrite(str(data / f'{i}.png'), np.full((16, 16, 3), 6 * i, np.uint8))
    result = run_tool([sys.executable, 'tools/train.py', 'configs/sga/sga_afhq_dog.py',
                       '--work-dir', str(tmp_path / 'w'), '--cfg-options',
                       f'train_dataloader.dataset.data_root={data}',
                       f'val_dataloader.dataset.data_root={data}',
                       'train_dataloader.num_workers=0',
                       'train_dataloader.persistent_workers=False',
                       'val_dataloader.num_workers=0', 'val_dataloader.persistent_workers=False',
                       'model.perceptual_loss.pretrained=None'],
                      env={'TORCH_HOME': str(tmp_path / 'empty_hub')}, check=False)
    assert result.returncode != 0
    assert 'pt_inception-2015-12-05-6726825d.pth' in result.stderr
    assert 'Iter(train)' not in result.stdout + result.stderr


@pytest.mark.slow
def test_demo_trains_with_the_hinge_loss_by_config_alone(tmp_path):
    """Switching the GAN loss is one config key: no code, no other key."""
    from mmengine.config import Config

    from colorizer.models.losses import HingeGANLoss
    from colorizer.registry import LOSSES
    work = tmp_path / 'work'
    train(work, 'train_cfg.max_iters=2', 'train_cfg.val_interval=100',
          'default_hooks.checkpoint.interval=2', 'model.adversarial_loss.type=HingeGANLoss')
    assert safe_load(str(work / 'iter_2.pth'))['meta']['iter'] == 2
    dumped = Config.fromfile(str(work / 'sga_demo.py'))
    assert isinstance(LOSSES.build(dumped.model.adversarial_loss), HingeGANLoss)
    (scalars, ) = work.glob('*/vis_data/scalars.json')
    records = [json.loads(line) for line in scalars.read_text().splitlines()]
    steps = [r for r in records if 'loss_d_real' in r]
    assert [r['step'] for r in steps] == [1, 2]
    for record in steps:
        # hinge terms of the discriminator are max(0, 1 ∓ D): finite and non-negative
        assert 0 <= record['loss_d_real'] < 1e3 and 0 <= record['loss_d_fake'] < 1e3
        assert abs(record['loss_g_adv']) < 1e3
