"""Configs without an optional part of the Runner (validation, visualiser backends) train;
a ``save_best`` naming a metric the validation does not log is refused at start-up.
"""
import pytest
from mmengine.config import Config

from colorizer.engine.config_validation import ConfigError, check_config
from test_clean_runs import run_jobs
from tool_runner import ROOT, TINY

DEMO = str(ROOT / 'configs' / 'sga' / 'sga_demo.py')
#: TINY without the validation and test loaders, which these configs may not have.
TINY_TRAIN = [option for option in TINY if not option.startswith(('val_', 'test_'))]


def _run(config, work_dir, *options):
    return [config, str(work_dir), *TINY_TRAIN, 'train_cfg.max_iters=2',
            'default_hooks.checkpoint.interval=2', *options]


@pytest.mark.slow
def test_configs_without_optional_parts_train(tmp_path):
    no_validation = tmp_path / 'no_validation.py'
    # What the paper configs' comments suggest for training on every image.
    no_validation.write_text(f"_base_ = ['{DEMO}']\n"
                             'val_dataloader = None\nval_cfg = None\nval_evaluator = None\n')
    val_options = [option for option in TINY if option.startswith('val_')]
    with_val = [*val_options, 'train_cfg.val_interval=2']
    jobs = [_run(str(no_validation), tmp_path / 'no_val'),
            _run(DEMO, tmp_path / 'no_backends', *with_val, 'visualizer.vis_backends=[]'),
            _run(DEMO, tmp_path / 'no_visualizer', *with_val, 'visualizer=None')]
    runs = run_jobs(jobs, tmp_path)
    for job, (status, lines) in zip(jobs, runs):
        assert status == 0, '\n'.join(lines[-40:])
        work = tmp_path / job[1]
        assert (work / 'iter_2.pth').exists() and (work / 'samples' / 'iter_2.png').exists()
    no_val_log = '\n'.join(runs[0][1])
    assert 'the config has no validation set; the sample grids show the first training' in \
        no_val_log
    assert "save_best='random_ref/delta_e' is inactive: this config has no validation" in \
        no_val_log
    assert all('Iter(val)' in '\n'.join(lines) for _, lines in runs[1:])  # they validated


class TestSaveBest:

    def test_a_metric_the_evaluator_does_not_log_is_refused_by_name(self):
        cfg = Config.fromfile(DEMO)
        cfg.merge_from_dict({'default_hooks.checkpoint.save_best': 'random_ref/fid'})
        with pytest.raises(ConfigError, match=r"save_best='random_ref/fid' is not a metric of "
                           r"val_evaluator, which logs \['random_ref/delta_e', .*"
                           r"'random_ref/ssim', 'random_ref/psnr'\]"):
            check_config(cfg)

    def test_logged_names_follow_the_protocol_and_the_metrics(self):
        cfg = Config.fromfile(DEMO)
        for name in ('random_ref/delta_e', 'random_ref/delta_e/hair', 'random_ref/psnr'):
            cfg.merge_from_dict({'default_hooks.checkpoint.save_best': name})
            check_config(cfg)
        cfg.merge_from_dict({'val_dataloader.dataset.mode': 'self_reference'})
        # the self-reference protocol has no oracle for RegionColorError (refused on its own)
        cfg.val_evaluator = [m for m in cfg.val_evaluator if m['type'] != 'RegionColorError']
        with pytest.raises(ConfigError, match="save_best='random_ref/psnr'.*'self_ref/psnr'"):
            check_config(cfg)

    def test_train_tool_stops_before_building_anything(self, tmp_path):
        import importlib.util
        spec = importlib.util.spec_from_file_location('_tool_train', ROOT / 'tools' / 'train.py')
        tool = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(tool)
        with pytest.raises(SystemExit, match=r"error: default_hooks\.checkpoint\.save_best="
                           r"'random_ref/ssim_global' is not a metric"):
            tool.main([DEMO, '--work-dir', str(tmp_path / 'work'), '--cfg-options',
                       'default_hooks.checkpoint.save_best=random_ref/ssim_global'])
        assert not (tmp_path / 'work').exists()
