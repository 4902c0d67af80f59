"""L1, GAN (least-squares, hinge, non-saturating) and VGG perceptual / style losses."""
import math

import pytest
import torch
from torchvision.models.vgg import cfgs, make_layers
from torchvision.transforms import Normalize

from colorizer.models.losses import (HingeGANLoss, L1Loss, LSGANLoss, NonSaturatingGANLoss,
                                     PerceptualLoss, gram_matrix)
from colorizer.registry import LOSSES


def _random_vgg_loss(**kwargs):
    with pytest.warns(UserWarning, match='random'):
        return PerceptualLoss(pretrained=None, **kwargs)


def test_l1_loss():
    loss = L1Loss()
    value = loss(torch.tensor([0.0, 1.0]), torch.tensor([1.0, 1.0]))
    torch.testing.assert_close(value, torch.tensor(30 * 0.5))


PRED = [0.5, -1.5, 2.0]


def _softplus(v):
    return math.log1p(math.exp(v))


def _mean(values):
    return torch.tensor(sum(values) / len(values))


def test_lsgan_loss():
    pred = torch.tensor(PRED)
    loss = LSGANLoss(loss_weight=2.0)
    # discriminator terms: unweighted
    torch.testing.assert_close(loss(pred, True, True), _mean([(p - 1) ** 2 for p in PRED]))
    torch.testing.assert_close(loss(pred, False, True), _mean([p ** 2 for p in PRED]))
    # generator term: weighted, target 1
    torch.testing.assert_close(loss(pred, True, False), 2 * _mean([(p - 1) ** 2 for p in PRED]))


def test_hinge_loss():
    pred = torch.tensor(PRED)
    loss = HingeGANLoss(loss_weight=2.0)
    torch.testing.assert_close(loss(pred, True, True), _mean([0.5, 2.5, 0.0]))  # max(0, 1 - p)
    torch.testing.assert_close(loss(pred, False, True), _mean([1.5, 0.0, 3.0]))  # max(0, 1 + p)
    torch.testing.assert_close(loss(pred, True, False), -2 * _mean(PRED))


def test_non_saturating_loss():
    pred = torch.tensor(PRED)
    loss = NonSaturatingGANLoss(loss_weight=2.0)
    # -log sigmoid(p) = softplus(-p); -log(1 - sigmoid(p)) = softplus(p)
    torch.testing.assert_close(loss(pred, True, True), _mean([_softplus(-p) for p in PRED]))
    torch.testing.assert_close(loss(pred, False, True), _mean([_softplus(p) for p in PRED]))
    torch.testing.assert_close(loss(pred, True, False),
                               2 * _mean([_softplus(-p) for p in PRED]))


@pytest.mark.parametrize('cls', [LSGANLoss, HingeGANLoss, NonSaturatingGANLoss])
def test_gan_losses_refuse_a_fake_target_for_the_generator(cls):
    with pytest.raises(ValueError, match='target_is_real=True'):
        cls()(torch.zeros(2), False, False)
    with pytest.raises(TypeError):
        cls()(torch.zeros(2), True)  # whether the caller is the discriminator must be said


def test_gram_matrix_normalisation():
    feat = torch.randn(2, 3, 4, 5)
    a, b, c, d = feat.shape
    rows = feat.reshape(a * b, c * d)
    expected = torch.empty(a * b, a * b)
    for i in range(a * b):
        for j in range(a * b):
            expected[i, j] = (rows[i] * rows[j]).sum() / (a * b * c * d)
    torch.testing.assert_close(gram_matrix(feat), expected)
    per_sample = gram_matrix(feat, 'per_sample')
    assert per_sample.shape == (a, b, b)
    for n in range(a):
        torch.testing.assert_close(per_sample[n], expected[n * b:(n + 1) * b, n * b:(n + 1) * b])


def test_perceptual_random_weights_frozen_and_eval():
    loss = _random_vgg_loss()
    assert len(loss.vgg) == 9  # cut after features[8] (relu2_2)
    assert not any(p.requires_grad for p in loss.parameters())
    loss.train()
    assert loss.training and not loss.vgg.training

    fake = (torch.rand(2, 3, 16, 16) * 2 - 1).requires_grad_()
    real = (torch.rand(2, 3, 16, 16) * 2 - 1).requires_grad_()
    out = loss(fake, real)
    assert set(out) == {'loss_perceptual', 'loss_style'}
    assert all(v.dim() == 0 and v > 0 for v in out.values())
    (out['loss_perceptual'] + out['loss_style']).backward()
    assert fake.grad is not None and fake.grad.abs().sum() > 0
    assert real.grad is None  # target features are computed without gradient
    assert all(p.grad is None for p in loss.parameters())

    same = loss(real.detach(), real.detach())
    assert same['loss_perceptual'] == 0 and same['loss_style'] == 0


