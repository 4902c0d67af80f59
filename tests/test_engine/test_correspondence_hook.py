"""CorrespondenceHook on a tiny model and real synthetic batches; the model's correspondence
outputs for the metric; labels reaching the oracle through train_step."""
import json
from types import SimpleNamespace

import pytest
import torch
from mmengine.dataset import pseudo_collate
from mmengine.logging import MessageHub
from mmengine.optim import OptimWrapper, OptimWrapperDict

from colorizer.datasets import SyntheticToonDataset
from colorizer.engine.hooks import CorrespondenceHook
from colorizer.models import ReferenceColorizer  # noqa: F401
from colorizer.registry import MODELS

PIPELINE = [dict(type='XDoG'), dict(type='TPSWarp'), dict(type='PackColorizationInputs')]


def tiny_model(attention='SGA', **kwargs):
    return MODELS.build(dict(
        type='ReferenceColorizer',
        generator=dict(type='SCFTGenerator', base_channels=2, num_levels=3,
                       attention=dict(type=attention)),
        discriminator=dict(type='PatchDiscriminator', base_channels=4, num_layers=2),
        reconstruction_loss=dict(type='L1Loss', loss_weight=30.0),
        adversarial_loss=dict(type='LSGANLoss', loss_weight=1.0), **kwargs))


def batch(mode='train', count=4):
    ds = SyntheticToonDataset(img_size=32, length=count, mode=mode, pipeline=PIPELINE)
    return pseudo_collate([ds[i] for i in range(count)])


def test_hook_writes_diagnostics_and_leaves_no_trace(tmp_path):
    model = tiny_model()
    model.train()
    runner = SimpleNamespace(model=model, work_dir=str(tmp_path), iter=0,
                             message_hub=MessageHub.get_instance('corr_hook_test'))
    hook = CorrespondenceHook(interval=2)
    hook.before_train(runner)
    buffers = {k: v.clone() for k, v in model.generator.state_dict().items()}
    data = batch()
    for step in range(4):  # probes after iterations 1, 2 and 4
        runner.iter = step
        hook.after_train_iter(runner, step, data)
    lines = [json.loads(line) for line in (tmp_path / 'correspondence.jsonl').open()]
    assert [line['iter'] for line in lines] == [1, 2, 4]
    for line in lines:
        assert 0 <= line['region_mass'] <= 1 and 0 < line['region_chance'] < 1
        assert line['diagonal_chance'] == pytest.approx(1 / 64)
        assert 0 <= line['entropy'] <= line['entropy_max'] and line['seconds'] > 0
    assert runner.message_hub.get_scalar('train/corr/region_mass').current() == \
        pytest.approx(lines[-1]['region_mass'])
    # no side effect: parameters and batch-norm statistics as before, mode restored
    for key, value in model.generator.state_dict().items():
        assert torch.equal(value, buffers[key]), key
    assert model.generator.training


def test_oracle_control_region_mass_is_one_where_the_region_exists(tmp_path):
    model = tiny_model('OracleAttention')
    runner = SimpleNamespace(model=model, work_dir=str(tmp_path), iter=0,
                             message_hub=MessageHub.get_instance('corr_hook_oracle'))
    hook = CorrespondenceHook()
    hook.before_train(runner)
    means = hook.probe(runner, batch())
    # rows whose region is absent from the reference read the uniform row: just below 1
    assert means['region_mass'] > 0.9 and means['region_chance'] < 0.7


def test_predict_attaches_maps_for_the_metric():
    model = tiny_model(correspondence_outputs=True).eval()
    samples = model.val_step(batch('random_reference', 2))
    for sample in samples:
        assert sample.cross_attention.shape == (64, 64)
        assert sample.diagonal_attention.shape == (64, 64)
        assert sample.reference_token_norm.shape == (64, )
    assert 'cross_attention' not in tiny_model().eval().val_step(batch('random_reference', 2))[0]


def test_train_step_hands_the_labels_to_the_oracle():
    model = tiny_model('OracleAttention')
    optim = OptimWrapperDict(
        generator=OptimWrapper(torch.optim.Adam(model.generator.parameters(), lr=1e-3)),
        discriminator=OptimWrapper(torch.optim.Adam(model.discriminator.parameters(), lr=1e-3)))
    log = model.train_step(batch(count=2), optim)
    assert all(torch.isfinite(v) for v in log.values())
    data = batch(count=2)
    for sample in data['data_samples']:
        del sample.labels
    with pytest.raises(ValueError, match='region labels'):
        model.train_step(data, optim)


def test_a_probe_every_50_iterations_costs_under_5_percent(tmp_path):
    """The README's cost claim, measured in one process (min of repeats: robust to load)."""
    import time
    model = tiny_model()
    runner = SimpleNamespace(model=model, work_dir=str(tmp_path), iter=0,
                             message_hub=MessageHub.get_instance('corr_hook_cost'))
    hook = CorrespondenceHook()
    hook.before_train(runner)
    data = batch(count=8)
    optim = OptimWrapperDict(
        generator=OptimWrapper(torch.optim.Adam(model.generator.parameters(), lr=1e-3)),
        discriminator=OptimWrapper(torch.optim.Adam(model.discriminator.parameters(), lr=1e-3)))

    def best(fn, repeats=5):
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        return min(times)

    step = best(lambda: model.train_step(data, optim))
    probe = best(lambda: hook.probe(runner, data))
    assert probe < 0.05 * 50 * step, (probe, step)
