"""The GAN model: one generator forward per step, D then G updates, NaN handling, outputs."""
import pytest
import torch

from colorizer.engine import GANOptimWrapperConstructor
from colorizer.models import ReferenceColorizer  # noqa: F401  (registers the parts)
from colorizer.models.reference_colorizer import NonFiniteLossError
from colorizer.registry import MODELS
from colorizer.structures import ColorizationDataSample


def tiny_model(attention='SGA', **kwargs):
    cfg = dict(
        type='ReferenceColorizer',
        generator=dict(type='SCFTGenerator', base_channels=4, num_levels=3,
                       attention=dict(type=attention)),
        discriminator=dict(type='PatchDiscriminator', base_channels=4, num_layers=2),
        reconstruction_loss=dict(type='L1Loss', loss_weight=30.0),
        adversarial_loss=dict(type='LSGANLoss', loss_weight=1.0))
    cfg.update(kwargs)
    return MODELS.build(cfg)


def tiny_batch(batch_size=2, size=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    rand = lambda *shape: torch.randint(0, 256, shape, generator=g, dtype=torch.uint8)  # noqa
    return dict(
        inputs=dict(sketch=[rand(1, size, size) for _ in range(batch_size)],
                    reference=[rand(3, size, size) for _ in range(batch_size)]),
        data_samples=[ColorizationDataSample(target=rand(3, size, size), metainfo=dict(index=i))
                      for i in range(batch_size)])


def wrappers(model, lr_g=1e-3, lr_d=1e-3):
    """Adam per sub-network, built as a config builds them (skipping wrappers for a model with
    ``nan_policy='skip'``)."""
    return GANOptimWrapperConstructor(dict(
        generator=dict(optimizer=dict(type='Adam', lr=lr_g)),
        discriminator=dict(optimizer=dict(type='Adam', lr=lr_d))))(model)


def test_preprocessor_maps_uint8_to_unit_range_and_lifts_the_target():
    model = tiny_model()
    data = model.data_preprocessor(tiny_batch(), True)
    assert data['inputs']['sketch'].shape == (2, 1, 16, 16)
    assert data['inputs']['target'].shape == (2, 3, 16, 16)
    for key in ('sketch', 'reference', 'target'):
        x = data['inputs'][key]
        assert x.dtype == torch.float32 and x.min() >= -1 and x.max() <= 1
    first = data['data_samples'][0].target
    assert first.dtype == torch.uint8  # metrics keep the exact values
    expected = first.float() / 127.5 - 1
    torch.testing.assert_close(data['inputs']['target'][0], expected)


def test_preprocessor_rejects_mixed_sizes_with_the_key_named():
    batch = tiny_batch()
    batch['inputs']['reference'][1] = torch.zeros(3, 8, 8, dtype=torch.uint8)
    with pytest.raises(ValueError, match='reference'):
        tiny_model().data_preprocessor(batch, True)


def test_train_step_runs_the_generator_once_and_updates_both_networks():
    model = tiny_model()
    calls = []
    model.generator.register_forward_hook(lambda *args: calls.append(1))
    g_before = [p.detach().clone() for p in model.generator.parameters()]
    d_before = [p.detach().clone() for p in model.discriminator.parameters()]
    log = model.train_step(tiny_batch(), wrappers(model))
    assert len(calls) == 1
    assert {'loss_d_real', 'loss_d_fake', 'loss_rec', 'loss_g_adv'} <= set(log)
    assert any(not torch.equal(a, b) for a, b in zip(g_before, model.generator.parameters()))
    assert any(not torch.equal(a, b) for a, b in zip(d_before, model.discriminator.parameters()))
    # The G step leaves no gradient in D: its next update starts clean.
    assert all(p.grad is None or not p.grad.any() for p in model.discriminator.parameters())
    assert all(p.requires_grad for p in model.discriminator.parameters())


def test_discriminator_update_uses_only_its_own_losses():
    """D's step equals a hand-made step on loss_d_real + loss_d_fake of the same fake."""
    torch.manual_seed(0)
    model = tiny_model()
    reference_model = tiny_model()
    reference_model.load_state_dict(model.state_dict())
    batch = tiny_batch()
    model.train_step(batch, wrappers(model))

    data = reference_model.data_preprocessor(batch, True)['inputs']
    d_opt = torch.optim.Adam(reference_model.discriminator.parameters(), lr=1e-3)
    fake = reference_model.generator(data['sketch'], data['reference']).detach()
    d = reference_model.discriminator
    loss = reference_model.adversarial_loss(d(data['target'], data['sketch']), True, True) + \
        reference_model.adversarial_loss(d(fake, data['sketch']), False, True)
    loss.backward()
    d_opt.step()
    for a, b in zip(model.discriminator.parameters(), reference_model.discriminator.parameters()):
        torch.testing.assert_close(a, b)


def test_hinge_loss_by_config_reaches_both_steps():
    """``adversarial_loss=dict(type='HingeGANLoss')`` alone makes both players hinge players."""
    model = tiny_model(adversarial_loss=dict(type='HingeGANLoss'))
    reference_model = tiny_model(adversarial_loss=dict(type='HingeGANLoss'))
    reference_model.load_state_dict(model.state_dict())
    batch = tiny_batch()
    log = model.train_step(batch, wrappers(model))
    data = reference_model.data_preprocessor(batch, True)['inputs']
    with torch.no_grad():
        fake = reference_model.generator(data['sketch'], data['reference'])
        d = reference_model.discriminator
        real_scores, fake_scores = d(data['target'], data['sketch']), d(fake, data['sketch'])
    torch.testing.assert_close(log['loss_d_real'], torch.relu(1 - real_scores).mean())
    torch.testing.assert_close(log['loss_d_fake'], torch.relu(1 + fake_scores).mean())
    # the generator's term is -mean(D(fake)) of the discriminator after its update
    with torch.no_grad():
        updated = model.discriminator(fake, data['sketch'])
    torch.testing.assert_close(log['loss_g_adv'], -updated.mean())


def test_non_finite_loss_raises_with_the_term_named_or_is_skipped():
    model = tiny_model()
    batch = tiny_batch()
    model.reconstruction_loss.loss_weight = float('nan')
    with pytest.raises(NonFiniteLossError, match='loss_rec'):
        model.train_step(batch, wrappers(model))

    model = tiny_model(nan_policy='skip')
    model.reconstruction_loss.loss_weight = float('nan')
    g_before = [p.detach().clone() for p in model.generator.parameters()]
    log = model.train_step(batch, wrappers(model))
    assert log['skipped_steps'].item() == 1
    assert all(torch.equal(a, b) for a, b in zip(g_before, model.generator.parameters()))


def test_val_step_attaches_uint8_outputs():
    model = tiny_model().eval()
    samples = model.val_step(tiny_batch(batch_size=3))
    assert len(samples) == 3
    assert all(s.output.shape == (3, 16, 16) and s.output.dtype == torch.uint8 for s in samples)


def test_a_few_steps_lower_the_reconstruction_loss_on_a_fixed_batch():
    torch.manual_seed(0)
    model = tiny_model()
    batch = tiny_batch(batch_size=4, size=16)
    optim = wrappers(model, lr_g=3e-3)
    losses = [model.train_step(batch, optim)['loss_rec'].item() for _ in range(30)]
    assert sum(losses[-5:]) / 5 < 0.85 * sum(losses[:5]) / 5


def test_region_fill_option_fills_predictions_and_leaves_training_alone():
    from colorizer.postprocessing import RegionFill
    torch.manual_seed(0)
    model = tiny_model()
    filled_model = tiny_model(region_fill=dict(max_region_share=1.0, uniform_tolerance=1e9))
    filled_model.load_state_dict(model.state_dict())
    batch = tiny_batch()
    square = torch.full((1, 16, 16), 255, dtype=torch.uint8)
    square[0, 3, 3:13] = square[0, 12, 3:13] = square[0, 3:13, 3] = square[0, 3:13, 12] = 0
    batch['inputs']['sketch'] = [square.clone(), square.clone()]
    model.eval()
    filled_model.eval()
    plain = model.val_step(batch)
    filled = filled_model.val_step(tiny_batch() | dict(inputs=batch['inputs']))
    for p, f in zip(plain, filled):
        expected = RegionFill(max_region_share=1.0, uniform_tolerance=1e9)(
            p.output.permute(1, 2, 0).numpy(), square[0].numpy())
        assert torch.equal(f.output, torch.from_numpy(expected).permute(2, 0, 1))
        inside = f.output[:, 5:11, 5:11].reshape(3, -1)
        assert (inside == inside[:, :1]).all()  # one colour inside the square
    assert torch.equal(model(model.data_preprocessor(batch, False)['inputs']),
                       filled_model(filled_model.data_preprocessor(batch, False)['inputs']))


def test_correspondence_loss_is_a_logged_generator_term():
    model = tiny_model('CosineMatchSGA',
                       correspondence_loss=dict(type='RegionInfoNCELoss', positives='position'))
    model.train()
    log = model.train_step(tiny_batch(), wrappers(model))
    assert 'loss_corr' in log and log['loss_corr'] > 0
    region = tiny_model('CosineMatchSGA', correspondence_loss=dict(type='RegionInfoNCELoss'))
    with pytest.raises(ValueError, match='region labels'):
        region.train_step(tiny_batch(), wrappers(region))
