"""Every registered parameter scheduler saves, loads and resumes exactly with ColorizerRunner.

A tiny linear model trains 4 epochs straight (a checkpoint each epoch); a second run of the same
config resumes from the epoch-2 checkpoint; at the end weights, optimiser hyper-parameters and
the scheduler's state must be equal. The checkpoints go through
colorizer's save-time check and allow-listed loader, so a scheduler whose state the loader
refuses fails here.
"""
import inspect
import math

import pytest
import torch
from mmengine.evaluator import BaseMetric, Evaluator
from mmengine.model import BaseModel
from mmengine.optim.scheduler import ConstantLR
from mmengine.registry import PARAM_SCHEDULERS as MM_PARAM_SCHEDULERS
from torch import nn
from torch.utils.data import DataLoader

from colorizer.engine import ColorizerRunner, safe_load
from colorizer.engine.checkpoint_safety import (SAFE_FUNCTIONS, UnsafeCheckpointError,
                                                check_schedulers_saveable,
                                                pack_scheduler_functions,
                                                unpack_scheduler_functions)
from colorizer.registry import PARAM_SCHEDULERS

SCHEDULERS = sorted(set(MM_PARAM_SCHEDULERS.module_dict) | set(PARAM_SCHEDULERS.module_dict))

#: Arguments of each scheduler family (by class-name prefix) for a 16-iteration run.
FAMILY_ARGS = {
    'Constant': dict(factor=0.5, end=12),
    'CosineAnnealing': dict(T_max=10, eta_min=0.001),
    'CosineRestart': dict(periods=[5, 11], restart_weights=[1.0, 0.5], eta_min=0.001),
    'Exponential': dict(gamma=0.9),
    'Linear': dict(start_factor=0.25, end=12),
    'MultiStep': dict(milestones=[3, 7, 11], gamma=0.5),
    'OneCycle': dict(eta_max=0.2, total_steps=16),
    'Poly': dict(power=2.0, eta_min=0.001, end=12),
    'ReduceOnPlateau': dict(monitor='loss', rule='less', patience=0, factor=0.5,
                            threshold=1e9, by_epoch=True),  # every epoch counts as "no gain"
    'Step': dict(step_size=3, gamma=0.5),
}


def scheduler_cfg(name: str) -> dict:
    family = next(f for f in sorted(FAMILY_ARGS, key=len, reverse=True) if name.startswith(f))
    cfg = dict(dict(type=name, by_epoch=False), **FAMILY_ARGS[family])
    cls = MM_PARAM_SCHEDULERS.get(name) or PARAM_SCHEDULERS.get(name)
    if 'param_name' in inspect.signature(cls.__init__).parameters:
        cfg['param_name'] = 'lr'
    return cfg


class _Linear(BaseModel):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(3, 1)

    def forward(self, inputs, target, mode='tensor'):
        out = self.linear(inputs)
        if mode == 'loss':
            return {'loss': ((out - target) ** 2).mean()}
        return [dict(loss=float(((out - target) ** 2).mean()))]


class _MeanLoss(BaseMetric):
    def process(self, data_batch, data_samples):
        self.results.extend(s['loss'] for s in data_samples)

    def compute_metrics(self, results):
        return {'loss': sum(results) / len(results)}


def _loader():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(8, 3, generator=g)
    data = [dict(inputs=x[i], target=x[i].sum(0, keepdim=True)) for i in range(8)]
    return DataLoader(data, batch_size=2, shuffle=False)


def _run(work_dir, name, cfg, max_epochs, resume_from=None):
    torch.manual_seed(0)
    runner = ColorizerRunner(
        model=_Linear(), work_dir=str(work_dir), experiment_name=name,
        train_dataloader=_loader(), val_dataloader=_loader(), val_evaluator=Evaluator(_MeanLoss()),
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs), val_cfg=dict(),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9)),
        param_scheduler=cfg, default_scope='colorizer', log_level='WARNING',
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=1),
                           logger=dict(type='LoggerHook', interval=100)),
        load_from=resume_from, resume=resume_from is not None)
    runner.train()
    return runner


