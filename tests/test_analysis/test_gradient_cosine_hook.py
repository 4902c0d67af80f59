"""GradientCosineHook: captured branch gradients, cosine pairs, and that capturing changes
nothing."""
import json
import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.optim import OptimWrapper, OptimWrapperDict
from torch import nn

import colorizer.models  # noqa: F401  (registers the parts)
from colorizer.engine.hooks import GradientCosineHook
from colorizer.engine.hooks.gradient_cosine_hook import branch_spec, find_capture_modules
from colorizer.engine.hooks.gradient_cosine_stats import (CosineAccumulator, bin_edges,
                                                          branch_cosines, cosine_per, cosine_stats,
                                                          headlines)
from colorizer.models.attention import SCFT, SGA, BaseAttention, to_map, to_tokens
from colorizer.registry import ATTENTIONS, HOOKS, MODELS
from colorizer.structures import ColorizationDataSample
from float_tolerance import assert_close_float32


def _inputs(c=6, hw=(3, 3), hw_ref=(2, 3), b=2, scale=1.0, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(b, c, *hw, generator=g) * scale
    y = torch.randn(b, c, *hw_ref, generator=g) * scale
    w = torch.randn(b, c, *hw, generator=g)
    return x, y, w


def _captured(module, x, y, w):
    """Run the module with capture on; return branch grads and the ordinary input gradients."""
    module.capture_branches = True
    xl, yl = x.clone().requires_grad_(), y.clone().requires_grad_()
    out = module(xl, yl)
    (out * w).sum().backward()
    return dict(module.branch_grads), to_tokens(xl.grad), to_tokens(yl.grad), out.detach()


# --------------------------------------------------------------------- captured gradients
def test_scft_branch_gradients_equal_an_independent_autograd_computation():
    torch.manual_seed(0)
    m = SCFT(6)
    x, y, w = _inputs()
    grads, gx, gy, _ = _captured(m, x, y, w)
    assert set(grads) == {'x_skip', 'x_q', 'y_k', 'y_v'}

    # independent: one clone of X (Y) per branch, the SCFT formula written out, autograd.grad
    xs, xq = (to_tokens(x).clone().requires_grad_() for _ in range(2))
    yk, yv = (to_tokens(y).clone().requires_grad_() for _ in range(2))
    q, k, v = m.to_q(xq), m.to_k(yk), m.to_v(yv)
    attn = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(6), dim=-1)
    fused = to_map(attn @ v + xs, *x.shape[-2:])
    ref = torch.autograd.grad((fused * w).sum(), [xs, xq, yk, yv])
    for name, expected in zip(['x_skip', 'x_q', 'y_k', 'y_v'], ref):
        torch.testing.assert_close(grads[name], expected, msg=name)
    # the branches add up to the ordinary gradient of each input
    torch.testing.assert_close(grads['x_skip'] + grads['x_q'], gx)
    torch.testing.assert_close(grads['y_k'] + grads['y_v'], gy)
    assert grads['x_q'].abs().sum() > 0 and grads['y_k'].abs().sum() > 0


@pytest.mark.parametrize('implementation', ['chunked', 'naive'])
def test_sga_without_stop_gradient_branch_gradients_equal_independent_autograd(implementation):
    torch.manual_seed(0)
    m = SGA(6, stop_grad=False, implementation=implementation, chunk_size=4)
    x, y, w = _inputs(scale=0.5)  # soft attention: sizeable gradient through the map
    grads, gx, gy, _ = _captured(m, x, y, w)
    names = ['x_skip', 'x_proj', 'x_att', 'y_proj', 'y_att']
    assert set(grads) == set(names)

    layer = m.cross
    xs, xp, xa = (to_tokens(x).clone().requires_grad_() for _ in range(3))
    yp, ya = (to_tokens(y).clone().requires_grad_() for _ in range(2))
    attn = torch.softmax(xa @ ya.transpose(1, 2), dim=-1)
    attn = attn / attn.sum(dim=-2, keepdim=True)  # Algorithm 1's L1 over queries
    msg = F.leaky_relu(layer.proj_y(yp), 0.2)
    src = F.leaky_relu(layer.proj_x(xp), 0.2)
    h = F.batch_norm((attn @ msg + src).transpose(1, 2), None, None, layer.norm.weight,
                     layer.norm.bias, training=True, eps=layer.norm.eps).transpose(1, 2)
    z = m.self_sga(h + xs, h + xs)
    fused = to_map(z, *x.shape[-2:])
    ref = torch.autograd.grad((fused * w).sum(), [xs, xp, xa, yp, ya])
    for name, expected in zip(names, ref):
        # C, N, N' and the BatchNorm statistics over B*N tokens
        n, n_ref = x.shape[-2] * x.shape[-1], y.shape[-2] * y.shape[-1]
        assert_close_float32(grads[name], expected, x.shape[1] + n + n_ref + x.shape[0] * n,
                             msg=name)
    torch.testing.assert_close(grads['x_skip'] + grads['x_proj'] + grads['x_att'], gx)
    torch.testing.assert_close(grads['y_proj'] + grads['y_att'], gy)
    assert grads['x_att'].abs().sum() > 0 and grads['y_att'].abs().sum() > 0


