"""Controls and the line-art variant as attention plugins; the generator's context route."""
import numpy as np
import pytest
import torch

from colorizer.datasets import SyntheticToonDataset
from colorizer.datasets.transforms.xdog import xdog_sketch
from colorizer.models.attention import (SGA, BaseAttention, LineArtSGA, OracleAttention,
                                        UniformAttention, sga_attention_map, to_tokens)
from colorizer.models.generators import SCFTGenerator
from colorizer.models.generators.line_art import XDoGLineArt
from colorizer.registry import ATTENTIONS


def feats(b=2, c=6, h=4, w=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(b, c, h, w, generator=g), torch.randn(b, c, h, w, generator=g)


def test_controls_keep_sgas_parameters():
    # a difference in results is the map's: same layers, same names as SGA
    keys = set(SGA(6).state_dict())
    for cls in (UniformAttention, OracleAttention, LineArtSGA):
        assert set(cls(6).state_dict()) == keys, cls


def test_uniform_map_and_its_fast_path():
    module = UniformAttention(6).eval()
    x, y = feats()
    out, attn = module(x, y, return_attention=True)
    assert torch.allclose(attn, torch.full((2, 16, 16), 1 / 16))
    # the aggregation without the map equals the materialised map's
    value = torch.randn(2, 16, 6)
    tx, ty = to_tokens(x), to_tokens(y)
    strategy = module.cross.cross_map
    assert torch.allclose(strategy.aggregate(tx, ty, value, {}),
                          torch.bmm(strategy.attention_map(tx, ty, {}), value), atol=1e-6)
    out.sum().backward()  # trains: W_x, W_y get gradient
    assert module.cross.proj_y.weight.grad.abs().sum() > 0


def test_oracle_map_is_uniform_over_the_region():
    # 4x4 px labels, 2x2 tokens of 2x2 px; reference has regions 0, 1, 1, 5
    sketch_labels = torch.tensor([[[0, 0, 1, 1], [0, 0, 1, 1], [2, 2, 5, 5], [2, 2, 5, 5]]])
    reference_labels = torch.tensor([[[1, 1, 0, 0], [1, 1, 0, 0], [5, 5, 1, 1], [5, 5, 1, 1]]])
    module = OracleAttention(3)
    x, y = torch.randn(1, 4, 3), torch.randn(1, 4, 3)
    attn = module.cross.attention_map(x, y, dict(sketch_labels=sketch_labels,
                                                 reference_labels=reference_labels))
    expected = torch.tensor([[0, 1, 0, 0],           # region 0: reference token 1
                             [0.5, 0, 0, 0.5],       # region 1: tokens 0 and 3
                             [0.25] * 4,             # region 2: absent, uniform
                             [0, 0, 1, 0]])          # region 5: token 2
    assert torch.allclose(attn[0], expected)


def test_oracle_refuses_data_without_labels():
    generator = SCFTGenerator(dict(type='OracleAttention'), base_channels=2, num_levels=3)
    with pytest.raises(ValueError, match='region labels.*SyntheticToonDataset'):
        generator(torch.zeros(1, 1, 16, 16), torch.zeros(1, 3, 16, 16))


def test_generator_passes_context_only_to_modules_that_ask():
    seen = {}

    @ATTENTIONS.register_module(force=True)
    class _OldStyle(BaseAttention):  # a third-party module written before context existed
        def forward(self, sketch_feat, ref_feat, return_attention=False):
            seen['old'] = True
            return sketch_feat

    @ATTENTIONS.register_module(force=True)
    class _Labelled(BaseAttention):
        context_keys = ('reference_labels', )

        def forward(self, sketch_feat, ref_feat, return_attention=False, context=None):
            seen['context'] = context
            return sketch_feat

    @ATTENTIONS.register_module(force=True)
    class _Unknown(_Labelled):
        context_keys = ('depth', )

    sketch, ref = torch.zeros(1, 1, 16, 16), torch.zeros(1, 3, 16, 16)
    labels = torch.ones(1, 16, 16, dtype=torch.long)
    SCFTGenerator(dict(type='_OldStyle'), base_channels=2, num_levels=3)(
        sketch, ref, sketch_labels=labels, reference_labels=labels)
    assert seen['old']
    SCFTGenerator(dict(type='_Labelled'), base_channels=2, num_levels=3)(
        sketch, ref, reference_labels=labels)
    assert set(seen['context']) == {'reference_labels'}
    assert seen['context']['reference_labels'] is labels
    with pytest.raises(KeyError, match="'depth'"):
        SCFTGenerator(dict(type='_Unknown'), base_channels=2, num_levels=3)(sketch, ref)


def test_line_art_sga_maps_sketch_against_the_references_line_art():
    torch.manual_seed(0)
    generator = SCFTGenerator(dict(type='LineArtSGA'), base_channels=2, num_levels=3).eval()
    sketch = torch.rand(2, 1, 32, 32) * 2 - 1
    reference = torch.rand(2, 3, 32, 32) * 2 - 1
    _, attn = generator(sketch, reference, return_attention=True)
    with torch.no_grad():
        x = to_tokens(generator.sketch_encoder(sketch)[0])
        line = to_tokens(generator.sketch_encoder(generator.line_art(reference))[0])
    assert torch.allclose(attn, sga_attention_map(x, line), atol=1e-5)
    # the chunked aggregation equals the materialised map's
    module = LineArtSGA(x.shape[-1], chunk_size=3)
    value = torch.randn(2, x.shape[1], x.shape[-1])
    context = dict(reference_line_feat=line.transpose(1, 2).reshape(2, -1, 8, 8))
    y = torch.randn_like(line)
    strategy = module.cross.cross_map
    assert torch.allclose(strategy.aggregate(x, y, value, context),
                          torch.bmm(strategy.attention_map(x, y, context), value), atol=1e-4)
    with pytest.raises(ValueError, match='reference_line_feat'):
        strategy.attention_map(x, y, {})


def test_generators_without_line_art_modules_have_no_line_art_buffers():
    assert SCFTGenerator(dict(type='SGA'), base_channels=2, num_levels=3).line_art is None


def test_xdog_line_art_matches_the_pipelines_xdog():
    image = SyntheticToonDataset(img_size=64, length=1).render(
        *[f(0) for f in (SyntheticToonDataset(img_size=64, length=1).geometry,
                         SyntheticToonDataset(img_size=64, length=1).palette)])[0]
    expected = xdog_sketch(image, sigma=0.4)  # (H, W) uint8
    batch = torch.from_numpy(image).permute(2, 0, 1)[None].float() / 127.5 - 1
    line = XDoGLineArt(sigma=0.4)(batch)[0, 0]
    got = ((line + 1) * 127.5).round().numpy().astype(np.uint8)
    assert expected.min() < 128  # the image has lines
    assert (got == expected).mean() > 0.99
