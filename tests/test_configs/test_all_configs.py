"""Every config in configs/ resolves, passes the start-up checks, and its model trains a step."""
import warnings
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import OptimWrapper, OptimWrapperDict

import colorizer.datasets  # noqa: F401
import colorizer.evaluation  # noqa: F401
import colorizer.models  # noqa: F401
from colorizer.engine.config_validation import check_config
from colorizer.registry import MODELS
from colorizer.structures import ColorizationDataSample

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = sorted(p for p in (ROOT / 'configs').rglob('*.py') if '_base_' not in p.parts)
PAPER_DATASETS = ('anime', 'afhq_cat', 'afhq_dog', 'afhq_wild')


def rel(path):
    return str(path.relative_to(ROOT))


@pytest.mark.parametrize('path', CONFIGS, ids=rel)
def test_config_resolves_and_passes_checks(path):
    cfg = Config.fromfile(str(path))
    check_config(cfg)
    assert cfg.default_scope == 'colorizer'
    assert cfg.method and cfg.dataset_name


def _flat(node, prefix=''):
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            out.update(_flat(value, f'{prefix}.{key}' if prefix else key))
        return out
    return {prefix: node}


@pytest.mark.parametrize('dataset', PAPER_DATASETS)
def test_baselines_differ_from_sga_only_in_the_module(dataset):
    sga = _flat(Config.fromfile(str(ROOT / f'configs/sga/sga_{dataset}.py')).to_dict())
    for path in sorted((ROOT / 'configs').rglob(f'*_{dataset}.py')):
        if path.name == f'sga_{dataset}.py':
            continue
        other = _flat(Config.fromfile(str(path)).to_dict())
        differing = {k for k in sga.keys() | other.keys() if sga.get(k) != other.get(k)}
        allowed = {k for k in differing
                   if k == 'method' or k.startswith('model.generator.attention')}
        assert differing == allowed, \
            f'{path.name} differs from sga_{dataset}.py in {differing - allowed}'


def _tiny(cfg):
    model = cfg.model
    model.generator.update(base_channels=2, num_levels=3)
    model.discriminator.update(base_channels=4, num_layers=2)
    if model.get('perceptual_loss'):
        model.perceptual_loss.pretrained = None  # no VGG file on test machines
    return model


ATTENTION_VARIANTS = {}
for _path in CONFIGS:
    _attention = Config.fromfile(str(_path)).model.generator.attention
    ATTENTION_VARIANTS.setdefault(repr(sorted(_attention.items())), _path)


@pytest.mark.parametrize('path', sorted(ATTENTION_VARIANTS.values()), ids=rel)
def test_one_train_iteration_of_every_method_variant(path):
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # the random-VGG warning; tested in test_models
        model = MODELS.build(_tiny(Config.fromfile(str(path))))
    size = 16
    batch = dict(
        inputs=dict(sketch=[torch.randint(0, 256, (1, size, size), dtype=torch.uint8)] * 2,
                    reference=[torch.randint(0, 256, (3, size, size), dtype=torch.uint8)] * 2),
        # region labels: the oracle-map control reads them, every other module ignores them
        data_samples=[ColorizationDataSample(
            target=torch.randint(0, 256, (3, size, size), dtype=torch.uint8),
            labels=torch.randint(0, 3, (size, size)),
            reference_labels=torch.randint(0, 3, (size, size))) for _ in range(2)])
    optim = OptimWrapperDict(
        generator=OptimWrapper(torch.optim.Adam(model.generator.parameters(), lr=1e-3)),
        discriminator=OptimWrapper(torch.optim.Adam(model.discriminator.parameters(), lr=1e-3)))
    before = [p.detach().clone() for p in model.generator.parameters()]
    log = model.train_step(batch, optim)
    assert all(torch.isfinite(v) for v in log.values())
    assert any(not torch.equal(a, b) for a, b in zip(before, model.generator.parameters()))