def test_sga_stop_gradient_attention_branch_is_absent_and_reported():
    torch.manual_seed(0)
    m = SGA(6)  # paper default: stop_grad=True
    x, y, w = _inputs(scale=0.5)
    grads, gx, gy, _ = _captured(m, x, y, w)
    assert set(grads) == {'x_skip', 'x_proj', 'y_proj'}
    # no gradient reaches the inputs through the map: the kept branches are the whole gradient
    torch.testing.assert_close(grads['x_skip'] + grads['x_proj'], gx)
    torch.testing.assert_close(grads['y_proj'], gy)

    acc = CosineAccumulator(bins=10)
    spec = branch_spec(m)
    acc.add('attention', grads, spec)
    summary = acc.summary('attention', spec)
    assert summary['absent_branches'] == ['x_att', 'y_att']
    assert summary['grad_norm']['x_att'] == 0.0 and summary['grad_norm']['y_att'] == 0.0
    assert summary['grad_norm']['x_proj'] > 0
    assert any('no gradient' in note for note in summary['notes'])
    pairs = summary['pairs']
    assert 'x_kept~x_att' not in pairs and 'y_kept~y_att' not in pairs
    # cos(g_X, ḡ_X) is identically 1: nothing negative, everything above 0.935
    for key in ('x_kept~x_total', 'y_kept~y_total'):
        assert pairs[key]['pixel']['share_negative'] == 0.0
        assert pairs[key]['pixel']['share_above'] == 1.0
    assert spec['stop_gradient'] == {'stop_grad': True}


def test_capture_does_not_change_the_forward_result():
    torch.manual_seed(0)
    for m in (SCFT(6), SGA(6), SGA(6, stop_grad=False)):
        x, y, _ = _inputs(scale=0.5)
        m.train()
        plain = m(x, y)
        m.capture_branches = True
        captured = m(x, y)
        assert torch.equal(plain, captured), type(m).__name__


# every attention module, with an input feeding three or more consumers where there is one
ATTENTION_CASES = {
    'scft': dict(type='SCFT'),
    'sga': dict(type='SGA'),
    'sga_wo_stopgrad': dict(type='SGA', stop_grad=False, chunk_size=4),
    'sga_wo_stopgrad_naive': dict(type='SGA', stop_grad=False, implementation='naive'),
    'spade': dict(type='SPADE'),
    'cocosnet': dict(type='CoCosNet'),
    'unite': dict(type='UNITE'),
    'cmft': dict(type='CMFT'),
}


@pytest.mark.parametrize('cfg', ATTENTION_CASES.values(), ids=ATTENTION_CASES.keys())
def test_capture_leaves_every_gradient_bit_identical(cfg):
    """Capture on and off build the same autograd graph (``_branch`` always takes its view), so
    the input and parameter gradients are summed in the same order: equal to the bit, also
    where an input feeds three or more consumers (SGA w/o stop-gradient, CoCosNet, UNITE)."""
    x, y, w = _inputs(scale=0.5)
    results = []
    for capture in (False, True):
        torch.manual_seed(0)
        m = ATTENTIONS.build(dict(cfg, channels=6))
        m.capture_branches = capture
        xl, yl = x.clone().requires_grad_(), y.clone().requires_grad_()
        out = m(xl, yl)
        (out * w).sum().backward()
        results.append(([out.detach(), xl.grad, yl.grad] + [p.grad for p in m.parameters()],
                        dict(m.branch_grads)))
    (plain, plain_branches), (captured, captured_branches) = results
    assert not plain_branches and len(captured_branches) >= 2
    assert len(plain) == len(captured)
    for i, (a, b) in enumerate(zip(plain, captured)):
        assert torch.equal(a, b), i


