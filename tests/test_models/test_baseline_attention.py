"""Baseline fusion modules of paper Table 2: SPADE, CoCosNet, UNITE, CMFT."""
import pytest
import torch
import torch.nn.functional as F

from colorizer.models.attention import CMFT, SPADE, UNITE, CoCosNet, cmft_aggregate, sinkhorn_log
from colorizer.models.attention.spade import resize_matrix
from colorizer.registry import ATTENTIONS
from float_tolerance import assert_close_float32

C = 8
# (name, extra constructor args): every module variant the tests run
VARIANTS = [
    ('SPADE', {}),
    ('SPADE', dict(condition='global')),
    ('SPADE', dict(norm='instance', hidden_channels=16)),
    ('CoCosNet', {}),
    ('UNITE', {}),
    ('CMFT', {}),
    ('CMFT', dict(projections=False, chunk_size=3)),
]
IDS = [f'{n}-{"-".join(f"{k}={v}" for k, v in a.items()) or "default"}' for n, a in VARIANTS]
BRANCHES = {
    'SPADE': {'x_skip', 'x_norm', 'y_cond'},
    'CoCosNet': {'x_skip', 'x_norm', 'x_corr', 'y_corr', 'y_v'},
    'UNITE': {'x_skip', 'x_norm', 'x_corr', 'x_conf', 'y_corr', 'y_v'},
    'CMFT': {'x_skip', 'x_q', 'y_k', 'y_v'},
}
# (sketch (H, W), reference (H', W'))
SIZES = [((4, 4), (4, 4)), ((3, 5), (4, 2)), ((8, 8), (6, 7))]


def _build(name, args, channels=C):
    torch.manual_seed(0)
    return ATTENTIONS.build(dict(type=name, channels=channels, **args))


def _feats(hw, seed=0, batch=2, channels=C, scale=1.0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(batch, channels, *hw, generator=g) * scale).requires_grad_()


def _no_grad_params(module):
    return [n for n, p in module.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]


def test_registered_names():
    for name in ('SPADE', 'CoCosNet', 'UNITE', 'CMFT'):
        assert ATTENTIONS.get(name) is not None


@pytest.mark.parametrize('name,args', VARIANTS, ids=IDS)
@pytest.mark.parametrize('hw,hw_ref', SIZES)
def test_shapes_and_attention_map(name, args, hw, hw_ref):
    module = _build(name, args)
    x, y = _feats(hw), _feats(hw_ref, seed=1)
    fused = module(x, y)
    assert fused.shape == x.shape
    fused2, attn = module(x, y, return_attention=True)
    torch.testing.assert_close(fused2, fused)
    n, n_ref = hw[0] * hw[1], hw_ref[0] * hw_ref[1]
    assert attn.shape == (2, n, n_ref) and not attn.requires_grad
    assert (attn >= 0).all()
    assert_close_float32(attn.sum(-1), torch.ones(2, n), n_ref)  # rows of N' weights


@pytest.mark.parametrize('name,args', VARIANTS, ids=IDS)
def test_gradients_reach_parameters_and_inputs(name, args):
    module = _build(name, args)
    x, y = _feats((4, 5)), _feats((3, 4), seed=1)
    module(x, y).square().sum().backward()
    assert _no_grad_params(module) == []
    assert x.grad.abs().sum() > 0 and y.grad.abs().sum() > 0


@pytest.mark.parametrize('name,args', VARIANTS, ids=IDS)
def test_large_feature_magnitudes_stay_finite(name, args):
    module = _build(name, args)
    x, y = _feats((4, 4), scale=100.0), _feats((4, 4), seed=1, scale=100.0)
    fused, attn = module(x, y, return_attention=True)
    assert torch.isfinite(fused).all() and torch.isfinite(attn).all()
    module(x, y).square().mean().backward()
    assert torch.isfinite(x.grad).all() and torch.isfinite(y.grad).all()
    assert all(torch.isfinite(p.grad).all() for p in module.parameters())


@pytest.mark.parametrize('name,args', VARIANTS, ids=IDS)
def test_eval_mode_batch_of_one(name, args):
    module = _build(name, args)
    module(_feats((4, 4), batch=3), _feats((4, 4), seed=1, batch=3))  # running statistics
    module.eval()
    with torch.no_grad():
        out = module(_feats((4, 4), batch=1), _feats((5, 3), seed=1, batch=1))
    assert out.shape == (1, C, 4, 4) and torch.isfinite(out).all()


