"""Stop-Gradient Attention: normalisation, stop-gradient, chunked == naive, switches."""
import pytest
import torch
import torch.nn.functional as F

from colorizer.models.attention import SGA, sga_aggregate, sga_attention_map
from colorizer.registry import ATTENTIONS
from float_tolerance import assert_close_float32

C = 8


def _feats(b=2, c=C, h=3, w=4, scale=0.5, seed=0, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    return (scale * torch.randn(b, c, h, w, generator=g, dtype=dtype)).requires_grad_()


def test_double_norm_columns_sum_to_one():
    sga = SGA(C)
    _, attn = sga(_feats(), _feats(h=2, w=5, seed=1), return_attention=True)
    assert attn.shape == (2, 12, 10)
    torch.testing.assert_close(attn.sum(dim=-2), torch.ones(2, 10))


def test_softmax_norm_rows_sum_to_one():
    sga = SGA(C, norm='softmax')
    _, attn = sga(_feats(), _feats(h=2, w=5, seed=1), return_attention=True)
    torch.testing.assert_close(attn.sum(dim=-1), torch.ones(2, 12))


def test_map_is_computed_from_raw_tokens():
    x, y = torch.randn(1, 5, C), torch.randn(1, 6, C)
    expected = torch.softmax(x @ y.transpose(1, 2), dim=-1)  # no scale, no projection
    expected = expected / expected.sum(dim=1, keepdim=True)
    torch.testing.assert_close(sga_attention_map(x, y), expected)


def test_return_attention_keeps_output():
    sga = SGA(C).eval()
    x, y = _feats(), _feats(seed=1)
    fused, attn = sga(x, y, return_attention=True)
    torch.testing.assert_close(fused, sga(x, y))
    assert not attn.requires_grad


def _reference_layer(layer, x, y):
    """Hand-written SGA layer whose map is a constant: gradient only through W_x, W_y, shortcut."""
    attn = sga_attention_map(x.detach(), y.detach())  # (B, N, N')
    msg = F.leaky_relu(y @ layer.proj_y.weight.t() + layer.proj_y.bias, 0.2)
    src = F.leaky_relu(x @ layer.proj_x.weight.t() + layer.proj_x.bias, 0.2)
    h = (attn @ msg + src).transpose(1, 2)
    h = F.batch_norm(h, None, None, layer.norm.weight, layer.norm.bias, training=True)
    return h.transpose(1, 2) + x


def test_stop_grad_gradient_only_through_linear_branches():
    sga = SGA(C, self_attention=False)
    x, y = _feats(), _feats(seed=1)
    sga(x, y).square().sum().backward()

    xt = x.detach().flatten(2).transpose(1, 2).requires_grad_()
    yt = y.detach().flatten(2).transpose(1, 2).requires_grad_()
    _reference_layer(sga.cross, xt, yt).square().sum().backward()
    torch.testing.assert_close(x.grad, xt.grad.transpose(1, 2).reshape_as(x))
    torch.testing.assert_close(y.grad, yt.grad.transpose(1, 2).reshape_as(y))


@pytest.mark.parametrize('implementation', ['naive', 'chunked'])
def test_stop_grad_same_output_different_gradient(implementation):
    torch.manual_seed(0)
    stop = SGA(C, stop_grad=True, implementation=implementation)
    free = SGA(C, stop_grad=False, implementation=implementation)
    free.load_state_dict(stop.state_dict())
    grads = []
    for module in (stop, free):
        x, y = _feats(scale=1.0), _feats(scale=1.0, seed=1)
        out = module(x, y)
        out.square().sum().backward()
        grads.append((out.detach(), x.grad, y.grad))
    torch.testing.assert_close(grads[0][0], grads[1][0])
    assert not torch.allclose(grads[0][1], grads[1][1], atol=1e-4)
    assert not torch.allclose(grads[0][2], grads[1][2], atol=1e-4)


@pytest.mark.parametrize('stop_grad', [True, False])
@pytest.mark.parametrize('norm', ['double', 'softmax'])
@pytest.mark.parametrize('size,ref_size,chunk_size', [
    ((1, 1), (1, 3), 1),
    ((3, 5), (2, 4), 4),   # 15 query tokens, chunks of 4: a partial last chunk
    ((4, 4), (4, 4), 16),  # exactly one chunk
    ((5, 7), (3, 3), 6),   # 35 tokens, 6 chunks of 6 and one partial
    ((2, 3), (5, 2), 1024),
])
def test_chunked_matches_naive(stop_grad, norm, size, ref_size, chunk_size):
    torch.manual_seed(0)
    naive = SGA(C, stop_grad=stop_grad, norm=norm, implementation='naive')
    chunked = SGA(C, stop_grad=stop_grad, norm=norm, implementation='chunked',
                  chunk_size=chunk_size)
    chunked.load_state_dict(naive.state_dict())
    results = []
    for module in (naive, chunked):
        x, y = _feats(h=size[0], w=size[1]), _feats(h=ref_size[0], w=ref_size[1], seed=1)
        out = module(x, y)
        (out * torch.linspace(-1, 1, out.numel()).view_as(out)).sum().backward()
        grads = {n: p.grad for n, p in module.named_parameters()}
        results.append((out.detach(), x.grad, y.grad, grads))
    (o1, gx1, gy1, gp1), (o2, gx2, gy2, gp2) = results
    # terms summed along the way: logits over C, the map over N' and N, BatchNorm statistics
    # and parameter gradients over B*N tokens (a fixed 1e-5 failed on another CPU: 1.6e-5)
    n, n_ref = size[0] * size[1], ref_size[0] * ref_size[1]
    length = C + n_ref + n + 2 * n
    # the terms' scale is the largest tensor's: a gradient that cancels (a bias before
    # BatchNorm) still sums terms of that size
    scale = max(float(t.abs().max()) for t in (o1, gx1, gy1, *gp1.values()))
    assert_close_float32(o2, o1, length, magnitude=scale)
    assert_close_float32(gx2, gx1, length, magnitude=scale)
    assert_close_float32(gy2, gy1, length, magnitude=scale)
    for name in gp1:
        assert_close_float32(gp2[name], gp1[name], length, magnitude=scale, msg=name)


def test_chunked_handles_peaky_maps():
    # unscaled logits of large features: near one-hot rows, columns with tiny mass
    x, y, v = 6 * torch.randn(2, 20, C), 6 * torch.randn(2, 17, C), torch.randn(2, 17, C)
    naive = sga_aggregate(x, y, v, implementation='naive')
    chunked = sga_aggregate(x, y, v, implementation='chunked', chunk_size=3)
    assert torch.isfinite(chunked).all()
    # softmax turns a logit's absolute rounding (eps * |logit|, logits of ~100 here) into a
    # relative error of the weights: the scale is |logit| * |value|
    logits = (x @ y.transpose(1, 2)).abs().max()
    assert_close_float32(chunked, naive, C + 17 + 20, magnitude=logits * v.abs().max())


def test_switches():
    full = SGA(C)
    assert full.self_sga is not None
    no_self = SGA(C, self_attention=False)
    assert no_self.self_sga is None
    assert not any(n.startswith('self_sga') for n, _ in no_self.named_parameters())
    assert sum(p.numel() for p in no_self.parameters()) * 2 == sum(
        p.numel() for p in full.parameters())

    torch.manual_seed(0)
    double = SGA(C, self_attention=False).eval()
    softmax = SGA(C, self_attention=False, norm='softmax').eval()
    softmax.load_state_dict(double.state_dict())
    x, y = _feats(), _feats(seed=1)
    assert not torch.allclose(double(x, y), softmax(x, y))

    with pytest.raises(ValueError, match='norm'):
        SGA(C, norm='sinkhorn')
    with pytest.raises(ValueError, match='implementation'):
        SGA(C, implementation='flash')


def test_capture_branches_split_the_gradient():
    for stop_grad, names in ((True, {'x_skip', 'x_proj', 'y_proj'}),
                             (False, {'x_skip', 'x_proj', 'x_att', 'y_proj', 'y_att'})):
        torch.manual_seed(0)
        sga = SGA(C, stop_grad=stop_grad).eval()
        x, y = _feats(), _feats(seed=1)
        expected = sga(x, y)
        sga.capture_branches = True
        out = sga(x, y)
        torch.testing.assert_close(out, expected)
        assert set(sga.branches) == names
        for t in sga.branches.values():
            t.retain_grad()
        out.square().sum().backward()
        g_x = sum(sga.branches[n].grad for n in names if n.startswith('x'))
        g_y = sum(sga.branches[n].grad for n in names if n.startswith('y'))
        torch.testing.assert_close(g_x.transpose(1, 2).reshape_as(x), x.grad)
        torch.testing.assert_close(g_y.transpose(1, 2).reshape_as(y), y.grad)
        assert set(sga.branch_grads) == names
        for n in names:
            torch.testing.assert_close(sga.branch_grads[n], sga.branches[n].grad)
        assert set(sga.branch_grads) == names
        for n in names:
            torch.testing.assert_close(sga.branch_grads[n], sga.branches[n].grad)


def test_autocast_bfloat16_runs_in_float32_map():
    sga = SGA(C)
    x, y = _feats(), _feats(seed=1)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = sga(x, y)
    assert torch.isfinite(out).all()


def test_registry_build():
    module = ATTENTIONS.build(dict(type='SGA', channels=C, norm='softmax', chunk_size=3))
    assert isinstance(module, SGA) and module.norm_type == 'softmax'