# --------------------------------------------------------------------- cosines by hand
def test_cosines_against_a_hand_computation():
    # one sample, two tokens, two channels
    g_skip = torch.tensor([[[1., 0.], [0., 2.]]])
    g_q = torch.tensor([[[-1., 1.], [0., -3.]]])
    # total = [[0, 1], [0, -1]]
    cos = branch_cosines({'x_skip': g_skip, 'x_q': g_q}, attention_branches=('x_q', ))
    # token 0: cos([1,0],[0,1]) = 0; cos([-1,1],[0,1]) = 1/sqrt2
    # token 1: cos([0,2],[0,-1]) = -1; cos([0,-3],[0,-1]) = 1
    torch.testing.assert_close(cos['x_skip~x_total']['pixel'], torch.tensor([0., -1.]))
    torch.testing.assert_close(cos['x_q~x_total']['pixel'], torch.tensor([1 / math.sqrt(2), 1.]))
    # instance: flattened [1,0,0,2]·[0,1,0,-1] = -2, norms sqrt5, sqrt2
    torch.testing.assert_close(cos['x_skip~x_total']['instance'],
                               torch.tensor([-2 / math.sqrt(10)]))
    # [-1,1,0,-3]·[0,1,0,-1] = 4, norms sqrt11, sqrt2
    torch.testing.assert_close(cos['x_q~x_total']['instance'], torch.tensor([4 / math.sqrt(22)]))
    # kept (skip) vs attention (Q): token 0: cos([1,0],[-1,1]) = -1/sqrt2; token 1: -1
    torch.testing.assert_close(cos['x_kept~x_att']['pixel'],
                               torch.tensor([-1 / math.sqrt(2), -1.]))
    # kept is one branch: cos(g_X, ḡ_X) is the generic pair, not duplicated
    assert 'x_kept~x_total' not in cos


def test_zero_gradient_has_cosine_zero_like_f_normalize():
    a = torch.zeros(1, 2, 3)
    b = torch.ones(1, 2, 3)
    out = cosine_per(a, b)
    assert torch.equal(out['pixel'], torch.zeros(2))
    assert torch.equal(out['instance'], torch.zeros(1))


def test_sga_fig10_pairs_follow_the_documented_mapping():
    g = {name: torch.randn(2, 5, 4) for name in
         ('x_skip', 'x_proj', 'x_att', 'y_proj', 'y_att')}
    cos = branch_cosines(g, attention_branches=('x_att', 'y_att'))
    g_x = g['x_skip'] + g['x_proj']
    total_x = g_x + g['x_att']
    expected = F.cosine_similarity(g_x, total_x, dim=-1, eps=1e-12).reshape(-1)
    torch.testing.assert_close(cos['x_kept~x_total']['pixel'], expected)
    expected = F.cosine_similarity(g_x, g['x_att'], dim=-1).reshape(-1)  # ḡ_X − g_X = g_att
    torch.testing.assert_close(cos['x_kept~x_att']['pixel'], expected)
    expected = F.cosine_similarity(g['y_proj'], g['y_proj'] + g['y_att'], dim=-1).reshape(-1)
    torch.testing.assert_close(cos['y_proj~y_total']['pixel'], expected)
    expected = F.cosine_similarity(g['y_proj'].flatten(1), g['y_att'].flatten(1), dim=-1)
    torch.testing.assert_close(cos['y_kept~y_att']['instance'], expected)
    assert {'x_skip~x_total', 'x_proj~x_total', 'x_att~x_total', 'y_att~y_total'} <= set(cos)


def test_cosine_stats_shares_and_histogram():
    values = np.array([-1.0, -0.5, 0.0, 0.5, 0.94, 1.0])
    stats = cosine_stats(values, np.linspace(-1, 1, 5), high=0.935)
    assert stats['count'] == 6
    assert stats['share_negative'] == pytest.approx(2 / 6)
    assert stats['share_above'] == pytest.approx(2 / 6)
    assert stats['hist'] == [1, 1, 1, 3]  # [-1,-.5) [-.5,0) [0,.5) [.5,1]
    assert stats['mean'] == pytest.approx(values.mean())