def test_perceptual_weights_and_layers():
    loss = _random_vgg_loss(layers=(1,), perceptual_weight=2.0, style_weight=0.0)
    assert len(loss.vgg) == 2
    real = torch.rand(1, 3, 8, 8) * 2 - 1
    fake = torch.rand(1, 3, 8, 8) * 2 - 1
    x = lambda im: ((im + 1) / 2 - loss.mean) / loss.std  # noqa: E731
    expected = 2.0 * (loss.vgg(x(fake)) - loss.vgg(x(real))).abs().mean()
    out = loss(fake, real)
    torch.testing.assert_close(out['loss_perceptual'], expected)
    assert out['loss_style'] == 0


@pytest.mark.parametrize('input_norm', ['imagenet', 'none'])
def test_perceptual_input_norm(input_norm):
    loss = _random_vgg_loss(layers=(3, 8), input_norm=input_norm)
    g = torch.Generator().manual_seed(0)
    fake, real = (torch.rand(2, 3, 12, 12, generator=g) * 2 - 1 for _ in range(2))
    # independent computation: torchvision's own Normalize with the published ImageNet stats,
    # and a VGG built from the same weights, run layer by layer
    if input_norm == 'imagenet':
        norm = Normalize(mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225))
        prep = lambda im: norm((im + 1) / 2)  # noqa: E731
    else:
        prep = lambda im: im  # noqa: E731
    vgg = make_layers(cfgs['E'])[:9]
    vgg.load_state_dict(loss.vgg.state_dict())
    relu = [i for i, m in enumerate(vgg) if isinstance(m, torch.nn.ReLU)]
    for i in relu:
        vgg[i].inplace = False

    def feats(im):
        x, out = prep(im), []
        for i, module in enumerate(vgg):
            x = module(x)
            if i in (3, 8):
                out.append(x)
        return out

    f_fake, f_real = feats(fake), feats(real)
    perceptual = sum((a - b).abs().mean() for a, b in zip(f_fake, f_real))
    style = 0
    for a, b in zip(f_fake, f_real):
        n, c, h, w = a.shape
        ga = a.reshape(n * c, h * w) @ a.reshape(n * c, h * w).t() / (n * c * h * w)
        gb = b.reshape(n * c, h * w) @ b.reshape(n * c, h * w).t() / (n * c * h * w)
        style = style + (ga - gb).abs().mean()
    out = loss(fake, real)
    torch.testing.assert_close(out['loss_perceptual'], 0.01 * perceptual)
    torch.testing.assert_close(out['loss_style'], 50.0 * style)
    # the two forms differ, so the switch is not a no-op
    other = _random_vgg_loss(layers=(3, 8), input_norm='none' if input_norm == 'imagenet'
                             else 'imagenet')
    other.vgg.load_state_dict(loss.vgg.state_dict())
    assert not torch.allclose(other(fake, real)['loss_perceptual'], out['loss_perceptual'])


def test_perceptual_rejects_unknown_input_norm():
    with pytest.raises(ValueError, match='input_norm'):
        PerceptualLoss(pretrained=None, input_norm='caffe')


def test_paper_configs_feed_vgg_the_authors_input():
    import inspect
    from pathlib import Path

    from mmengine.config import Config
    root = Path(__file__).resolve().parents[2]
    for path in ('configs/_base_/models/sga.py', 'configs/sga/sga_anime.py',
                 'configs/cmft/cmft_afhq_dog.py', 'configs/unite/unite_afhq_cat.py'):
        cfg = Config.fromfile(str(root / path))
        assert cfg.model.perceptual_loss.input_norm == 'none', path
    # the class default stays the input VGG19 was trained on
    default = inspect.signature(PerceptualLoss).parameters['input_norm'].default
    assert default == 'imagenet'


def test_perceptual_loads_torchvision_state_dict(tmp_path):
    torch.manual_seed(0)
    features = make_layers(cfgs['E'])
    state = {f'features.{k}': v for k, v in features.state_dict().items()}
    state['classifier.0.weight'] = torch.zeros(2, 2)  # the full vgg19 file also has these
    path = tmp_path / 'vgg19-dcbb9e9d.pth'
    torch.save(state, path)
    loss = LOSSES.build(dict(type='PerceptualLoss', pretrained=str(path)))
    torch.testing.assert_close(loss.vgg[7].weight, features[7].weight)


def test_perceptual_missing_weights(tmp_path, monkeypatch):
    monkeypatch.setenv('TORCH_HOME', str(tmp_path))
    with pytest.raises(FileNotFoundError, match='vgg19-dcbb9e9d.pth') as err:
        PerceptualLoss()
    assert 'https://download.pytorch.org/models/vgg19-dcbb9e9d.pth' in str(err.value)
    with pytest.raises(FileNotFoundError, match='vgg19-dcbb9e9d.pth'):
        PerceptualLoss(pretrained=str(tmp_path / 'nowhere.pth'))


def test_losses_registered():
    for name in ('L1Loss', 'LSGANLoss', 'HingeGANLoss', 'NonSaturatingGANLoss', 'PerceptualLoss'):
        assert LOSSES.get(name) is not None
