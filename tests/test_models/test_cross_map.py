"""The SGA block's cross map is a strategy: swapped from a config, with its contract held."""
import pytest
import torch

from colorizer.models.attention import (SGA, CrossMap, OracleAttention, SGAMap,
                                        UniformAttention, to_tokens)
from colorizer.models.generators import SCFTGenerator
from colorizer.registry import ATTENTIONS, CROSS_MAPS


def feats(b=2, c=6, h=4, w=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(b, c, h, w, generator=g), torch.randn(b, c, h, w, generator=g)


class _Recorder(CrossMap):
    """Identity map (N = N') that records what the layer hands it."""

    context_keys = ('reference_labels', )

    def __init__(self):
        super().__init__()
        self.seen = []

    def attention_map(self, x, y, context):
        self.seen.append((x, y, dict(context)))
        return torch.eye(x.shape[1], y.shape[1]).expand(x.shape[0], -1, -1)


def test_registered_controls_are_sga_with_a_cross_map_config():
    torch.manual_seed(0)
    uniform = UniformAttention(6).eval()
    configured = ATTENTIONS.build(dict(type='SGA', channels=6,
                                       cross_map=dict(type='UniformMap'))).eval()
    configured.load_state_dict(uniform.state_dict(), strict=True)
    x, y = feats()
    torch.testing.assert_close(configured(x, y), uniform(x, y))
    assert type(configured.cross.cross_map).__name__ == 'UniformMap'
    assert OracleAttention(6).context_keys == ('sketch_labels', 'reference_labels')
    assert SGA(6).context_keys == ()


def test_stop_gradient_contract_and_context_route():
    recorder = _Recorder()
    module = SGA(6, cross_map=recorder)
    assert module.context_keys == ('reference_labels', ) and module.stop_grad
    x, y = (t.requires_grad_() for t in feats())
    labels = torch.zeros(2, 4, 4, dtype=torch.long)
    out = module(x, y, context=dict(reference_labels=labels))
    sx, sy, context = recorder.seen[0]
    # x and y arrive detached: the map is a constant for autograd
    assert not sx.requires_grad and not sy.requires_grad
    assert sx.shape == (2, 16, 6) and sy.shape == (2, 16, 6)
    assert context['reference_labels'] is labels
    out.square().sum().backward()
    # the identity map sends sketch token i the message of reference token i: a hand computation
    layer = module.cross
    with torch.no_grad():
        tx, ty = to_tokens(x), to_tokens(y)
        msg = torch.nn.functional.leaky_relu(layer.proj_y(ty), 0.2)
        src = torch.nn.functional.leaky_relu(layer.proj_x(tx), 0.2)
        h = (msg + src).transpose(1, 2)
        expected = torch.nn.functional.batch_norm(
            h, None, None, layer.norm.weight, layer.norm.bias, training=True).transpose(1, 2) + tx
        assert torch.allclose(layer(tx, ty, context=dict(reference_labels=labels)), expected,
                              atol=1e-5)
    assert layer.proj_y.weight.grad.abs().sum() > 0


def test_third_party_strategy_through_the_generator():
    @CROSS_MAPS.register_module(force=True)
    class ReversedMap(CrossMap):
        def attention_map(self, x, y, context):
            eye = torch.eye(x.shape[1], y.shape[1], dtype=x.dtype)
            return eye.flip(-1).expand(x.shape[0], -1, -1)

    generator = SCFTGenerator(dict(type='SGA', cross_map=dict(type='ReversedMap')),
                              base_channels=2, num_levels=3)
    _, attn = generator(torch.zeros(1, 1, 32, 32), torch.zeros(1, 3, 32, 32),
                        return_attention=True)
    assert torch.equal(attn[0], torch.eye(attn.shape[1]).flip(-1))


def test_bad_cross_map_and_arguments_are_refused():
    with pytest.raises(TypeError, match='cross_map'):
        SGA(6, cross_map=torch.nn.Identity())
    with pytest.raises(ValueError, match='norm'):
        SGAMap(norm='l2')
    with pytest.raises(NotImplementedError, match='attention_map'):
        CrossMap().attention_map(torch.zeros(1, 1, 1), torch.zeros(1, 1, 1), {})
    # without stop-gradient the map passes gradient to both inputs
    assert SGAMap(stop_grad=False).passes_gradient and not SGAMap().passes_gradient