def test_accumulator_counts_captures_and_skips_modules_that_recorded_nothing():
    acc = CosineAccumulator(bins=4)
    np.testing.assert_array_equal(acc.edges, bin_edges(4))
    np.testing.assert_array_equal(bin_edges([-1, 0, 1]), [-1.0, 0.0, 1.0])
    spec = dict(branches=['x_skip', 'x_q'], attention=['x_q'], labels={'x_q~x_total': 'Q'})
    g = {'x_skip': torch.ones(1, 2, 3), 'x_q': -torch.ones(1, 2, 3) / 2}  # total = ones / 2
    acc.add_capture({'a': g, 'b': {}}, {'a': spec, 'b': spec})
    assert acc.captures == 1 and set(acc.values) == {'a'}
    summary = acc.summary('a', spec)
    assert summary['pairs']['x_q~x_total']['pixel']['share_negative'] == 1.0
    lines = headlines(summary)
    assert 'Q: neg 100.0% >0.935 0.0%' in lines
    assert any(line.startswith('cos(g[x_skip], Σg[x]): neg 0.0%') for line in lines)


def test_generic_rule_covers_a_third_party_module():
    class Plugin(nn.Module):
        def __init__(self):
            super().__init__()
            self.capture_branches = False
            self.branches, self.branch_grads = {}, {}

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.generator = nn.Module()
            self.generator.fuse = Plugin()
            self.other = Plugin()  # outside the generator: not picked by default

    net = Net()
    assert list(find_capture_modules(net)) == ['generator.fuse']
    assert list(find_capture_modules(net, ['other'])) == ['other']
    with pytest.raises(KeyError, match='no module'):
        find_capture_modules(net, ['nope'])
    g = {'x_a': torch.randn(1, 3, 2), 'x_b': torch.randn(1, 3, 2), 'y_att': torch.randn(1, 3, 2),
         'y_v': torch.randn(1, 3, 2)}
    cos = branch_cosines(g, attention_branches=[n for n in g if n.endswith('_att')])
    assert {'x_a~x_total', 'x_b~x_total', 'y_att~y_total', 'y_v~y_total',
            'y_kept~y_att'} == set(cos)


def test_hook_arguments_are_checked_and_it_is_registered():
    assert HOOKS.get('GradientCosineHook') is GradientCosineHook
    with pytest.raises(ValueError):
        GradientCosineHook(interval=0)
    with pytest.raises(ValueError):
        GradientCosineHook(per='voxel')
    assert GradientCosineHook(per='pixel').per == ('pixel', )


# --------------------------------------------------------------------- hook on a real model
def _tiny_model(attention):
    return MODELS.build(dict(
        type='ReferenceColorizer',
        generator=dict(type='SCFTGenerator', base_channels=2, num_levels=3, attention=attention),
        discriminator=dict(type='PatchDiscriminator', base_channels=4, num_layers=2),
        reconstruction_loss=dict(type='L1Loss', loss_weight=30.0),
        adversarial_loss=dict(type='LSGANLoss', loss_weight=1.0)))


