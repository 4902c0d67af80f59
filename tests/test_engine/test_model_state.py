"""Model keys never depend on the wrappers used in training; loads are complete or refused."""
import os
import socket

import pytest
import torch
import torch.distributed as dist
from mmengine.model import MMSeparateDistributedDataParallel
from torch import nn

from colorizer.engine import CheckpointMismatchError, SeparateDistributedDataParallel
from colorizer.engine.model_state import load_model_state
from colorizer.engine.model_wrappers import unwrap_state_dict, unwrapped_key


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class _GAN(nn.Module):
    def __init__(self):
        super().__init__()
        self.generator = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2))
        self.discriminator = nn.Sequential(nn.Conv2d(2, 1, 3))
        self.perceptual_loss = nn.Sequential(nn.Conv2d(3, 2, 1)).requires_grad_(False)


@pytest.fixture(scope='module')
def process_group():
    """A one-process gloo group, enough for DDP to wrap modules."""
    if dist.is_initialized():
        yield
        return
    os.environ.setdefault('MASTER_ADDR', '127.0.0.1')
    os.environ['MASTER_PORT'] = str(free_port())
    dist.init_process_group('gloo', rank=0, world_size=1)
    yield
    dist.destroy_process_group()


def test_wrapped_model_saves_the_unwrapped_keys_and_loads_both_forms(process_group):
    plain = _GAN()
    expected = list(plain.state_dict())
    wrapper = SeparateDistributedDataParallel(_GAN())
    assert isinstance(wrapper.module.generator, nn.parallel.DistributedDataParallel)
    keys = list(wrapper.module.state_dict())
    assert keys == expected and not any('.module.' in k for k in keys)

    # Both the unwrapped form and the old `generator.module.*` form load into the wrapper.
    source = {k: torch.randn_like(v.float()).to(v.dtype) for k, v in plain.state_dict().items()}
    old_form = {k.replace('generator.', 'generator.module.', 1)
                .replace('discriminator.', 'discriminator.module.', 1): v
                for k, v in source.items()}
    for state in (source, old_form):
        load_model_state(wrapper.module, state, 'ckpt.pth')
        for key, value in wrapper.module.state_dict().items():
            assert torch.equal(value, source[key]), key


def test_mmengine_wrapper_states_load_into_the_plain_model(process_group):
    """MMEngine's own wrapper (no hooks) saves generator.module.*; that loads too."""
    wrapped = MMSeparateDistributedDataParallel(_GAN())
    state = wrapped.module.state_dict()
    assert any(k.startswith('generator.module.') for k in state)
    plain = _GAN()
    load_model_state(plain, state, 'old.pth')
    for key, value in plain.state_dict().items():
        assert torch.equal(value, unwrap_state_dict(state)[key]), key


def test_missing_and_unexpected_keys_stop_the_load_naming_them():
    model = _GAN()
    state = dict(model.state_dict())
    del state['generator.1.running_mean']
    state['generator.9.weight'] = torch.zeros(1)
    with pytest.raises(CheckpointMismatchError,
                       match=r'ckpt.pth.*missing keys generator.1.running_mean.*'
                             r'unexpected keys generator.9.weight'):
        load_model_state(model, state, 'ckpt.pth')


def test_shape_mismatch_is_one_clear_error():
    state = dict(_GAN().state_dict())
    state['discriminator.0.weight'] = torch.zeros(5, 2, 3, 3)
    with pytest.raises(CheckpointMismatchError, match='discriminator.0.weight') as info:
        load_model_state(_GAN(), state, 'ckpt.pth')
    assert '\n' not in str(info.value)


def test_training_only_weights_may_be_absent():
    state = {k: v for k, v in _GAN().state_dict().items() if not k.startswith('perceptual')}
    load_model_state(_GAN(), state, 'no_vgg.pth')


def test_unwrapped_key_names():
    assert unwrapped_key('generator.module.enc.w') == 'generator.enc.w'
    assert unwrapped_key('module.generator.enc.w') == 'generator.enc.w'
    assert unwrapped_key('module.generator.module.w') == 'generator.w'
    assert unwrapped_key('generator.enc.module.w') == 'generator.enc.module.w'
    assert unwrapped_key('generator.module.w', children=('discriminator', )) == \
        'generator.module.w'
