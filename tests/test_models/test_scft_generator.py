"""SCFT-family generator and PatchGAN discriminator: shapes, errors, registry."""
import pytest
import torch

from colorizer.models.discriminators import PatchDiscriminator
from colorizer.models.generators import Encoder, SCFTGenerator, encoder_widths
from colorizer.registry import DISCRIMINATORS, GENERATORS
from float_tolerance import assert_close_float32


def _inputs(b=2, size=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    sketch = torch.rand(b, 1, size, size, generator=g) * 2 - 1
    reference = torch.rand(b, 3, size, size, generator=g) * 2 - 1
    return sketch, reference


def test_paper_widths():
    assert encoder_widths(16, 5) == [16, 16, 32, 32, 64, 64, 128, 128, 256, 256]
    assert sum(encoder_widths(16, 5)) == 992


def test_encoder_shapes():
    enc = Encoder(1, base_channels=4, num_levels=5)
    pooled, feats = enc(torch.randn(1, 1, 32, 32))
    assert pooled.shape == (1, 4 * 62, 2, 2)
    assert [f.shape[-1] for f in feats] == [32, 32, 16, 16, 8, 8, 4, 4, 2, 2]
    assert [f.shape[1] for f in feats] == encoder_widths(4, 5)


@pytest.mark.parametrize('attention', [dict(type='SGA'), dict(type='SCFT'),
                                       dict(type='SGA', self_attention=False, norm='softmax')])
@pytest.mark.parametrize('size', [32, 64])
def test_generator_shapes(attention, size):
    gen = SCFTGenerator(attention=attention, base_channels=4)
    sketch, reference = _inputs(size=size)
    out = gen(sketch, reference)
    assert out.shape == (2, 3, size, size)
    assert out.abs().max() <= 1
    image, attn = gen(sketch, reference, return_attention=True)
    n = (size // 16)**2
    assert image.shape == out.shape and attn.shape == (2, n, n)


def test_generator_small_levels_and_skip_deepest():
    gen = SCFTGenerator(base_channels=4, num_levels=3, skip_deepest=True, num_res_blocks=2)
    assert gen(*_inputs(size=16)).shape == (2, 3, 16, 16)


def test_generator_backward_reaches_every_parameter():
    gen = SCFTGenerator(base_channels=4)
    gen(*_inputs()).mean().backward()
    missing = [n for n, p in gen.named_parameters() if p.grad is None]
    assert missing == []


def _conv_terms(gen) -> int:
    """Terms summed along the generator: every conv's fan-in (k*k*C_in) and the attention's
    reductions (bounded by the largest fan-in times the number of layers)."""
    fans = [m.weight[0].numel() for m in gen.modules() if isinstance(m, torch.nn.Conv2d)]
    return sum(fans) + max(fans) * len(fans)


def test_generator_channels_last_matches():
    torch.manual_seed(0)
    gen = SCFTGenerator(base_channels=4).eval()
    sketch, reference = _inputs()
    expected = gen(sketch, reference)
    gen = gen.to(memory_format=torch.channels_last)
    out = gen(sketch.contiguous(memory_format=torch.channels_last),
              reference.contiguous(memory_format=torch.channels_last))
    # another summation order in every conv: fan-in 9*C_in per layer, summed over the network
    assert_close_float32(out, expected, _conv_terms(gen))


def test_generator_batch_independent_in_eval():
    gen = SCFTGenerator(base_channels=4).eval()
    sketch, reference = _inputs(b=3)
    batched = gen(sketch, reference)
    single = gen(sketch[1:2], reference[1:2])
    assert_close_float32(batched[1:2], single, _conv_terms(gen))


@pytest.mark.parametrize('size', [(30, 32), (32, 40), (8, 8)])
def test_generator_bad_size_is_a_clear_error(size):
    gen = SCFTGenerator(base_channels=4)
    with pytest.raises(ValueError, match='not divisible by 16'):
        gen(torch.zeros(1, 1, *size), torch.zeros(1, 3, 32, 32))


def test_generator_bad_channels():
    gen = SCFTGenerator(base_channels=4)
    with pytest.raises(ValueError, match=r'\(B, 3, H, W\)'):
        gen(torch.zeros(1, 1, 32, 32), torch.zeros(1, 1, 32, 32))


def test_generator_registry_build():
    gen = GENERATORS.build(dict(type='SCFTGenerator', base_channels=4,
                                attention=dict(type='SCFT', stop_grad_q=True)))
    assert type(gen.attention).__name__ == 'SCFT' and gen.attention.stop_grad_q
    assert gen.attention.channels == 4 * 62


@pytest.mark.parametrize('size', [32, 64])
def test_discriminator_shapes(size):
    disc = PatchDiscriminator(base_channels=4)
    sketch, image = _inputs(size=size)
    assert disc(image, sketch).shape == (2, 1, size // 16, size // 16)


def test_discriminator_spectral_norm_and_registry():
    disc = DISCRIMINATORS.build(dict(type='PatchDiscriminator', base_channels=4, num_layers=3))
    convs = [m for m in disc.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 4
    assert all(hasattr(m, 'parametrizations') for m in convs[:-1])
    assert not hasattr(convs[-1], 'parametrizations')
    sketch, image = _inputs()
    assert disc(image, sketch).shape == (2, 1, 4, 4)
    with pytest.raises(ValueError, match='channels'):
        disc(image, image)


def test_generator_gradient_branches_capture():
    gen = SCFTGenerator(attention=dict(type='SCFT'), base_channels=4)
    gen.attention.capture_branches = True
    gen(*_inputs()).mean().backward()
    assert set(gen.attention.branch_grads) == {'x_skip', 'x_q', 'y_k', 'y_v'}
    assert gen.attention.branch_grads['x_q'].shape == (2, 4, 4 * 62)
