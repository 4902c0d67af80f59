"""The optimiser wrapper that skips non-finite steps: on its own, composed with other wrapper
types, and built by GANOptimWrapperConstructor for a model with ``nan_policy='skip'``."""
import pytest
import torch
from mmengine.optim import AmpOptimWrapper, OptimWrapper
from torch import nn

from colorizer.engine import (GANOptimWrapperConstructor, SkipNonFiniteOptimWrapper,
                              with_skip_non_finite)
from colorizer.engine.amp import AutocastOptimWrapper
from colorizer.registry import MODELS, OPTIM_WRAPPERS


def _net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 1))


def _snapshot(net, wrapper):
    return ([p.detach().clone() for p in net.parameters()],
            [b.detach().clone() for b in net.buffers()],
            {k: {n: v.clone() for n, v in s.items()}
             for k, s in wrapper.optimizer.state_dict()['state'].items()})


def _assert_same(a, b):
    for x, y in zip(a[0] + a[1], b[0] + b[1]):
        assert torch.equal(x, y)
    assert a[2].keys() == b[2].keys()
    for k in a[2]:
        for n in a[2][k]:
            assert torch.equal(a[2][k][n], b[2][k][n])


@pytest.mark.parametrize('wrapper_type', [SkipNonFiniteOptimWrapper,
                                          with_skip_non_finite(AutocastOptimWrapper)])
def test_a_non_finite_step_leaves_no_trace_and_a_finite_one_steps(wrapper_type):
    net = _net().train()
    wrapper = wrapper_type(optimizer=torch.optim.Adam(net.parameters(), lr=0.1))
    x = torch.randn(8, 3)
    with wrapper.optim_context(net):
        loss = net(x).float().square().mean()
    assert wrapper.update_params(dict(loss=loss)) is True  # Adam now has state
    before = _snapshot(net, wrapper)
    with wrapper.optim_context(net):
        out = net(x * 2).float()  # moves the BatchNorm statistics
    assert not torch.equal(before[1][0], net[1].running_mean)
    assert wrapper.update_params(dict(loss_a=out.mean(), loss_b=out.mean() * float('nan'))) \
        is False
    _assert_same(before, _snapshot(net, wrapper))
    assert wrapper.skipped_steps == 1 and all(p.grad is None for p in net.parameters())
    # a finite loss whose gradient is not: skipped too
    with wrapper.optim_context(net):
        out = net(x).float()
    handle = net[0].weight.register_hook(lambda grad: grad * float('inf'))
    assert wrapper.update_params(out.mean()) is False
    handle.remove()
    _assert_same(before, _snapshot(net, wrapper))
    # and training goes on: the next finite step updates
    with wrapper.optim_context(net):
        loss = net(x).float().square().mean()
    assert wrapper.update_params(loss) is True
    assert not torch.equal(before[0][0], net[0].weight)
    assert wrapper.skipped_steps == 2


def test_skip_names_the_term_and_the_module(monkeypatch):
    from colorizer.engine import skip_non_finite_optim_wrapper as module
    messages = []
    monkeypatch.setattr(module, 'print_log', lambda msg, **kwargs: messages.append(msg))
    net = _net()
    wrapper = SkipNonFiniteOptimWrapper(optimizer=torch.optim.SGD(net.parameters(), lr=0.1))
    with wrapper.optim_context(net):
        out = net(torch.randn(4, 3))
    wrapper.update_params(dict(loss_rec=out.mean(), loss_adv=out.mean() / 0.0 * 0.0))
    with wrapper.optim_context(net):
        out = net(torch.randn(4, 3))
    net[2].weight.register_hook(lambda grad: grad * float('nan'))
    wrapper.update_params(out.mean())
    assert messages[0].startswith('non-finite loss') and 'loss_adv=nan' in messages[0]
    assert 'loss_rec' not in messages[0]
    assert messages[1].startswith('non-finite gradient of Sequential')


def test_composition_keeps_the_wrapper_type_and_refuses_non_wrappers():
    assert with_skip_non_finite(OptimWrapper) is SkipNonFiniteOptimWrapper
    assert OPTIM_WRAPPERS.get('SkipNonFiniteOptimWrapper') is SkipNonFiniteOptimWrapper
    amp = with_skip_non_finite(AmpOptimWrapper)
    assert issubclass(amp, AmpOptimWrapper) and amp.skips_non_finite
    assert with_skip_non_finite(amp) is amp and with_skip_non_finite(AmpOptimWrapper) is amp
    with pytest.raises(TypeError, match='not an mmengine OptimWrapper'):
        with_skip_non_finite(nn.Linear)


def _model(nan_policy):
    return MODELS.build(dict(
        type='ReferenceColorizer', nan_policy=nan_policy,
        generator=dict(type='SCFTGenerator', base_channels=2, num_levels=3,
                       attention=dict(type='SGA')),
        discriminator=dict(type='PatchDiscriminator', base_channels=4, num_layers=2),
        reconstruction_loss=dict(type='L1Loss'), adversarial_loss=dict(type='LSGANLoss')))


def test_constructor_builds_skipping_wrappers_for_the_skip_policy_only():
    cfg = dict(generator=dict(optimizer=dict(type='Adam', lr=1e-3)),
               discriminator=dict(type=AutocastOptimWrapper,
                                  optimizer=dict(type='Adam', lr=1e-3)))
    skip = GANOptimWrapperConstructor(cfg)(_model('skip'))
    assert type(skip['generator']) is SkipNonFiniteOptimWrapper
    assert isinstance(skip['discriminator'], AutocastOptimWrapper)
    assert skip['discriminator'].skips_non_finite
    plain = GANOptimWrapperConstructor(cfg)(_model('raise'))
    assert type(plain['generator']) is OptimWrapper
    assert not hasattr(plain['discriminator'], 'skips_non_finite')


def test_skip_policy_refuses_wrappers_that_cannot_skip():
    from mmengine.optim import OptimWrapperDict
    model = _model('skip')
    wrappers = OptimWrapperDict(
        generator=OptimWrapper(torch.optim.Adam(model.generator.parameters())),
        discriminator=OptimWrapper(torch.optim.Adam(model.discriminator.parameters())))
    with pytest.raises(TypeError, match='GANOptimWrapperConstructor.*SkipNonFiniteOptimWrapper'):
        model.train_step(dict(inputs=dict(), data_samples=[]), wrappers)
