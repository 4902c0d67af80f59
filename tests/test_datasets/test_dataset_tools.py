import importlib.util
import sys
from pathlib import Path

import cv2
import pytest

from colorizer.datasets import ColorizationDataset, read_gray_image

ROOT = Path(__file__).resolve().parents[2]


def _load_tool(rel_path: str):
    spec = importlib.util.spec_from_file_location(Path(rel_path).stem, ROOT / rel_path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # so worker processes can unpickle its functions
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def prepare_sketches():
    return _load_tool('tools/dataset_converters/prepare_sketches.py')


@pytest.mark.parametrize('workers', [1, 2])
def test_prepare_sketches_keeps_relative_paths(image_folder, tmp_path, prepare_sketches, workers):
    dst = tmp_path / f'sketches{workers}'
    assert prepare_sketches.main([str(image_folder), str(dst), '--workers', str(workers)]) == 0
    for rel in ('a.png', 'b.png', 'c.png', 'sub/d.png', 'sub/e.png'):
        sketch = read_gray_image(dst / rel)
        assert sketch.shape == (48, 48)
    # the dataset finds them and skips XDoG
    ds = ColorizationDataset(
        data_root=str(image_folder), sketch_root=str(dst),
        pipeline=[dict(type='LoadColorImage'), dict(type='LoadSketch')])
    assert ds[3]['sketch'].shape == (48, 48)


def test_prepare_sketches_reports_bad_files(image_folder, tmp_path, prepare_sketches, capsys):
    (image_folder / 'broken.jpg').write_bytes(b'')
    (image_folder / 'sub' / 'fake.png').write_text('hello')
    code = prepare_sketches.main([str(image_folder), str(tmp_path / 'out'), '--sigma', '0.3'])
    assert code == 1
    err = capsys.readouterr().err
    assert 'broken.jpg' in err and 'sub/fake.png' in err
    assert (tmp_path / 'out' / 'a.png').exists()


def test_prepare_sketches_sigma_choice(prepare_sketches):
    assert prepare_sketches.pick_sigma('x.jpg', 0.5, 0) == 0.5
    picks = {prepare_sketches.pick_sigma(f'{i}.jpg', None, 0) for i in range(30)}
    assert picks == {0.3, 0.4, 0.5}


def test_browse_dataset_writes_png_grid(tmp_path):
    browse = _load_tool('tools/analysis_tools/browse_dataset.py')
    config = ROOT / 'configs' / '_base_' / 'datasets' / 'synthetic_toon.py'
    written = browse.main([
        str(config), '--out', str(tmp_path), '--split', 'val', '--num', '3', '--tile', '64',
        '--cfg-options', 'val_dataloader.dataset.length=4'
    ])
    assert len(written) == 1
    grid = cv2.imread(written[0])
    # 3 rows; 5 tiles (sketch, reference, target, oracle, labels) of 64 px plus gaps
    assert grid.shape[0] >= 3 * 64 and grid.shape[1] >= 5 * 64


@pytest.mark.filterwarnings('ignore:.*upscaled')
def test_browse_dataset_on_a_folder_config(image_folder, tmp_path):
    browse = _load_tool('tools/analysis_tools/browse_dataset.py')
    config = ROOT / 'configs' / '_base_' / 'datasets' / 'afhq_cat.py'
    written = browse.main([
        str(config), '--out', str(tmp_path / 'b'), '--split', 'train', '--num', '2',
        '--cfg-options', f'train_dataloader.dataset.data_root={image_folder}'
    ])
    assert cv2.imread(written[0]) is not None


@pytest.mark.filterwarnings('ignore:.*upscaled')
def test_browse_dataset_takes_the_folder_configs_data_root(image_folder, tmp_path):
    # configs/sga/sga_folder.py reads data/my_images unless --data-root (or data_root=) reaches
    # every dataset, as in tools/train.py
    browse = _load_tool('tools/analysis_tools/browse_dataset.py')
    config = str(ROOT / 'configs' / 'sga' / 'sga_folder.py')
    for flag in (['--data-root', str(image_folder)],
                 ['--cfg-options', f'data_root={image_folder}']):
        written = browse.main([config, '--out', str(tmp_path / flag[0]), '--num', '2', *flag])
        assert cv2.imread(written[0]) is not None


@pytest.mark.filterwarnings('ignore:.*upscaled')
def test_configs_build(image_folder):
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from colorizer.engine.config_validation import check_config
    from colorizer.registry import DATASETS
    init_default_scope('colorizer')
    for name in ('synthetic_toon', 'skimage_photo'):
        cfg = Config.fromfile(ROOT / 'configs' / '_base_' / 'datasets' / f'{name}.py')
        check_config(cfg)
        sample = DATASETS.build(cfg.val_dataloader.dataset)[1]
        assert sample['data_samples'].metainfo['protocol'] == 'random'
    for name in ('afhq_cat', 'afhq_dog', 'afhq_wild', 'anime'):
        cfg = Config.fromfile(ROOT / 'configs' / '_base_' / 'datasets' / f'{name}.py')
        check_config(cfg)  # only known top-level keys and registered types
        for split in ('train', 'val', 'test'):
            loader = cfg[f'{split}_dataloader']
            assert loader.collate_fn.type == 'pseudo_collate'
            assert loader.batch_size == 16
            # Test on the paper's val folder; validation on a held-out part of train.
            assert ('/val' if split == 'test' else '/train') in loader.dataset.data_root
            assert loader.dataset.get('holdout_part', 'rest') == (
                'holdout' if split == 'val' else 'rest')
            loader.dataset.data_root = str(image_folder)
            if split == 'val':
                loader.dataset.holdout = 0.4  # 2 of the 5 images: a pairing needs two
            sample = DATASETS.build(loader.dataset)[0]
            assert sample['inputs']['sketch'].shape[1:] == (256, 256)


def test_synthetic_config_through_mmengine_dataloader():
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmengine.runner import Runner
    init_default_scope('colorizer')
    cfg = Config.fromfile(ROOT / 'configs' / '_base_' / 'datasets' / 'synthetic_toon.py')
    loader_cfg = cfg.train_dataloader
    loader_cfg.update(num_workers=0, persistent_workers=False, batch_size=4)
    loader_cfg.dataset.length = 8
    batch = next(iter(Runner.build_dataloader(loader_cfg, seed=0)))
    assert len(batch['inputs']['sketch']) == 4 and len(batch['data_samples']) == 4
    assert batch['inputs']['sketch'][0].shape == (1, 64, 64)
