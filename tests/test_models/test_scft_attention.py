"""SCFT attention: formula and the stop-gradient switches of Table 1."""
import math

import pytest
import torch

from colorizer.models.attention import SCFT
from colorizer.registry import ATTENTIONS

C = 8


def _feats(h=3, w=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(2, C, h, w, generator=g).requires_grad_()


def test_output_matches_formula():
    scft = SCFT(C)
    x, y = _feats(), _feats(h=2, w=5, seed=1)
    xt, yt = x.flatten(2).transpose(1, 2), y.flatten(2).transpose(1, 2)  # (B, N, C)
    q = xt @ scft.to_q.weight.t() + scft.to_q.bias
    k = yt @ scft.to_k.weight.t() + scft.to_k.bias
    v = yt @ scft.to_v.weight.t() + scft.to_v.bias
    z = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(C), dim=-1) @ v + xt
    expected = z.transpose(1, 2).reshape(2, C, 3, 4)
    torch.testing.assert_close(scft(x, y), expected)

    fused, attn = scft(x, y, return_attention=True)
    torch.testing.assert_close(fused, expected)
    assert attn.shape == (2, 12, 10)
    torch.testing.assert_close(attn.sum(-1), torch.ones(2, 12))


@pytest.mark.parametrize('stop_q', [False, True])
@pytest.mark.parametrize('stop_k', [False, True])
def test_stopped_projections_get_no_gradient(stop_q, stop_k):
    torch.manual_seed(0)
    scft = SCFT(C, stop_grad_q=stop_q, stop_grad_k=stop_k)
    reference = SCFT(C)
    reference.load_state_dict(scft.state_dict())
    x, y = _feats(), _feats(seed=1)
    out = scft(x, y)
    torch.testing.assert_close(out, reference(x, y))  # the switches never change the forward
    out.square().sum().backward()
    for proj, stopped in ((scft.to_q, stop_q), (scft.to_k, stop_k)):
        for p in proj.parameters():
            if stopped:
                assert p.grad is None or not p.grad.any()
            else:
                assert p.grad is not None and p.grad.abs().sum() > 0
    assert scft.to_v.weight.grad.abs().sum() > 0


def test_both_stopped_x_gets_only_the_shortcut_gradient():
    scft = SCFT(C, stop_grad_q=True, stop_grad_k=True)
    x, y = _feats(), _feats(seed=1)
    upstream = torch.randn(2, C, 3, 4)
    (scft(x, y) * upstream).sum().backward()
    torch.testing.assert_close(x.grad, upstream)


@pytest.mark.parametrize('stop_q,stop_k,names', [
    (False, False, {'x_skip', 'x_q', 'y_k', 'y_v'}),
    (True, False, {'x_skip', 'y_k', 'y_v'}),
    (True, True, {'x_skip', 'y_v'}),
])
def test_capture_branches(stop_q, stop_k, names):
    torch.manual_seed(0)
    scft = SCFT(C, stop_grad_q=stop_q, stop_grad_k=stop_k)
    x, y = _feats(), _feats(seed=1)
    expected = scft(x, y)
    scft.capture_branches = True
    out = scft(x, y)
    torch.testing.assert_close(out, expected)
    assert set(scft.branches) == names
    for t in scft.branches.values():
        t.retain_grad()
    out.square().sum().backward()
    g_x = sum(scft.branches[n].grad for n in names if n.startswith('x'))
    g_y = sum(scft.branches[n].grad for n in names if n.startswith('y'))
    torch.testing.assert_close(g_x.transpose(1, 2).reshape_as(x), x.grad)
    torch.testing.assert_close(g_y.transpose(1, 2).reshape_as(y), y.grad)
    assert set(scft.branch_grads) == names
    for n in names:
        torch.testing.assert_close(scft.branch_grads[n], scft.branches[n].grad)


def test_registry_build():
    module = ATTENTIONS.build(dict(type='SCFT', channels=C, stop_grad_q=True))
    assert isinstance(module, SCFT) and module.stop_grad_q and not module.stop_grad_k
