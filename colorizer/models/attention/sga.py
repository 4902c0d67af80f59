"""Stop-Gradient Attention (Li et al., ECCV 2022, §3.4 and Algorithm 1).

One SGA layer, on tokens X (B, N, C) and Y (B, N', C)::

    A = X Yᵀ                      no projections, no 1/sqrt(C), under no_grad (stop-gradient)
    Ã = softmax(A, dim=-1)
    Â = Ã / Σ_i Ã_ij              "double normalisation": every column sums to 1
    Z = BN(Â · σ(W_y Y) + σ(W_x X)) + X        σ = LeakyReLU(0.2), BN over channels

The batch norm and the outer shortcut are not in Algorithm 1; they are in the authors' code
(``Gconv`` and ``GNN.forward``) and in the text ("we also adopt batch normalization layer and
shortcut connections"). The block is cross-SGA (X = sketch, Y = reference) then self-SGA
(X = Y = the cross output).

Memory: Â · V = Ã · (V / c) with c_j = Σ_i Ã_ij, so the column normalisation folds into the
values. The ``'chunked'`` implementation accumulates c over blocks of query rows (never holding
the N x N' map) and lets ``F.scaled_dot_product_attention`` compute Ã · (V / c) with a fused
kernel where one exists. Under stop-gradient the map is a constant, so the only gradient is the
values', Âᵀ G; with r_i = logsumexp_j (X Yᵀ)_ij it is ``softmax_i((Y Xᵀ)_ji − r_i) · G``, i.e.
one more fused attention call (Y attends to X, additive key bias −r) instead of the generic
attention backward, which would also compute the unused gradients of X and Y. When N is at most
``chunk_size`` the map fits the chunk budget and is materialised once instead. It matches
``'naive'`` (Algorithm 1 verbatim) to float tolerance, for outputs and gradients, with and
without stop-gradient.
"""
from contextlib import nullcontext
from typing import Callable, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

from colorizer.invalid_argument import check_choice, check_number
from colorizer.registry import ATTENTIONS
from .base import BaseAttention, to_map, to_tokens

# F.normalize's default eps: the naive path divides by max(c_j, eps), the chunked path must too.
_EPS = 1e-12


def sga_attention_map(x: torch.Tensor, y: torch.Tensor, norm: str = 'double') -> torch.Tensor:
    """The SGA attention map, materialised (Algorithm 1, without the no_grad).

    Args:
        x: (B, N, C) query tokens.
        y: (B, N', C) key tokens.
        norm: ``'double'`` (softmax over keys, then L1 over queries) or ``'softmax'``.

    Returns:
        (B, N, N') map Â (columns sum to 1) or Ã (rows sum to 1).
    """
    attn = torch.bmm(x, y.transpose(1, 2)).softmax(dim=-1)  # (B, N, N')
    if norm == 'double':
        attn = F.normalize(attn, p=1, dim=-2)
    return attn


