"""The README's "Train on your own images": configs/sga/sga_folder.py trains on a generated
folder of colour images through the documented command, and tools/test.py tests it."""
import json
import sys

import cv2
import numpy as np
import pytest

from tool_runner import run_tool, train

#: The documented command's settings shrunk to seconds (32 px, width 2, 4 iterations).
TINY_FOLDER = [
    'img_size=32', 'train_cfg.max_iters=4', 'train_cfg.val_interval=2',
    'default_hooks.checkpoint.interval=2', 'default_hooks.logger.interval=1',
    'custom_hooks.1.interval=2', 'model.generator.base_channels=2',
    'model.discriminator.base_channels=4', 'randomness.deterministic=True',
]
_LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')
TINY_LOADERS = [f'{loader}.{key}' for loader in _LOADERS for key in (
    'batch_size=4', 'num_workers=0', 'persistent_workers=False')]


def _grid_columns(path, side, padding=2):
    """Columns of a SampleGridHook grid of ``side`` px images (make_grid's layout)."""
    width = cv2.imread(str(path)).shape[1]
    assert (width - padding) % (side + padding) == 0
    return (width - padding) // (side + padding)


def make_image_folder(root, count=20, seed=0):
    """``count`` colour PNGs (48x40 px) of random coloured shapes, in a sub-folder too."""
    rng = np.random.default_rng(seed)
    for i in range(count):
        image = np.full((40, 48, 3), rng.integers(0, 256, 3), np.uint8)
        for _ in range(4):
            colour = tuple(int(c) for c in rng.integers(0, 256, 3))
            centre = tuple(int(v) for v in rng.integers(4, 36, 2))
            cv2.circle(image, centre, int(rng.integers(4, 14)), colour, -1)
        folder = root / ('more' if i % 3 == 0 else '')
        folder.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(folder / f'img_{i:02d}.png'), image)
    return root


@pytest.mark.slow
def test_folder_config_trains_and_tests_on_a_generated_folder(tmp_path):
    data = make_image_folder(tmp_path / 'my_pictures')
    work = tmp_path / 'work'
    train = run_tool([sys.executable, 'tools/train.py', 'configs/sga/sga_folder.py',
                      '--data-root', str(data), '--work-dir', str(work),
                      '--cfg-options', *TINY_FOLDER, *TINY_LOADERS])
    log = train.stdout + train.stderr
    assert 'CPU threads: 1 (OMP_NUM_THREADS from the environment' in log
    assert (work / 'iter_4.pth').is_file()
    # validation ran on the folder and save_best found its metric
    assert list(work.glob('best_random_ref_ssim_iter_*.pth'))
    assert _grid_columns(work / 'samples' / 'iter_4.png', 32) == 4  # no oracle in a folder
    config = (work / 'sga_folder.py').read_text()
    assert str(data) in config and 'data/my_images' not in config.split('data_root = ')[-1][:40]

    out = tmp_path / 'results.json'
    run_tool([sys.executable, 'tools/test.py', 'configs/sga/sga_folder.py',
              str(work / 'iter_4.pth'),
              '--data-root', str(data), '--work-dir', str(work), '--out', str(out),
              '--cfg-options', 'img_size=32', 'model.generator.base_channels=2',
              'model.discriminator.base_channels=4', *TINY_LOADERS])
    record = json.loads(out.read_text())
    assert record['dataset'] == 'my_pictures'  # the folder, not an inherited name
    assert record['dataset_type'] == 'ColorizationDataset'
    assert record['data_root'] == str(data)
    assert 0 < record['random_ref/ssim'] <= 1 and record['random_ref/psnr'] > 0


def test_demo_with_a_data_root_stops_at_start_up(tmp_path):
    result = run_tool([sys.executable, 'tools/train.py', 'configs/sga/sga_demo.py',
                       '--work-dir', str(tmp_path / 'w'), '--cfg-options',
                       f'train_dataloader.dataset.data_root={tmp_path}'], check=False)
    assert result.returncode != 0
    assert 'SyntheticToonDataset does not accept' in result.stderr
    assert not (tmp_path / 'w').exists() or not list((tmp_path / 'w').glob('*.pth'))


@pytest.mark.slow
def test_demo_sample_grids_have_an_oracle_column(tmp_path):
    # README "Outputs": sketch | reference | output | target | oracle for the synthetic set
    train(tmp_path, 'train_cfg.max_iters=2', 'train_cfg.val_interval=100')
    assert _grid_columns(tmp_path / 'samples' / 'iter_2.png', 32) == 5
