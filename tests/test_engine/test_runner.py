"""ColorizerRunner: the save-time invariant and the resume requirements, without hooks."""
import pytest
import torch
from mmengine.logging import HistoryBuffer
from mmengine.model import BaseModel
from mmengine.optim import OptimWrapper, OptimWrapperDict
from torch import nn

from colorizer.engine import CheckpointHook, ColorizerRunner
from colorizer.engine.checkpoint_safety import (NonFiniteCheckpointError, UnsafeCheckpointError,
                                                safe_load)


class _Toy(BaseModel):
    def __init__(self):
        super().__init__()
        self.generator = nn.Linear(2, 2)
        self.discriminator = nn.Linear(2, 1)

    def forward(self, *args, **kwargs):
        return {}


@pytest.fixture
def runner(tmp_path):
    runner = ColorizerRunner(model=_Toy(), work_dir=str(tmp_path), custom_hooks=[],
                             default_scope='colorizer', experiment_name=tmp_path.name,
                             default_hooks=dict(checkpoint=dict(type='CheckpointHook')))
    model = runner.model
    runner.optim_wrapper = OptimWrapperDict(
        generator=OptimWrapper(torch.optim.Adam(model.generator.parameters())),
        discriminator=OptimWrapper(torch.optim.Adam(model.discriminator.parameters())))
    return runner


def test_checkpoint_hook_of_a_colorizer_config_is_the_kill_safe_one(runner):
    hooks = [h for h in runner._hooks if type(h).__name__ == 'CheckpointHook']
    assert len(hooks) == 1 and isinstance(hooks[0], CheckpointHook)


def test_every_save_packs_history_buffers_without_any_hook(runner, tmp_path):
    checkpoint = {'message_hub': {'log_scalars': {'loss': HistoryBuffer([1.0, 2.0], [1, 1])}},
                  'state_dict': runner.model.state_dict()}
    assert not runner._hooks or all(type(h).__name__ != 'SafeCheckpointHook'
                                    for h in runner._hooks)
    runner.call_hook('before_save_checkpoint', checkpoint=checkpoint)
    torch.save(checkpoint, tmp_path / 'c.pth')
    loaded = safe_load(str(tmp_path / 'c.pth'))
    assert loaded['message_hub']['log_scalars']['loss'].mean() == 1.5


def test_a_save_that_colorizer_could_not_load_is_stopped_naming_the_key(runner):
    class Custom:
        pass

    checkpoint = {'meta': {'extra': Custom()}, 'state_dict': {}}
    with pytest.raises(UnsafeCheckpointError, match=r"\['meta'\]\['extra'\].*Custom"):
        runner.call_hook('before_save_checkpoint', checkpoint=checkpoint)


def test_a_save_with_nan_weights_is_stopped_without_any_hook(runner):
    state = {k: v.clone() for k, v in runner.model.state_dict().items()}
    name = next(k for k, v in state.items() if v.is_floating_point())
    state[name].fill_(float('nan'))
    with pytest.raises(NonFiniteCheckpointError, match=rf'state_dict\.{name}'):
        runner.call_hook('before_save_checkpoint', checkpoint={'state_dict': state})


def test_resume_requirements_name_each_missing_state(runner):
    full = {'meta': {'iter': 2, 'epoch': 0}, 'message_hub': {},
            'optimizer': {'generator': {'state': {}}, 'discriminator': {'state': {}}}}
    assert runner._lacking_states(full, True, True) == []
    best = {'meta': {'iter': 2, 'epoch': 0}, 'message_hub': {}, 'state_dict': {}}
    assert runner._lacking_states(best, True, True) == [
        "optimiser state of 'generator'", "optimiser state of 'discriminator'"]
    half = dict(full, optimizer={'generator': {'state': {}}})
    assert runner._lacking_states(half, True, True) == ["optimiser state of 'discriminator'"]
    assert runner._lacking_states({}, False, False) == [
        'iteration and epoch counters (meta)', 'message hub (log history, best scores)']