def _column_mass(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    # Σ_i softmax_j(x_i · y_j) over this chunk's query rows: (B, n, C), (B, N', C) -> (B, 1, N')
    return torch.bmm(x, y.transpose(1, 2)).softmax(dim=-1).sum(dim=1, keepdim=True)


def _column_sums(x: torch.Tensor, y: torch.Tensor, chunk_size: int) -> torch.Tensor:
    """c_j = Σ_i softmax(X Yᵀ)_ij accumulated over chunks of query rows: (B, 1, N').

    Under autograd each chunk is checkpointed: the backward recomputes the chunk's
    (chunk_size x N') softmax instead of keeping all of them, so memory stays O(chunk_size · N')
    and the gradient through c is still exact.
    """
    track = torch.is_grad_enabled() and (x.requires_grad or y.requires_grad)
    total = None
    for start in range(0, x.shape[1], chunk_size):
        x_chunk = x[:, start:start + chunk_size]  # (B, n, C)
        if track:
            mass = checkpoint(_column_mass, x_chunk, y, use_reentrant=False)
        else:
            mass = _column_mass(x_chunk, y)
        total = mass if total is None else total + mass
    return total


def _row_lse_and_column_sums(x: torch.Tensor, y: torch.Tensor, chunk_size: int,
                             need_lse: bool) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
    """One chunked pass over the logits X Yᵀ, without autograd.

    Args:
        x: (B, N, C) query tokens.
        y: (B, N', C) key tokens.
        chunk_size: query rows per chunk; the pass holds one (B, chunk_size, N') buffer.
        need_lse: also return the row log-sum-exp r (the backward's key bias).

    Returns:
        c (B, 1, N'), c_j = Σ_i softmax(X Yᵀ)_ij, and r (B, N, 1) or None.
    """
    batch, num, num_ref = x.shape[0], x.shape[1], y.shape[1]
    y_t = y.transpose(1, 2)  # (B, C, N')
    col = x.new_zeros(batch, 1, num_ref)
    lse = x.new_empty(batch, num, 1) if need_lse else None
    # One buffer for every chunk, exponentiated in place: a fresh one per chunk is a fresh
    # mapping of tens of MiB, paid in page faults every time.
    storage = x.new_empty(batch * min(chunk_size, num) * num_ref)
    for start in range(0, num, chunk_size):
        x_chunk = x[:, start:start + chunk_size]  # (B, n, C)
        rows = x_chunk.shape[1]
        exp = storage[:batch * rows * num_ref].view(batch, rows, num_ref)
        torch.bmm(x_chunk, y_t, out=exp)  # logits
        row_max = exp.amax(dim=-1, keepdim=True)  # (B, n, 1)
        exp.sub_(row_max).exp_()
        row_sum = exp.sum(dim=-1, keepdim=True)  # (B, n, 1)
        # Σ_i exp_ij / z_i: the softmax's column sums without normalising the chunk first
        col.baddbmm_(row_sum.reciprocal().transpose(1, 2), exp)
        if need_lse:
            lse[:, start:start + rows] = row_max + row_sum.log()
    return col, lse


def _attend(query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
            bias: Optional[torch.Tensor] = None) -> torch.Tensor:
    # one-head fused attention with unscaled logits: (B, N, C) x (B, N', C) x (B, N', D)
    out = F.scaled_dot_product_attention(
        query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1), attn_mask=bias, scale=1.0)
    return out.squeeze(1)


class _StopGradAggregate(torch.autograd.Function):
    """Â · V (or Ã · V) with a constant map, in O(N · chunk_size) memory; gradient to V only."""

    @staticmethod
    def forward(ctx, x, y, value, norm, chunk_size):
        need_grad = ctx.needs_input_grad[2]
        col = lse = None
        if norm == 'double':
            col, lse = _row_lse_and_column_sums(x, y, chunk_size, need_grad)  # (B,1,N'), (B,N,1)
            value = value / col.transpose(1, 2).clamp_min(_EPS)  # Â · V = Ã · (V / c)
        out = _attend(x, y, value)  # (B, N, C)
        ctx.norm, ctx.chunk_size = norm, chunk_size
        if need_grad:
            ctx.save_for_backward(x, y, col, lse)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, y, col, lse = ctx.saved_tensors
        with torch.autocast(device_type=grad.device.type, enabled=False):
            if lse is None:  # 'softmax': the forward needed no column pass
                col, lse = _row_lse_and_column_sums(x, y, ctx.chunk_size, True)
            # (Ãᵀ G)_j / c_j = Σ_i softmax_i(y_j · x_i − r_i) g_i: Y attends to X with bias −r
            bias = -lse.transpose(1, 2).unsqueeze(1)  # (B, 1, 1, N)
            grad_value = _attend(y, x, grad.to(x.dtype), bias)  # (B, N', C)
            col = col.transpose(1, 2)  # (B, N', 1)
            # double: Âᵀ G = Ãᵀ G / max(c, eps); softmax: Ãᵀ G
            scale = col / col.clamp_min(_EPS) if ctx.norm == 'double' else col
            grad_value = grad_value * scale
        return None, None, grad_value, None, None


