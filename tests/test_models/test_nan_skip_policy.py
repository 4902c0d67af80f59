"""``nan_policy='skip'`` leaves no trace of a skipped step in the model: parameters,
buffers (BatchNorm running statistics) and optimiser states are as before, eval outputs stay
finite, a non-finite input batch is named as such, and no checkpoint with NaN is written."""
import copy
import logging

import pytest
import torch

from colorizer.engine import skip_non_finite_optim_wrapper
from colorizer.engine.checkpoint_safety import NonFiniteCheckpointError
from colorizer.engine.hooks.safe_checkpoint_hook import SafeCheckpointHook
from colorizer.models import reference_colorizer
from colorizer.models.reference_colorizer import NonFiniteInputError
from test_reference_colorizer import tiny_batch, tiny_model, wrappers


def float_batch(nan_at=None, seed=0):
    """tiny_batch with float images (as a dataset of float arrays gives them); NaN in one
    pixel of ``(key, sample)``."""
    batch = tiny_batch(batch_size=2, size=16, seed=seed)
    for key in ('sketch', 'reference'):
        batch['inputs'][key] = [img.float() for img in batch['inputs'][key]]
    for i, sample in enumerate(batch['data_samples']):
        sample.set_metainfo(dict(sketch_path=f'img_{i}.png'))
    if nan_at is not None:
        key, i = nan_at
        batch['inputs'][key][i][0, 3, 5] = float('nan')
    return batch


def state(model, optim):
    return dict(params={k: v.detach().clone() for k, v in model.named_parameters()},
                buffers={k: v.detach().clone() for k, v in model.named_buffers()},
                optim={k: copy.deepcopy(w.optimizer.state_dict()) for k, w in optim.items()})


def assert_same_state(before, after):
    for part in ('params', 'buffers'):
        for name, value in before[part].items():
            assert torch.equal(value, after[part][name]), f'{part} {name} changed'
    for key, optim_state in before['optim'].items():
        new = after['optim'][key]['state']
        assert optim_state['state'].keys() == new.keys()
        for index, entry in optim_state['state'].items():
            for name, value in entry.items():
                assert torch.equal(value, new[index][name]), f'{key} optimiser {name} changed'


@pytest.fixture
def logged(monkeypatch):
    messages = []
    for module in (reference_colorizer, skip_non_finite_optim_wrapper):  # inputs; loss / grads
        monkeypatch.setattr(module, 'print_log',
                            lambda msg, logger=None, level=None: messages.append((msg, level)))
    return messages


def trained_once(**kwargs):
    """A tiny model after one normal step (so the optimisers have state to compare)."""
    torch.manual_seed(0)
    model = tiny_model(nan_policy='skip', **kwargs)
    optim = wrappers(model)
    model.train_step(float_batch(seed=1), optim)
    return model, optim


class TestSkippedStepLeavesNoTrace:

    def test_nan_in_one_input_image(self, logged):
        model, optim = trained_once()
        before = state(model, optim)
        log = model.train_step(float_batch(nan_at=('reference', 1)), optim)
        assert log['skipped_steps'].item() == 1
        assert_same_state(before, state(model, optim))
        assert all(torch.isfinite(b).all() for b in model.buffers())
        model.eval()
        with torch.no_grad():
            data = model.data_preprocessor(float_batch(seed=2), False)
            out = model(data['inputs'], mode='tensor')
        assert torch.isfinite(out).all() and out.std() > 0
        (message, level), = logged
        assert level == logging.WARNING
        assert 'non-finite input' in message and "reference of sample 1 ('img_1.png')" in message

    def test_nan_input_with_raise_policy_names_the_input(self):
        model = tiny_model()
        with pytest.raises(NonFiniteInputError, match=r"non-finite input( at iteration \d+)?: "
                           r"sketch of sample 0 \('img_0\.png'\) hold NaN or Inf \(the images "
                           r"are at fault"):
            model.train_step(float_batch(nan_at=('sketch', 0)), wrappers(model))

    def test_nan_in_the_discriminator_losses_skips_both_steps(self, logged):
        model, optim = trained_once()
        before = state(model, optim)
        # NaN scores: both discriminator terms, and then the generator's adversarial term
        handle = model.discriminator.register_forward_hook(lambda m, a, out: out * float('nan'))
        log = model.train_step(float_batch(seed=3), optim)
        handle.remove()
        assert log['skipped_steps'].item() == 2  # the D step and the G step
        assert_same_state(before, state(model, optim))
        assert [m for m, _ in logged][0].startswith('non-finite loss')

    def test_nan_in_a_generator_loss_restores_the_generators_buffers(self):
        model, optim = trained_once()
        before = state(model, optim)
        model.reconstruction_loss.loss_weight = float('nan')
        model.train_step(float_batch(seed=3), optim)
        after = state(model, optim)
        for name, value in before['buffers'].items():
            if name.startswith('generator.'):
                assert torch.equal(value, after['buffers'][name]), name
        assert any(not torch.equal(v, after['params'][k])  # D's step went ahead
                   for k, v in before['params'].items() if k.startswith('discriminator.'))
        assert all(torch.equal(v, after['params'][k])
                   for k, v in before['params'].items() if k.startswith('generator.'))

    def test_finite_loss_with_a_nan_gradient(self, logged):
        model, optim = trained_once()
        before = state(model, optim)
        weight = next(model.generator.parameters())
        handle = weight.register_hook(lambda grad: grad * float('nan'))
        model.train_step(float_batch(seed=3), optim)
        handle.remove()
        after = state(model, optim)
        assert model.skipped_steps == 1
        assert all(torch.equal(v, after['params'][k]) and torch.isfinite(after['params'][k]).all()
                   for k, v in before['params'].items() if k.startswith('generator.'))
        assert all(torch.equal(v, after['buffers'][k])
                   for k, v in before['buffers'].items() if k.startswith('generator.'))
        assert 'non-finite gradient of SCFTGenerator' in logged[0][0]


class _Runner:
    iter = 41


def test_a_checkpoint_with_nan_is_not_written():
    model = tiny_model()
    hook = SafeCheckpointHook()
    checkpoint = dict(state_dict=model.state_dict(), optimizer=dict(state={}), message_hub={})
    hook.before_save_checkpoint(_Runner(), checkpoint)  # finite: fine
    bad = dict(model.state_dict())
    name = next(k for k in bad if k.endswith('running_mean'))
    bad[name] = bad[name].clone().fill_(float('nan'))
    optimizer = dict(state={0: dict(exp_avg=torch.tensor([float('inf')]))})
    with pytest.raises(NonFiniteCheckpointError, match=rf'iteration 42 .*state_dict\.{name}.*'
                       r'optimizer\.state\.0\.exp_avg'):
        hook.before_save_checkpoint(_Runner(), dict(state_dict=bad, optimizer=optimizer))