@pytest.mark.parametrize('name,args', VARIANTS, ids=IDS)
def test_capture_branches(name, args):
    module = _build(name, args)
    x, y = _feats((4, 3)), _feats((3, 3), seed=1)
    expected = module(x, y)
    module.capture_branches = True
    out = module(x, y)
    torch.testing.assert_close(out, expected)  # capturing never changes the forward
    names = set(module.branches)
    assert names == BRANCHES[name]
    upstream = torch.randn_like(out)
    (out * upstream).sum().backward()
    assert set(module.branch_grads) == names
    # the branches partition the inputs' gradient
    g_x = sum(g for n, g in module.branch_grads.items() if n.startswith('x'))
    g_y = sum(g for n, g in module.branch_grads.items() if n.startswith('y'))
    torch.testing.assert_close(g_x, x.grad.flatten(2).transpose(1, 2))
    torch.testing.assert_close(g_y, y.grad.flatten(2).transpose(1, 2))
    # the shortcut branch of x carries the upstream gradient unchanged
    torch.testing.assert_close(module.branch_grads['x_skip'], upstream.flatten(2).transpose(1, 2))


# --- SPADE -----------------------------------------------------------------------------------

def test_spade_formula_and_maps():
    spade = _build('SPADE', {})
    x, y = _feats((4, 4)), _feats((2, 2), seed=1)
    cond = F.interpolate(y, size=(4, 4), mode='bilinear', align_corners=False)
    mod = spade.modulation
    h = mod.shared(cond)
    expected = x + F.batch_norm(x, None, None, training=True) * (1 + mod.to_gamma(h)) \
        + mod.to_beta(h)
    fused, attn = spade(x, y, return_attention=True)
    torch.testing.assert_close(fused, expected)
    # the returned map is the resampling that builds the condition from the reference tokens
    torch.testing.assert_close(attn[0] @ y[0].flatten(1).t(), cond[0].flatten(1).t())
    # equal sizes: identity
    _, attn = spade(x, _feats((4, 4), seed=2), return_attention=True)
    torch.testing.assert_close(attn, torch.eye(16).expand(2, -1, -1))
    assert resize_matrix((3, 5), (3, 5)).equal(torch.eye(15))


def test_spade_global_condition():
    spade = _build('SPADE', dict(condition='global'))
    x = _feats((4, 4))
    y1, y2 = _feats((4, 4), seed=1), _feats((2, 8), seed=2)
    # only the mean of the reference matters
    y2 = (y2 - y2.mean((2, 3), keepdim=True) + y1.mean((2, 3), keepdim=True)).detach()
    torch.testing.assert_close(spade(x, y1), spade(x, y2))
    _, attn = spade(x, y2, return_attention=True)
    torch.testing.assert_close(attn, torch.full((2, 16, 16), 1 / 16))


def test_spade_rejects_bad_arguments():
    with pytest.raises(ValueError, match='condition'):
        SPADE(C, condition='local')
    with pytest.raises(ValueError, match='norm'):
        SPADE(C, norm='group')


# --- CoCosNet --------------------------------------------------------------------------------

def test_cocosnet_correspondence_matches_formula():
    net = _build('CoCosNet', {})
    x, y = _feats((3, 4)), _feats((5, 2), seed=1)

    def unit(feat, proj):
        t = proj(feat).flatten(2).transpose(1, 2)
        t = t - t.mean(-1, keepdim=True)
        return t / t.norm(dim=-1, keepdim=True)

    m = torch.softmax(unit(x, net.proj_x) @ unit(y, net.proj_y).transpose(1, 2) / 0.01, dim=-1)
    fused, attn = net(x, y, return_attention=True)
    torch.testing.assert_close(attn, m.detach())
    torch.testing.assert_close(attn.sum(-1), torch.ones(2, 12))
    warped = (m @ y.flatten(2).transpose(1, 2)).transpose(1, 2).reshape(2, C, 3, 4)
    torch.testing.assert_close(fused, x + net.modulation(x, warped))


def test_cocosnet_projection_width():
    net = CoCosNet(C, proj_channels=4)
    assert net.proj_x.out_channels == 4
    assert net(_feats((3, 3)), _feats((2, 2), seed=1)).shape == (2, C, 3, 3)


# --- UNITE -----------------------------------------------------------------------------------

@pytest.mark.parametrize('epsilon', [0.05, 0.025])
def test_unite_plan_has_the_requested_marginals(epsilon):
    net = UNITE(C, epsilon=epsilon)
    x, y = _feats((4, 4)), _feats((3, 5), seed=1)
    with torch.no_grad():
        plan, a, b = net.transport_plan(x, y, num_iters=500)
    assert plan.shape == (2, 16, 15) and a.shape == (2, 16) and b.shape == (2, 15)
    torch.testing.assert_close(a.sum(-1), torch.ones(2))
    torch.testing.assert_close(b.sum(-1), torch.ones(2))
    assert not torch.allclose(a, torch.full_like(a, 1 / 16))  # learned, not uniform
    torch.testing.assert_close(plan.sum(-1), a, rtol=1e-3, atol=1e-6)
    torch.testing.assert_close(plan.sum(-2), b, rtol=1e-4, atol=1e-7)
    # the warp uses the plan's rows normalised
    _, attn = net(x, y, return_attention=True)
    plan10, _, _ = net.transport_plan(x, y)
    torch.testing.assert_close(attn, (plan10 / plan10.sum(-1, keepdim=True)).detach())


