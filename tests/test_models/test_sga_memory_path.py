"""The chunked SGA against the paper's materialised form: values, values' gradient, memory."""
import pytest
import torch
import torch.nn.functional as F
from torch.utils._python_dispatch import TorchDispatchMode

from colorizer.models.attention import SGA, sga_aggregate
from float_tolerance import assert_close_float32


def paper_form(x, y, value, norm='double'):
    """Algorithm 1 as printed: map under no_grad, softmax, L1 over the query axis, bmm."""
    with torch.no_grad():
        attn = torch.bmm(x, y.transpose(1, 2)).softmax(dim=-1)
        if norm == 'double':
            attn = F.normalize(attn, p=1, dim=-2)
    return torch.bmm(attn, value)


def _inputs(n=37, n_ref=29, c=16, logit_std=4.0, seed=0):
    g = torch.Generator().manual_seed(seed)
    std = (logit_std / c**0.5)**0.5
    x, y = std * torch.randn(2, n, c, generator=g), std * torch.randn(2, n_ref, c, generator=g)
    value, grad = torch.randn(2, n_ref, c, generator=g), torch.randn(2, n, c, generator=g)
    return x, y, value, grad


def _out_and_value_grad(fn, x, y, value, grad):
    value = value.clone().requires_grad_()
    out = fn(x, y, value)
    out.backward(grad)
    return out.detach(), value.grad


@pytest.mark.parametrize('norm', ['double', 'softmax'])
@pytest.mark.parametrize('chunk_size', [1, 5, 16, 1024])
@pytest.mark.parametrize('logit_std', [1.0, 30.0])  # 30: near one-hot rows, tiny columns
def test_chunked_equals_paper_form_values_and_value_grad(norm, chunk_size, logit_std):
    x, y, value, grad = _inputs(logit_std=logit_std)
    out_p, grad_p = _out_and_value_grad(lambda *a: paper_form(*a, norm=norm), x, y, value, grad)
    out_c, grad_c = _out_and_value_grad(
        lambda *a: sga_aggregate(*a, norm=norm, implementation='chunked', chunk_size=chunk_size),
        x, y, value, grad)
    # logits of ~100 carry an fp32 rounding of eps * |logit| each time they are computed (the
    # chunked path computes them again in the attention kernel), which softmax turns into a
    # relative error of the weights: the scale is max(1, |logit|) times the result's
    logit_scale = max(1.0, float(torch.bmm(x, y.transpose(1, 2)).abs().max()))
    length = x.shape[-1] + x.shape[1] + y.shape[1]  # C, N, N'
    assert_close_float32(out_c, out_p, length, magnitude=logit_scale * out_p.abs().max())
    assert_close_float32(grad_c, grad_p, length, magnitude=logit_scale * grad_p.abs().max())


def test_x_and_y_get_no_gradient_under_stop_grad():
    x, y, value, grad = _inputs()
    x.requires_grad_(), y.requires_grad_()
    sga_aggregate(x, y, value.requires_grad_(), implementation='chunked', chunk_size=4) \
        .backward(grad)
    assert x.grad is None and y.grad is None and value.grad is not None


def test_values_branch_gradient_of_the_module():
    """W_y (the values' projection) gets the same gradient as with the materialised map."""
    torch.manual_seed(0)
    naive = SGA(16, implementation='naive')
    chunked = SGA(16, implementation='chunked', chunk_size=7)
    chunked.load_state_dict(naive.state_dict())
    x, y, _, _ = _inputs(n=36, n_ref=36)
    feats = [t.transpose(1, 2).reshape(2, 16, 6, 6) for t in (x, y)]
    for module in (naive, chunked):
        module(*feats).square().sum().backward()
    for layer in ('cross', 'self_sga'):
        for name in ('weight', 'bias'):
            expected = getattr(getattr(naive, layer).proj_y, name).grad
            # gradients of tens: compared to their scale; C, N, N' and the 2*36 tokens summed
            assert_close_float32(getattr(getattr(chunked, layer).proj_y, name).grad,
                                 expected, 16 + 36 + 36 + 2 * 36)


class _LargestAllocation(TorchDispatchMode):
    """Records the largest storage any dispatched op returns."""

    def __init__(self):
        super().__init__()
        self.largest = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in out if isinstance(out, (tuple, list)) else (out, ):
            if isinstance(t, torch.Tensor):
                self.largest = max(self.largest, t.untyped_storage().nbytes())
        return out


@pytest.mark.parametrize('norm', ['double', 'softmax'])
def test_chunked_never_allocates_the_map(norm):
    n, n_ref, chunk = 96, 80, 8
    x, y, value, grad = _inputs(n=n, n_ref=n_ref, c=4)
    value.requires_grad_()
    with _LargestAllocation() as mode:
        sga_aggregate(x, y, value, norm=norm, chunk_size=chunk).backward(grad)
    # the map is B·N·N' floats; the chunked pass holds B·chunk·N' (and O(B·N·C) tensors)
    assert mode.largest <= 4 * 2 * chunk * n_ref < 4 * 2 * n * n_ref
    with _LargestAllocation() as mode:
        paper_form(x, y, value, norm)
    assert mode.largest >= 4 * 2 * n * n_ref  # the probe does see a materialised map


def test_autocast_gradient_stays_float32_map():
    x, y, value, grad = _inputs()
    value = value.clone().requires_grad_()
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = sga_aggregate(x, y, value, chunk_size=5)
    out.float().backward(grad)
    ref_out, ref_grad = _out_and_value_grad(paper_form, x, y, value.detach(), grad)
    torch.testing.assert_close(out, ref_out)
    # the map stays float32: the values' gradient is a float32 product over N (and C, N')
    assert_close_float32(value.grad, ref_grad, x.shape[-1] + x.shape[1] + y.shape[1])
