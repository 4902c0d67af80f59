"""Metrics with a minimum input size say so, naming the metric, the size and what to do, before
the evaluation loop runs."""
import importlib.util
from pathlib import Path

import pytest
import torch

from colorizer.engine.config_validation import ConfigError, check_config
from colorizer.evaluation.metrics import FID, PSNR, SSIM, FIDInception
from colorizer.evaluation.metrics.base import InputSizeError
from colorizer.evaluation.metrics.evaluator_checks import (check_metric_input_sizes,
                                                           dataloader_image_size)
from eval_samples import TinyFeatures, make_samples

ROOT = Path(__file__).resolve().parents[2]
DEMO = str(ROOT / 'configs' / 'sga' / 'sga_demo.py')


def _images(n, h, w):
    return torch.randint(0, 256, (n, 3, h, w), generator=torch.Generator().manual_seed(0),
                         dtype=torch.int64).to(torch.uint8)


def _small_test_config(tmp_path, size) -> str:
    """The demo config with a test pipeline that resizes to ``size``."""
    config = tmp_path / 'small_test.py'
    config.write_text(
        f"_base_ = ['{DEMO}']\n"
        "test_dataloader = dict(dataset=dict(pipeline=[\n"
        f"    dict(type='Resize', size={size!r}), dict(type='XDoG'), dict(type='TPSWarp'),\n"
        "    dict(type='PackColorizationInputs')]))\n")
    return str(config)


class TestRefusedBeforeTheLoop:
    """tools/test.py and tools/train.py check the sizes with the config, at start-up."""

    @pytest.mark.parametrize('size', [10, (8, 32)])
    def test_tools_test_refuses_windowed_ssim_on_small_images(self, tmp_path, size):
        spec = importlib.util.spec_from_file_location('_tool_test', ROOT / 'tools' / 'test.py')
        tool = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(tool)
        checkpoint = tmp_path / 'never_read.pth'
        checkpoint.write_bytes(b'')  # the check comes before the checkpoint is read
        with pytest.raises(SystemExit) as exit_info:
            tool.main([_small_test_config(tmp_path, size), str(checkpoint),
                       '--work-dir', str(tmp_path / 'work')])
        message = str(exit_info.value.code)
        assert message.startswith('error: test_evaluator[1]: ')
        assert "SSIM(mode='windowed') needs images of at least 11x11 px" in message
        h, w = (size, size) if isinstance(size, int) else size
        assert f'test_dataloader.dataset.pipeline[0].size (Resize) makes them {w}x{h} px' in message
        assert "SSIM(mode='global')" in message  # what to do
        assert 'win_size' not in message  # not scikit-image's option, which SSIM does not have
        assert not (tmp_path / 'work').exists()

    def test_img_size_of_the_dataset_and_its_default(self):
        from mmengine.config import Config
        cfg = Config.fromfile(DEMO)
        cfg.merge_from_dict({'val_dataloader.dataset.img_size': 10})
        with pytest.raises(ConfigError, match=r'val_evaluator\[1\]: SSIM.*'
                           r'val_dataloader\.dataset\.img_size makes them 10x10 px'):
            check_config(cfg)
        del cfg.val_dataloader.dataset['img_size']  # SyntheticToonDataset's default: 64
        assert dataloader_image_size(cfg.val_dataloader, 'val_dataloader') == (
            (64, 64), 'val_dataloader.dataset.img_size (default)')
        check_metric_input_sizes(cfg)

    def test_global_ssim_and_psnr_take_any_size(self):
        cfg = dict(test_cfg=dict(type='TestLoop'),
                   test_dataloader=dict(dataset=dict(type='SyntheticToonDataset', img_size=2)),
                   test_evaluator=[dict(type='SSIM', mode='global'), dict(type='PSNR')])
        check_metric_input_sizes(cfg)

    def test_no_test_loop_no_check(self):
        cfg = dict(test_cfg=None, test_dataloader=dict(dataset=dict(img_size=2)),
                   test_evaluator=dict(type='SSIM'))
        check_metric_input_sizes(cfg)

    def test_fid_without_resizing_needs_inceptions_75_px(self):
        cfg = dict(val_cfg=dict(type='ValLoop'),
                   val_dataloader=dict(dataset=dict(img_size=64)),
                   val_evaluator=dict(type='Evaluator', metrics=[
                       dict(type='PSNR'), dict(type='FID', input_size=None)]))
        with pytest.raises(ConfigError, match=r'val_evaluator\.metrics\[1\]: FID\(input_size=None\)'
                           r' needs images of at least 75x75 px.*64x64.*input_size=299'):
            check_metric_input_sizes(cfg)
        cfg['val_evaluator']['metrics'][1]['input_size'] = 299
        check_metric_input_sizes(cfg)


class TestCheckedOnEveryImage:
    """Used directly (or with a dataset the start-up check cannot size), a metric still refuses
    small images itself, before scikit-image or Inception sees them."""

    @pytest.mark.parametrize('h,w', [(10, 10), (8, 32)])
    def test_windowed_ssim(self, h, w):
        samples = make_samples(_images(2, h, w), _images(2, h, w))
        with pytest.raises(InputSizeError, match=rf"SSIM\(mode='windowed'\) needs images of at "
                           rf'least 11x11 px, but the evaluated images are {w}x{h} px'):
            SSIM().process(None, samples)
        SSIM(mode='global').process(None, samples)
        PSNR().process(None, samples)

    def test_windowed_ssim_at_its_minimum(self):
        images = _images(2, 11, 11)
        metric = SSIM()
        metric.process(None, make_samples(images, images))
        assert metric.evaluate(2)['random_ref/ssim'] == pytest.approx(1.0)

    def test_fid_feature_extractor_declares_its_minimum(self):
        extractor = TinyFeatures()
        extractor.min_input_size = 16
        metric = FID(feature_extractor=extractor, real_stats_cache=None)
        with pytest.raises(InputSizeError, match=r'FID\(feature_extractor=TinyFeatures\) needs '
                           r'images of at least 16x16 px, but the evaluated images are 8x8'):
            metric.process(None, make_samples(_images(2, 8, 8), _images(2, 8, 8)))

    def test_inception_at_native_size(self):
        with pytest.warns(UserWarning, match='randomly initialised'):
            native = FIDInception(None, input_size=None)
        assert native.min_input_size == 75
        with pytest.warns(UserWarning, match='randomly initialised'):
            metric = FID(inception_weights=None, input_size=None, real_stats_cache=None)
        with pytest.raises(InputSizeError, match=r'at least 75x75 px.*32x32'):
            metric.process(None, make_samples(_images(2, 32, 32), _images(2, 32, 32)))
        native(_images(1, 75, 75))  # the stated minimum really works
        with pytest.raises(ValueError, match='input_size=50 is below the 75 px'):
            FIDInception(None, input_size=50)
