"""Faults of a real tools/train.py run end with one `error:` line naming what and where.

ENOSPC and a read-only work dir use a small tmpfs (needs mount rights: root in a container;
skipped otherwise).
"""
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest

from tool_runner import ROOT, run_tool, train

PLUGINS = os.pathsep.join([str(ROOT / 'tests' / 'test_tools' / 'plugins'), str(ROOT)])
QUICK = ['train_cfg.max_iters=2', 'train_cfg.val_interval=1000',
         'default_hooks.checkpoint.interval=1']


def _last_line(result):
    assert result.returncode == 1, (result.returncode, result.stderr[-3000:])
    assert 'Traceback' not in result.stderr, result.stderr[-4000:]
    return [line for line in result.stderr.splitlines() if line.strip()][-1]


@pytest.fixture
def tmpfs(tmp_path):
    """Mount a tmpfs at ``tmp_path / 'mnt'``: ``mount(options)`` returns the mount point."""
    point = tmp_path / 'mnt'
    point.mkdir()
    mounted = []

    def mount(options):
        done = subprocess.run(['mount', '-t', 'tmpfs', '-o', options, 'tmpfs', str(point)],
                              capture_output=True)
        if done.returncode != 0:
            pytest.skip(f'cannot mount a tmpfs here: {done.stderr.decode().strip()}')
        mounted.append(point)
        return point

    yield mount
    for path in mounted:
        subprocess.run(['umount', str(path)], check=False)


def test_disk_full_names_the_checkpoint_and_the_free_space(tmpfs):
    # 3 MiB: the logs and the config fit, the first checkpoint (about 4 MB) does not.
    work = tmpfs('size=3m') / 'work'
    line = _last_line(train(work, *QUICK, check=False))
    assert line.startswith('error: no space left on the device (or quota exceeded) while '
                           f'writing {work}/iter_1.pth (') and 'MiB free there' in line, line
    assert not [p for p in work.iterdir() if p.name.endswith('.tmp')]  # nothing half-written


def test_read_only_work_dir_is_one_line(tmpfs):
    point = tmpfs('size=1m,ro')
    line = _last_line(train(point / 'work', *QUICK, check=False))
    assert line.startswith(f'error: cannot write {point}/work') and 'read-only' in line, line


def test_nan_input_is_one_line_naming_the_sample(tmp_path):
    config = tmp_path / 'nan_input.py'
    config.write_text(
        f"_base_ = ['{ROOT / 'configs' / 'sga' / 'sga_demo.py'}']\n"
        "custom_imports = dict(imports=['fault_plugin'], allow_failed_imports=False)\n"
        "train_dataloader = dict(dataset=dict(\n"
        "    pipeline=[*_base_.train_pipeline, dict(type='NaNSketch')]))\n")
    result = train(tmp_path / 'work', *QUICK, config=str(config), env={'PYTHONPATH': PLUGINS},
                   check=False)
    line = _last_line(result)
    assert line.startswith('error: non-finite input') and 'sketch of sample' in line, line


def test_a_bad_image_read_in_a_dataloader_worker_is_one_line_naming_it(tmp_path):
    data = tmp_path / 'pictures'
    data.mkdir()
    rng = np.random.default_rng(0)
    for i in range(20):
        cv2.imwrite(str(data / f'img_{i}.png'), rng.integers(0, 256, (40, 48, 3), np.uint8))
    bad = data / 'img_3.png'
    bad.write_bytes(bad.read_bytes()[:60])  # truncated
    loaders = [f'{loader}.{key}' for loader in ('train_dataloader', 'val_dataloader')
               for key in ('batch_size=4', 'persistent_workers=False')]
    result = run_tool([sys.executable, 'tools/train.py', 'configs/sga/sga_folder.py',
                       '--data-root', str(data), '--work-dir', str(tmp_path / 'work'),
                       '--cfg-options', 'img_size=32', 'model.generator.base_channels=2',
                       'model.discriminator.base_channels=4', *loaders,
                       'train_dataloader.num_workers=1', 'val_dataloader.num_workers=0',
                       'train_dataloader.dataset.on_bad_image=raise',
                       'train_cfg.max_iters=4', 'train_cfg.val_interval=1000'], check=False)
    line = _last_line(result)
    assert line.startswith(f"error: cannot read image '{bad}'") and \
        '(in DataLoader worker 0, ImageReadError)' in line, line


def test_resume_from_a_pointer_to_nothing_fails_instead_of_training_from_scratch(tmp_path):
    work = tmp_path / 'work'
    work.mkdir()
    (work / 'last_checkpoint').write_text(str(work / 'iter_7.pth'))  # deleted, no other
    result = train(work, *QUICK, extra=['--resume'], check=False)
    line = _last_line(result)
    assert line.startswith(f'error: cannot resume: {work}/last_checkpoint names '
                           f'{work}/iter_7.pth, which does not exist') and \
        'no complete iter_N.pth' in line, line
    assert not list(work.glob('iter_*.pth'))  # nothing trained
    # The full traceback on request.
    shown = train(work, *QUICK, extra=['--resume'], env={'COLORIZER_TRACEBACK': '1'},
                  check=False)
    assert shown.returncode == 1 and 'Traceback (most recent call last)' in shown.stderr
    assert shown.stderr.strip().splitlines()[-1] == line