def test_sinkhorn_log_matches_textbook_sinkhorn():
    g = torch.Generator().manual_seed(0)
    cost = torch.rand(1, 5, 6, generator=g)
    a, b = torch.rand(1, 5, generator=g) + 0.1, torch.rand(1, 6, generator=g) + 0.1
    a, b = a / a.sum(), b / b.sum()
    eps, iters = 0.1, 50
    k = torch.exp(-cost / eps)
    u, v = torch.ones_like(a), torch.ones_like(b)
    for _ in range(iters):
        u = a / (k @ v.unsqueeze(-1)).squeeze(-1)
        v = b / (k.transpose(1, 2) @ u.unsqueeze(-1)).squeeze(-1)
    expected = u.unsqueeze(2) * k * v.unsqueeze(1)
    torch.testing.assert_close(sinkhorn_log(cost, a.log(), b.log(), eps, iters).exp(), expected)


def test_unite_gradient_flows_through_sinkhorn():
    net = UNITE(C, num_iters=3)
    x, y = _feats((3, 3)), _feats((3, 3), seed=1)
    log_plan, _, _ = net.log_transport_plan(x, y)
    log_plan.softmax(-1).square().sum().backward()  # the warp weights only
    for p in (*net.proj_x.parameters(), *net.proj_y.parameters()):
        assert p.grad is not None and p.grad.abs().sum() > 0


def test_unite_rejects_bad_arguments():
    with pytest.raises(ValueError):
        UNITE(C, num_iters=0)
    with pytest.raises(ValueError):
        UNITE(C, epsilon=0.0)


# --- CMFT ------------------------------------------------------------------------------------

def test_cmft_formula_without_projections():
    net = CMFT(C, projections=False, chunk_size=None)
    x, y = _feats((3, 3)), _feats((2, 4), seed=1)
    xf, yf = x.flatten(2), y.flatten(2)  # (B, C, N), (B, C, N')
    attn = torch.softmax(xf.unsqueeze(-1) * yf.unsqueeze(-2), dim=-1)  # (B, C, N, N')
    out = (attn * yf.unsqueeze(-2)).sum(-1)
    fused, avg = net(x, y, return_attention=True)
    torch.testing.assert_close(fused, x + out.reshape(2, C, 3, 3))
    torch.testing.assert_close(avg, attn.mean(1).detach())


@pytest.mark.parametrize('chunk_size', [1, 4, 7])
def test_cmft_chunked_equals_unchunked(chunk_size):
    # N = 25 query positions: no chunk size above divides it
    chunked = CMFT(16, chunk_size=chunk_size)
    full = CMFT(16, chunk_size=None)
    full.load_state_dict(chunked.state_dict())
    results = []
    for net in (chunked, full):
        x, y = _feats((5, 5), channels=16), _feats((4, 6), seed=1, channels=16)
        fused, attn = net(x, y, return_attention=True)
        (fused * torch.linspace(-1, 1, fused.numel()).view_as(fused)).sum().backward()
        results.append([fused, attn, x.grad, y.grad] + [p.grad for p in net.parameters()])
    # C, N, N' and the B*N positions of the parameter gradients; the terms' scale is that of
    # the largest tensor (a bias gradient that cancels to ~1e-7 still sums O(1) terms)
    scale = max(float(b.abs().max()) for b in results[1])
    for a, b in zip(*results):
        assert_close_float32(a, b, 16 + 25 + 24 + 2 * 25, magnitude=scale)


def test_cmft_aggregate_never_holds_more_than_a_chunk(monkeypatch):
    # the softmax inputs, forward and (recomputed) backward, are at most B·C·chunk·N'
    import colorizer.models.attention.cmft as cmft_mod
    sizes = []
    real = cmft_mod._cmft_chunk

    def spy(q, k, v):
        sizes.append(q.shape[-1])
        return real(q, k, v)

    monkeypatch.setattr(cmft_mod, '_cmft_chunk', spy)
    q, k, v = (torch.randn(1, 4, n, requires_grad=True) for n in (10, 6, 6))
    cmft_aggregate(q, k, v, chunk_size=3).sum().backward()
    assert max(sizes) == 3 and len(sizes) == 2 * 4  # 4 chunks, each recomputed once


def test_autocast_bfloat16_stays_finite():
    x, y = _feats((4, 4), scale=100.0), _feats((4, 4), seed=1, scale=100.0)
    for name, args in VARIANTS:
        module = _build(name, args)
        with torch.autocast('cpu', dtype=torch.bfloat16):
            fused, attn = module(x, y, return_attention=True)
        assert torch.isfinite(fused.float()).all() and torch.isfinite(attn.float()).all(), name
