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
    ('UNITE', dict(transport='balanced')),
    ('CMFT', {}),
    ('CMFT', dict(projections=True, chunk_size=3)),
    ('CMFT', dict(level_channels=(2, 2, 4), chunk_size=5)),
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
def test_unite_balanced_plan_has_the_requested_marginals(epsilon):
    net = UNITE(C, epsilon=epsilon, transport='balanced')
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
    with pytest.raises(ValueError, match='transport'):
        UNITE(C, transport='semi')


# --- CMFT ------------------------------------------------------------------------------------

def _cmft_reference(x, y, levels):
    """Independent computation, one position at a time, float64: for every sketch position i
    and level l, the correlation with every reference position j, its softmax over j, and
    the matched (weighted) reference features."""
    xs, ys = x.detach().double(), y.detach().double()
    b, c, h, w = xs.shape
    xt, yt = xs.flatten(2), ys.flatten(2)  # (B, C, N), (B, C, N')
    out = torch.zeros_like(xt)
    maps = torch.zeros(b, len(levels), xt.shape[-1], yt.shape[-1], dtype=torch.float64)
    bounds = [sum(levels[:i]) for i in range(len(levels) + 1)]
    for n in range(b):
        for l_idx, (lo, hi) in enumerate(zip(bounds, bounds[1:])):
            for i in range(xt.shape[-1]):
                corr = torch.stack([(xt[n, lo:hi, i] * yt[n, lo:hi, j]).sum()
                                    for j in range(yt.shape[-1])])
                weights = torch.exp(corr - corr.max())
                weights = weights / weights.sum()
                maps[n, l_idx, i] = weights
                out[n, lo:hi, i] = (weights * yt[n, lo:hi]).sum(-1)
    return xs + out.reshape(b, c, h, w), maps.mean(1)


@pytest.mark.parametrize('levels', [None, (2, 2, 4), (1, 7)])
def test_cmft_position_correlation_matches_independent_computation(levels):
    net = CMFT(C, level_channels=levels, chunk_size=4)
    x, y = _feats((3, 3)), _feats((2, 4), seed=1)
    fused, attn = net(x, y, return_attention=True)
    expected, expected_map = _cmft_reference(x, y, levels or (C,))
    torch.testing.assert_close(fused.double(), expected, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(attn.double(), expected_map, rtol=1e-5, atol=1e-6)


def _one_hot_positions(channels, n, scale=6.0):
    # position i carries scale·e_i (then zero channels): self-correlation scale², others 0
    tokens = torch.zeros(n, channels)
    tokens[torch.arange(n), torch.arange(n)] = scale
    return tokens


def test_cmft_matches_position_to_position_not_per_channel():
    # the reference is the sketch with its positions permuted: the position-to-position
    # correlation finds, for each sketch position, the reference position holding the same
    # feature vector, and transfers it (a per-channel matching would not: each channel alone
    # sees only scalars)
    perm = torch.tensor([2, 0, 1, 5, 3, 4])
    x = _one_hot_positions(16, 6).t().reshape(1, 16, 2, 3)
    y = x.flatten(2)[..., perm].reshape(1, 16, 2, 3)  # y_j = x_perm[j]
    fused, attn = CMFT(16, chunk_size=None)(x, y, return_attention=True)
    torch.testing.assert_close(attn[0], torch.eye(6)[:, perm], atol=1e-4, rtol=0)
    torch.testing.assert_close(fused, 2 * x, atol=1e-3, rtol=1e-4)


def test_cmft_levels_are_matched_separately():
    # level 1 of the reference is the sketch's level 1 in place, level 2 is the sketch's level 2
    # with the positions reversed: each level's map follows its own channels, so both levels
    # are transferred exactly; one map over all channels sees ties and blends
    perm = torch.tensor([3, 2, 1, 0])
    level = _one_hot_positions(4, 4).t()  # (4 channels, 4 positions)
    x = torch.cat([level, level]).reshape(1, 8, 2, 2)
    y = torch.cat([level, level[:, perm]]).reshape(1, 8, 2, 2)
    fused = CMFT(8, level_channels=(4, 4), chunk_size=None)(x, y)
    torch.testing.assert_close(fused, 2 * x, atol=1e-3, rtol=1e-4)
    single = CMFT(8, chunk_size=None)(x, y)
    assert (single - 2 * x).abs().max() > 1.0


def test_cmft_encoder_levels():
    from colorizer.models.attention.cmft import encoder_level_channels
    from colorizer.models.generators.encoder import encoder_widths
    for base in (1, 2, 4, 16, 32):
        for levels in range(1, 7):
            widths = encoder_widths(base, levels)
            assert encoder_level_channels(sum(widths)) == tuple(
                a + b for a, b in zip(widths[::2], widths[1::2]))
    assert encoder_level_channels(992) == (32, 64, 128, 256, 512)  # the paper's encoder
    assert CMFT(120, level_channels='encoder').level_channels == (8, 16, 32, 64)  # the demo's
    with pytest.raises(ValueError, match='even'):
        encoder_level_channels(31)


def test_cmft_configs_match_per_encoder_level():
    from pathlib import Path

    from mmengine.config import Config

    from colorizer.registry import GENERATORS
    root = Path(__file__).resolve().parents[2]
    for name in ('cmft_anime', 'cmft_afhq_cat', 'cmft_afhq_dog', 'cmft_afhq_wild', 'cmft_demo'):
        cfg = Config.fromfile(str(root / 'configs' / 'cmft' / f'{name}.py'))
        assert cfg.model.generator.attention == dict(type='CMFT', level_channels='encoder')
    gen_cfg = Config.fromfile(str(root / 'configs/cmft/cmft_demo.py')).model.generator
    generator = GENERATORS.build(gen_cfg)
    assert generator.attention.level_channels == (8, 16, 32, 64)
    assert not list(generator.attention.parameters())


def test_cmft_rejects_bad_arguments():
    with pytest.raises(ValueError, match='level_channels'):
        CMFT(C, level_channels='decoder')
    with pytest.raises(ValueError, match='level_channels'):
        CMFT(C, level_channels=(4, 3))
    with pytest.raises(ValueError, match='level_channels'):
        CMFT(C, level_channels=(8, 0))
    with pytest.raises(ValueError, match='chunk_size'):
        CMFT(C, chunk_size=-1)


def test_cmft_projections():
    assert not list(CMFT(C).parameters())  # the paper's module has no parameters
    net = CMFT(C, projections=True)
    assert sum(p.numel() for p in net.parameters()) == 3 * (C * C + C)


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
    # the softmax inputs, forward and (recomputed) backward, are at most B·chunk·N' per level
    import colorizer.models.attention.cmft as cmft_mod
    sizes = []
    real = cmft_mod._cmft_chunk

    def spy(q, k, v, levels):
        sizes.append(q.shape[1])
        return real(q, k, v, levels)

    monkeypatch.setattr(cmft_mod, '_cmft_chunk', spy)
    q, k, v = (torch.randn(1, n, 4, requires_grad=True) for n in (10, 6, 6))
    cmft_aggregate(q, k, v, chunk_size=3).sum().backward()
    assert max(sizes) == 3 and len(sizes) == 2 * 4  # 4 chunks, each recomputed once


def test_autocast_bfloat16_stays_finite():
    x, y = _feats((4, 4), scale=100.0), _feats((4, 4), seed=1, scale=100.0)
    for name, args in VARIANTS:
        module = _build(name, args)
        with torch.autocast('cpu', dtype=torch.bfloat16):
            fused, attn = module(x, y, return_attention=True)
        assert torch.isfinite(fused.float()).all() and torch.isfinite(attn.float()).all(), name