def sga_aggregate(x: torch.Tensor,
                  y: torch.Tensor,
                  value: torch.Tensor,
                  norm: str = 'double',
                  stop_grad: bool = True,
                  implementation: str = 'chunked',
                  chunk_size: int = 1024) -> torch.Tensor:
    """Compute Â · V (or Ã · V) from raw tokens.

    The map is computed in at least float32 with autocast off: the logits are unscaled dot
    products of C-channel features (hundreds or more in magnitude), where float16 overflows and
    bfloat16 rounding changes the near one-hot softmax.

    Args:
        x: (B, N, C) query tokens (the map's rows).
        y: (B, N', C) key tokens (the map's columns).
        value: (B, N', C) values.
        norm: ``'double'`` or ``'softmax'``.
        stop_grad: compute the map under ``torch.no_grad()`` (no gradient reaches x, y).
        implementation: ``'chunked'`` (O(N · chunk_size) memory) or ``'naive'`` (N x N' map).
        chunk_size: query rows per chunk when accumulating the column sums; under
            stop-gradient a map of N <= chunk_size rows is materialised (one chunk's memory).

    Returns:
        (B, N, C) aggregated values, in ``value``'s dtype.
    """
    out_dtype = value.dtype
    dtype = torch.promote_types(torch.promote_types(x.dtype, y.dtype), value.dtype)
    dtype = torch.promote_types(dtype, torch.float32)
    with torch.autocast(device_type=value.device.type, enabled=False):
        x, y, value = x.to(dtype), y.to(dtype), value.to(dtype)
        if stop_grad:
            x, y = x.detach(), y.detach()
        # Within one chunk's budget (N <= chunk_size) the chunked pass would hold the whole
        # map anyway: materialise it once rather than compute it again in the attention call.
        if implementation == 'naive' or (stop_grad and x.shape[1] <= chunk_size):
            with torch.no_grad() if stop_grad else nullcontext():
                attn = sga_attention_map(x, y, norm)  # (B, N, N')
            out = torch.bmm(attn, value)  # (B, N, C)
        elif stop_grad:
            out = _StopGradAggregate.apply(x, y, value, norm, chunk_size)
        else:
            if norm == 'double':
                col = _column_sums(x, y, chunk_size)  # (B, 1, N')
                # Â · V = Ã · (V / c); the clamp is F.normalize's eps, so both paths agree
                value = value / col.transpose(1, 2).clamp_min(_EPS)  # (B, N', C)
            # the map keeps its graph (ablation): the generic attention backward is needed
            out = _attend(x, y, value)
    return out.to(out_dtype)


def _no_tap(name: str, tokens: torch.Tensor) -> torch.Tensor:
    return tokens