def _tiny_batch(batch_size=2, size=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    rand = lambda *shape: torch.randint(0, 256, shape, generator=g, dtype=torch.uint8)  # noqa
    return dict(
        inputs=dict(sketch=[rand(1, size, size) for _ in range(batch_size)],
                    reference=[rand(3, size, size) for _ in range(batch_size)]),
        data_samples=[ColorizationDataSample(target=rand(3, size, size)) for _ in
                      range(batch_size)])


def _fake_runner(model, tmp_path, it=0):
    return SimpleNamespace(model=model, iter=it, max_iters=1000, epoch=0, work_dir=str(tmp_path),
                           train_loop=None, visualizer=None, logger=None)


def _train_once(attention, hook=None, tmp_path=None):
    torch.manual_seed(0)
    model = _tiny_model(attention)
    wrappers = OptimWrapperDict(
        generator=OptimWrapper(torch.optim.Adam(model.generator.parameters(), lr=1e-3)),
        discriminator=OptimWrapper(torch.optim.Adam(model.discriminator.parameters(), lr=1e-3)))
    runner = _fake_runner(model, tmp_path)
    runner.optim_wrapper = wrappers
    batch = _tiny_batch()
    if hook is not None:
        hook.before_train_iter(runner, 0, batch)
        assert model.generator.attention.capture_branches  # measured in the train step itself
    log = model.train_step(batch, wrappers)
    if hook is not None:
        hook.after_train_iter(runner, 0)
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    return state, log, model


@pytest.mark.parametrize('attention,branches', [
    (dict(type='SCFT'), {'x_skip', 'x_q', 'y_k', 'y_v'}),
    (dict(type='SCFT', stop_grad_q=True), {'x_skip', 'y_k', 'y_v'}),
    (dict(type='SGA'), {'x_skip', 'x_proj', 'y_proj'}),
    # X feeds the shortcut, W_x and the map: three contributions summed (paper Fig. 10)
    (dict(type='SGA', stop_grad=False), {'x_skip', 'x_proj', 'x_att', 'y_proj', 'y_att'}),
    (dict(type='SGA', stop_grad=False, implementation='naive'),
     {'x_skip', 'x_proj', 'x_att', 'y_proj', 'y_att'}),
    (dict(type='CoCosNet'), {'x_skip', 'x_norm', 'x_corr', 'y_corr', 'y_v'}),
], ids=['scft', 'scft_sg_q', 'sga', 'sga_wo_stopgrad', 'sga_wo_stopgrad_naive', 'cocosnet'])
def test_hook_on_and_off_give_identical_parameters(attention, branches, tmp_path):
    """One train step with and without the hook: every parameter and buffer equal, exactly."""
    plain, plain_log, _ = _train_once(attention)
    hook = GradientCosineHook(interval=1, summary_interval=1000)
    captured, captured_log, model = _train_once(attention, hook, tmp_path)
    assert plain.keys() == captured.keys()
    for key in plain:
        assert torch.equal(plain[key], captured[key]), key
    for key in plain_log:
        assert torch.equal(plain_log[key], captured_log[key]), key
    # the hook did measure every branch that carries gradient, in that same step
    assert hook.acc.present['generator.attention'] == branches
    assert hook.acc.captures == 1
    assert hook.acc.values['generator.attention']
    # then switched capture off and freed the tensors
    module = model.generator.attention
    assert not module.capture_branches and not module.branches and not module.branch_grads


def test_hook_writes_epoch_summaries_json_and_npz(tmp_path):
    torch.manual_seed(0)
    model = _tiny_model(dict(type='SCFT'))
    wrappers = OptimWrapperDict(
        generator=OptimWrapper(torch.optim.Adam(model.generator.parameters(), lr=1e-3)),
        discriminator=OptimWrapper(torch.optim.Adam(model.discriminator.parameters(), lr=1e-3)))
    hook = GradientCosineHook(interval=2, bins=20)
    runner = _fake_runner(model, tmp_path)
    hook.before_train(runner)  # not an IterBasedTrainLoop: one period per epoch
    for it in range(4):
        runner.iter = it
        batch = _tiny_batch(seed=it)
        hook.before_train_iter(runner, it, batch)
        model.train_step(batch, wrappers)
        hook.after_train_iter(runner, it)
    runner.iter = 4
    hook.after_train_epoch(runner)
    out = tmp_path / 'gradient_cosine'
    summary = json.loads((out / 'summary.json').read_text())
    assert summary['period_unit'] == 'epoch' and len(summary['bin_edges']) == 21
    (period, ) = summary['periods']
    assert period['epoch'] == 1 and period['num_captures'] == 2
    assert (period['iter_start'], period['iter_end']) == (1, 4)
    stats = period['modules']['generator.attention']['pairs']['x_q~x_total']
    assert stats['label'] == 'cos(g_Q, g_skip+g_Q)'
    tokens = 2 * 4 * 4  # batch 2, 16 px / 2^(3-1) = 4x4 tokens, two captures
    assert stats['pixel']['count'] == 2 * tokens and stats['instance']['count'] == 2 * 2
    assert sum(stats['pixel']['hist']) == 2 * tokens
    arrays = np.load(out / period['npz'])
    assert arrays['generator.attention/x_q~x_total/pixel'].shape == (2 * tokens, )
    share = float((arrays['generator.attention/x_q~x_total/pixel'] < 0).mean())
    assert stats['pixel']['share_negative'] == pytest.approx(share)


def test_resumed_run_keeps_the_periods_before_the_checkpoint(tmp_path):
    out = tmp_path / 'gradient_cosine'
    out.mkdir()
    old = dict(periods=[dict(period=1, iter_start=1, iter_end=2),
                        dict(period=2, iter_start=3, iter_end=4)])
    (out / 'summary.json').write_text(json.dumps(old))
    hook = GradientCosineHook(interval=1, summary_interval=2)
    runner = _fake_runner(_tiny_model(dict(type='SCFT')), tmp_path, it=2)  # resumed at iter 2
    hook.before_train(runner)
    assert [p['iter_end'] for p in hook._periods] == [2]
    assert hook._period_start == 3


@ATTENTIONS.register_module(force=True)
class _DeclaredPlugin(BaseAttention):
    """A third-party fusion module: a gated attention that declares its own branches."""

    gradient_branches = ('x_skip', 'x_gate', 'x_att', 'y_att', 'y_val', 'y_unused')
    attention_branches = ('x_att', 'y_att')
    gradient_labels = {'x_gate~x_total': 'cos(g_gate, Σg_X)'}

    def __init__(self, channels, stop_map=False):
        super().__init__(channels)
        self.stop_map = stop_map
        self.gate = nn.Linear(channels, channels)
        self.val = nn.Linear(channels, channels)

    def stop_gradient_switches(self):
        return dict(stop_map=self.stop_map)

    def forward(self, sketch_feat, ref_feat, return_attention=False):
        h, w = sketch_feat.shape[-2:]
        x, y = to_tokens(sketch_feat), to_tokens(ref_feat)  # (B, N, C), (B, N', C)
        self._reset_branches()
        gate = torch.sigmoid(self.gate(self._branch('x_gate', x)))
        with torch.no_grad() if self.stop_map else torch.enable_grad():
            attn = torch.bmm(self._branch('x_att', x), self._branch('y_att', y).transpose(1, 2))
            attn = attn.softmax(dim=-1)  # (B, N, N')
        values = self.val(self._branch('y_val', y))  # (B, N', C)
        fused = to_map(self._branch('x_skip', x) + gate * torch.bmm(attn, values), h, w)
        return (fused, attn.detach()) if return_attention else fused


@pytest.mark.parametrize('stop_map', [False, True])
def test_third_party_plugin_gets_curves_from_its_declaration(stop_map, tmp_path):
    attention = dict(type='_DeclaredPlugin', stop_map=stop_map)
    hook = GradientCosineHook(interval=1, summary_interval=1000)
    _, _, model = _train_once(attention, hook, tmp_path)
    record = hook.summarize(_fake_runner(model, tmp_path), iter_end=1)
    summary = json.loads((tmp_path / 'gradient_cosine' / 'summary.json').read_text())
    spec = summary['modules']['generator.attention']
    assert spec['type'] == '_DeclaredPlugin'
    assert spec['branches'] == list(_DeclaredPlugin.gradient_branches)
    assert spec['attention_branches'] == ['x_att', 'y_att']
    assert spec['stop_gradient'] == dict(stop_map=stop_map)
    module = record['modules']['generator.attention']
    stopped = {'x_att', 'y_att'} if stop_map else set()
    assert set(module['absent_branches']) == {'y_unused'} | stopped
    assert module['grad_norm']['y_unused'] == 0.0
    pairs = module['pairs']
    assert pairs['x_gate~x_total']['label'] == 'cos(g_gate, Σg_X)'
    tokens = 2 * 4 * 4  # batch 2, 4x4 tokens, one capture
    assert pairs['x_gate~x_total']['pixel']['count'] == tokens
    if stop_map:
        # the kept gradient is the total one: cosine identically 1, and the note says why
        assert pairs['x_kept~x_total']['pixel']['mean'] == pytest.approx(1.0, abs=1e-5)
        assert 'x_kept~x_att' not in pairs and 'stop-gradient' in module['notes'][0]
    else:
        assert {'x_kept~x_att', 'y_kept~y_att', 'x_att~x_total', 'y_att~y_total'} <= set(pairs)
        assert 0 < module['grad_norm']['x_att']


def test_hook_reads_declarations_not_classes():
    # SCFT and SGA declare their branches on the class; the hook only reads them
    assert branch_spec(SCFT(4, stop_grad_q=True))['stop_gradient'] == dict(stop_grad_q=True,
                                                                          stop_grad_k=False)
    spec = branch_spec(SGA(4, stop_grad=False))
    assert spec['branches'] == list(SGA.gradient_branches) and spec['attention'] == [
        'x_att', 'y_att']
    assert spec['stop_gradient'] == dict(stop_grad=False)
    assert branch_spec(nn.Linear(2, 2)) == dict(type='Linear', branches=None, attention=None,
                                                labels={}, stop_gradient={})
