"""MMEngine's standard components through the tools: EMAHook and stored-state schedulers train,
save, resume exactly, test and serve.

Each config trains 4 iterations straight (a checkpoint every 2); a second run of the same config
resumes from the straight run's iteration-2 checkpoint. The iteration-4 checkpoints must be
equal tensor for tensor (weights, both optimisers, the EMA copy, the schedulers).
"""
import json
import sys

import pytest
import torch

from colorizer.apis import init_model
from colorizer.engine import safe_load
from test_clean_runs import run_jobs
from tool_runner import ROOT, TINY, run_tool

DEMO = ROOT / 'configs' / 'sga' / 'sga_demo.py'
#: The demo's custom hooks (SampleGridHook at TINY's index 1) plus MMEngine's EMAHook.
EMA = f"""_base_ = ['{DEMO}']
custom_hooks = [dict(type='SafeCheckpointHook'),
                dict(type='SampleGridHook', interval=250, num_samples=8),
                dict(type='EMAHook', momentum=0.5)]
"""
#: The configs of a public bug report: warm-up then MultiStepLR (a Counter in its state), and
#: OneCycleLR (a function in its state).
WARMUP_MULTISTEP = f"""_base_ = ['{DEMO}']
param_scheduler = [dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=2),
                   dict(type='MultiStepLR', milestones=[1, 3], gamma=0.5, by_epoch=False)]
"""
ONE_CYCLE = f"""_base_ = ['{DEMO}']
param_scheduler = [dict(type='OneCycleLR', eta_max=0.01, total_steps=4, by_epoch=False)]
"""
OPTIONS = ['train_cfg.max_iters=4', 'train_cfg.val_interval=100',
           'default_hooks.checkpoint.interval=2']


def _equal(a, b, path='checkpoint'):
    """Paths where two nested checkpoint entries differ (tensors compared exactly)."""
    if isinstance(a, torch.Tensor):
        return [] if torch.equal(a, b) else [path]
    if isinstance(a, dict):
        if set(a) != set(b):
            return [f'{path} keys']
        return [p for k in a for p in _equal(a[k], b[k], f'{path}[{k!r}]')]
    if isinstance(a, (list, tuple)):
        return [p for i, (x, y) in enumerate(zip(a, b)) for p in _equal(x, y, f'{path}[{i}]')]
    return [] if a == b else [path]


@pytest.fixture(scope='module')
def runs(tmp_path_factory):
    folder = tmp_path_factory.mktemp('standard_components')
    jobs = []
    for name, text in (('ema', EMA), ('warmup_multistep', WARMUP_MULTISTEP),
                       ('one_cycle', ONE_CYCLE)):
        config = folder / f'{name}.py'
        config.write_text(text)
        straight, resumed = folder / name / 'straight', folder / name / 'resumed'
        jobs.append([str(config), str(straight), *TINY, *OPTIONS])
        jobs.append([str(config), str(resumed), *TINY, *OPTIONS, 'resume=True',
                     f'load_from={straight / "iter_2.pth"}'])
    results = run_jobs(jobs, folder)
    for job, (status, lines) in zip(jobs, results):
        assert status == 0, f'{job[0]}:\n' + '\n'.join(lines[-30:])
    return folder


@pytest.mark.slow
@pytest.mark.parametrize('name', ['ema', 'warmup_multistep', 'one_cycle'])
def test_resume_equals_the_uninterrupted_run(runs, name):
    a = safe_load(str(runs / name / 'straight' / 'iter_4.pth'))
    b = safe_load(str(runs / name / 'resumed' / 'iter_4.pth'))
    keys = ['state_dict', 'optimizer']
    keys += ['ema_state_dict'] if name == 'ema' else ['param_schedulers']
    for key in keys:
        assert key in a and not _equal(a[key], b[key], key), _equal(a[key], b[key], key)
    if name != 'ema':  # the schedule moved the learning rate
        lrs = [s['_last_value'][0] for s in a['param_schedulers']['generator']]
        assert lrs[-1] != 1e-3


@pytest.mark.slow
def test_ema_checkpoint_holds_the_averaged_weights_for_test_and_init_model(runs, tmp_path):
    """MMEngine's EMAHook saves the averaged weights as ``state_dict`` (the trained ones in
    ``ema_state_dict``); tools/test.py (hooks' before_run first) and init_model use them."""
    checkpoint = runs / 'ema' / 'straight' / 'iter_4.pth'
    saved = safe_load(str(checkpoint))
    averaged, trained = saved['state_dict'], saved['ema_state_dict']
    name = 'generator.decoder.0.conv.weight'
    name = name if name in averaged else next(k for k, v in averaged.items()
                                              if k.startswith('generator')
                                              and v.is_floating_point() and v.dim() == 4)
    assert not torch.equal(averaged[name], trained[f'module.{name}'])

    results = []
    for config in (runs / 'ema.py', DEMO):  # with EMAHook (crashed before), and without
        out = tmp_path / f'{config.stem}.json'
        run_tool([sys.executable, 'tools/test.py', str(config), str(checkpoint),
                  '--work-dir', str(tmp_path / config.stem), '--out', str(out),
                  '--cfg-options', *TINY])
        results.append(json.loads(out.read_text()))
    metrics = [{k: v for k, v in r.items() if '/' in k} for r in results]
    assert metrics[0] and metrics[0] == metrics[1]

    # the config as the run resolved it (TINY's sizes), dumped into its work dir
    model = init_model(str(runs / 'ema' / 'straight' / 'ema.py'), str(checkpoint))
    assert torch.equal(model.state_dict()[name], averaged[name])