class SGALayer(nn.Module):
    """One SGA operation (cross or self): ``Z = BN(Â σ(W_y Y) + σ(W_x X)) + X``.

    Args:
        channels: C.
        norm: ``'double'`` (paper) or ``'softmax'`` (ablation "w/o double-norm").
        stop_grad: compute the map under no_grad (paper) or keep its graph (ablation).
        implementation: ``'chunked'`` or ``'naive'``, see :func:`sga_aggregate`.
        chunk_size: query rows per chunk.
        negative_slope: slope of the LeakyReLU σ.
    """

    def __init__(self, channels: int, norm: str = 'double', stop_grad: bool = True,
                 implementation: str = 'chunked', chunk_size: int = 1024,
                 negative_slope: float = 0.2):
        super().__init__()
        self.norm_type = norm
        self.stop_grad = stop_grad
        self.implementation = implementation
        self.chunk_size = chunk_size
        self.negative_slope = negative_slope
        self.proj_x = nn.Linear(channels, channels)  # W_x, on the node itself
        self.proj_y = nn.Linear(channels, channels)  # W_y, on the messages
        self.norm = nn.BatchNorm1d(channels)

    def forward(self, x: torch.Tensor, y: torch.Tensor,
                tap: Callable[[str, torch.Tensor], torch.Tensor] = _no_tap) -> torch.Tensor:
        """Apply the layer.

        Args:
            x: (B, N, C) tokens.
            y: (B, N', C) tokens.
            tap: gives each branch its own tensor handle (see ``BaseAttention._branch``).

        Returns:
            (B, N, C) tokens.
        """
        x_skip, x_proj, y_proj = tap('x_skip', x), tap('x_proj', x), tap('y_proj', y)
        # under stop-gradient the map's inputs get no gradient: no branch to record
        x_att, y_att = (x, y) if self.stop_grad else (tap('x_att', x), tap('y_att', y))
        msg = F.leaky_relu(self.proj_y(y_proj), self.negative_slope)  # (B, N', C)
        src = F.leaky_relu(self.proj_x(x_proj), self.negative_slope)  # (B, N, C)
        agg = sga_aggregate(x_att, y_att, msg, self.norm_type, self.stop_grad,
                            self.implementation, self.chunk_size)  # (B, N, C)
        # BatchNorm1d normalises dim 1: channels
        return self.norm((agg + src).transpose(1, 2)).transpose(1, 2) + x_skip

    def attention_map(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The (B, N, N') map this layer applies to (x, y), without gradient."""
        with torch.no_grad():
            dtype = torch.promote_types(x.dtype, torch.float32)
            return sga_attention_map(x.to(dtype), y.to(dtype), self.norm_type)


@ATTENTIONS.register_module()
class SGA(BaseAttention):
    """SGA block: cross-SGA (sketch attends to reference) then self-SGA.

    Gradient-cosine branches of the cross step (when ``capture_branches`` is True): ``x_skip``
    (outer shortcut), ``x_proj`` (W_x), ``y_proj`` (W_y, the values) and, without stop-gradient
    only, ``x_att`` / ``y_att`` (the map's inputs, paper Fig. 10).

    Args:
        channels: C of both feature maps.
        stop_grad: stop-gradient on the attention maps. False is the "w/o stop-gradient" ablation
            (paper Table 3); the map then keeps its graph and X, Y get gradient through it.
        norm: ``'double'`` (softmax, then L1 over the query axis) or ``'softmax'``
            (the "w/o double-norm" ablation).
        self_attention: add the self-SGA layer (False: the "w/o self-SGA" ablation).
        implementation: ``'chunked'`` (fused attention kernel, O(N · chunk_size) memory) or
            ``'naive'`` (Algorithm 1 verbatim, N x N' map). Both are exact, also without
            stop-gradient (the chunked column sums are checkpointed per chunk).
        chunk_size: query rows per chunk of the column-sum pass (N <= chunk_size: the map is
            materialised, as small as one chunk).
        negative_slope: LeakyReLU slope.
    """

    def __init__(self, channels: int, stop_grad: bool = True, norm: str = 'double',
                 self_attention: bool = True, implementation: str = 'chunked',
                 chunk_size: int = 1024, negative_slope: float = 0.2):
        super().__init__(channels)
        check_choice('norm', norm, ('double', 'softmax'), 'SGA')
        check_choice('implementation', implementation, ('chunked', 'naive'), 'SGA')
        check_number('chunk_size', chunk_size, 1, integer=True, owner='SGA')
        self.stop_grad = stop_grad
        self.norm_type = norm
        self.self_attention = self_attention
        self.implementation = implementation
        layer_args = dict(norm=norm, stop_grad=stop_grad, implementation=implementation,
                          chunk_size=chunk_size, negative_slope=negative_slope)
        self.cross = SGALayer(channels, **layer_args)
        self.self_sga: Optional[SGALayer] = (
            SGALayer(channels, **layer_args) if self_attention else None)

    def forward(self, sketch_feat: torch.Tensor, ref_feat: torch.Tensor,
                return_attention: bool = False):
        """Fuse sketch and reference features.

        Args:
            sketch_feat: (B, C, H, W).
            ref_feat: (B, C, H', W').
            return_attention: also return the cross map Â (B, H*W, H'*W'), materialised.

        Returns:
            (B, C, H, W), or ``(fused, attention)``.
        """
        h, w = sketch_feat.shape[-2:]
        x, y = to_tokens(sketch_feat), to_tokens(ref_feat)  # (B, N, C), (B, N', C)
        self._reset_branches()
        z = self.cross(x, y, tap=self._branch)  # (B, N, C)
        if self.self_sga is not None:
            z = self.self_sga(z, z)  # (B, N, C)
        fused = to_map(z, h, w)  # (B, C, H, W)
        if return_attention:
            return fused, self.cross.attention_map(x, y)
        return fused