def _plain(state):
    return {k: v for k, v in state.items() if k != 'anneal_func'}


@pytest.mark.parametrize('name', SCHEDULERS)
def test_scheduler_saves_and_resumes_exactly(tmp_path, name):
    cfg = scheduler_cfg(name)
    straight = _run(tmp_path / 'straight', f'{name}_a', cfg, 4)
    middle = str(tmp_path / 'straight' / 'epoch_2.pth')
    saved = safe_load(middle)  # the allow-listed loader
    assert len(saved['param_schedulers']) == 1
    resumed = _run(tmp_path / 'resumed', f'{name}_b', cfg, 4, resume_from=middle)

    for key, value in straight.model.state_dict().items():
        assert torch.equal(value, resumed.model.state_dict()[key]), key
    group_a = straight.optim_wrapper.optimizer.param_groups[0]
    group_b = resumed.optim_wrapper.optimizer.param_groups[0]
    assert (group_a['lr'], group_a['momentum']) == (group_b['lr'], group_b['momentum'])
    state_a = straight.param_schedulers[0].state_dict()
    state_b = resumed.param_schedulers[0].state_dict()
    assert _plain(state_a) == _plain(state_b)
    assert state_a.get('anneal_func') is state_b.get('anneal_func')
    # The schedule did something by the middle checkpoint: its value left the start value.
    start = 0.9 if 'Momentum' in name else 0.1
    assert not all(math.isclose(v, start) for v in saved['param_schedulers'][0]['_last_value'])


def test_one_cycle_function_is_saved_by_name_and_refused_if_forged(tmp_path):
    state = [dict(anneal_func=next(iter(SAFE_FUNCTIONS.values())), last_step=3)]
    pack_scheduler_functions(state)
    assert state[0]['anneal_func'] == {'__scheduler_function__': next(iter(SAFE_FUNCTIONS))}
    torch.save({'param_schedulers': state}, tmp_path / 'c.pth')
    loaded = safe_load(str(tmp_path / 'c.pth'))
    assert loaded['param_schedulers'][0]['anneal_func'] is next(iter(SAFE_FUNCTIONS.values()))

    forged = [dict(anneal_func={'__scheduler_function__': 'os.system'})]
    torch.save({'param_schedulers': {'generator': forged}}, tmp_path / 'forged.pth')
    with pytest.raises(UnsafeCheckpointError, match=r"'os\.system'.*not on the allow-list"):
        safe_load(str(tmp_path / 'forged.pth'))
    with pytest.raises(UnsafeCheckpointError, match='os.system'):
        unpack_scheduler_functions({'generator': forged})


class _LambdaScheduler(ConstantLR):
    """A scheduler whose state holds a lambda: no allow-listed loader may rebuild it."""

    def __init__(self, *args, **kwargs):
        self.rule = lambda step: step  # noqa: E731 - the point of the test
        super().__init__(*args, **kwargs)


def test_unsaveable_scheduler_is_refused_at_start_up_by_name(tmp_path):
    optimizer = torch.optim.SGD(nn.Linear(1, 1).parameters(), lr=0.1)
    with pytest.raises(UnsafeCheckpointError,
                       match=r"_LambdaScheduler \(param_scheduler\['generator'\]\[1\]\).*rule"):
        check_schedulers_saveable({'generator': [ConstantLR(optimizer),
                                                 _LambdaScheduler(optimizer)]})

    runner = ColorizerRunner(
        model=_Linear(), work_dir=str(tmp_path), experiment_name='lambda_sched',
        train_dataloader=_loader(), train_cfg=dict(by_epoch=True, max_epochs=1),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
        param_scheduler=dict(type='ConstantLR'), default_scope='colorizer',
        log_level='WARNING', default_hooks=dict(checkpoint=dict(type='CheckpointHook')))
    runner.build_param_scheduler = lambda cfg: [_LambdaScheduler(
        runner.optim_wrapper.optimizer)]
    with pytest.raises(UnsafeCheckpointError, match='refusing to start.*_LambdaScheduler'):
        runner.train()
    assert runner.iter == 0 and not list(tmp_path.glob('*.pth'))
