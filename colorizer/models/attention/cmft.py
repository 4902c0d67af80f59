"""CMFT as a drop-in fusion module (Zhang, Wang, Wen, Li, Liu, "Line Art Correlation Matching
Feature Transfer Network for Automatic Animation Colorization", WACV 2021), a baseline of the
paper's Table 2.

Per-channel correlation matching: every channel c matches on its own, with scalar products::

    q = W_q x,  k = W_k y,  v = W_v y                   conv1x1 C -> C (or identities)
    out[c, i] = Σ_j softmax_j(q[c, i] · k[c, j]) · v[c, j]
    fused = x + out

Memory: the maps are (B, C, N, N'). They are built over chunks of ``chunk_size`` query
positions, each chunk checkpointed under autograd (the backward recomputes it), so the map
memory is O(B·C·chunk_size·N') at any time, forward or backward, not B·C·N·N'. Chunked equals
unchunked to float tolerance, for values and gradients.
"""
from typing import Optional

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from colorizer.registry import ATTENTIONS
from .base import BaseAttention
from .spade import MapBranchMixin


def _cmft_chunk(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    # (B, C, n), (B, C, N'), (B, C, N') -> (B, C, n)
    attn = (q.unsqueeze(-1) * k.unsqueeze(-2)).softmax(dim=-1)  # (B, C, n, N'), max-subtracted
    return torch.matmul(attn, v.unsqueeze(-1)).squeeze(-1)


def _chunks(n: int, chunk_size: Optional[int]):
    step = n if not chunk_size else chunk_size
    return [(s, min(s + step, n)) for s in range(0, n, step)]


def cmft_aggregate(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                   chunk_size: Optional[int] = None) -> torch.Tensor:
    """``out[b, c, i] = Σ_j softmax_j(q[b, c, i] · k[b, c, j]) · v[b, c, j]``.

    Args:
        q: (B, C, N) queries.
        k: (B, C, N') keys.
        v: (B, C, N') values.
        chunk_size: query positions per chunk (None or 0: all at once, no checkpointing).

    Returns:
        (B, C, N).
    """
    track = torch.is_grad_enabled() and any(t.requires_grad for t in (q, k, v))
    spans = _chunks(q.shape[-1], chunk_size)
    if len(spans) == 1:
        return _cmft_chunk(q, k, v)
    outs = []
    for s, e in spans:
        if track:
            outs.append(checkpoint(_cmft_chunk, q[..., s:e], k, v, use_reentrant=False))
        else:
            outs.append(_cmft_chunk(q[..., s:e], k, v))
    return torch.cat(outs, dim=-1)


@torch.no_grad()
def cmft_attention_map(q: torch.Tensor, k: torch.Tensor,
                       chunk_size: Optional[int] = None) -> torch.Tensor:
    """The per-channel maps averaged over channels, without gradient.

    Args:
        q: (B, C, N).
        k: (B, C, N').
        chunk_size: query positions per chunk.

    Returns:
        (B, N, N'), rows sum to 1.
    """
    maps = [(q[..., s:e].unsqueeze(-1) * k.unsqueeze(-2)).softmax(dim=-1).mean(dim=1)
            for s, e in _chunks(q.shape[-1], chunk_size)]  # each (B, n, N')
    return torch.cat(maps, dim=1)


@ATTENTIONS.register_module()
class CMFT(MapBranchMixin, BaseAttention):
    """CMFT (Zhang et al., WACV 2021) adapted to the (sketch features, reference features) form.

    Adaptation: CMFT colours in-between animation frames as an image analogy: the target line
    art is matched against the reference frame's *line art*, the matched reference *colour*
    features are transferred, at several decoder levels (coarse to fine). Here there is no
    reference line art and one level: the module runs once, on the encoders' final features,
    keys and values both come from the reference features (through separate conv1x1
    projections), and the matching is the per-channel correlation of the module docstring:
    each channel has its own N x N' map from scalar products, softmax over the reference
    positions.
    ``projections=True`` (default) puts conv1x1 projections W_q, W_k, W_v before the matching
    (learnable parameters of SCFT's size, 3·C², so the channels matched are learned);
    ``projections=False`` is the bare formula with q = x, k = v = y and no parameters. Output:
    ``fused = x + out`` (shortcut to the sketch features, as SCFT and SGA). The maps are computed
    in float32 with autocast off: the scalar products are unscaled.

    ``return_attention=True`` returns the C per-channel maps averaged over the channels,
    (B, N, N'), rows sum to 1 (built chunk by chunk, without gradient).

    Gradient-cosine branches (``capture_branches``): ``x_skip`` (shortcut), ``x_q`` (queries),
    ``y_k`` (keys), ``y_v`` (values); without projections y still feeds keys and values apart.

    Args:
        channels: C of both feature maps.
        projections: conv1x1 projections of queries, keys and values.
        chunk_size: query positions per chunk (None or 0: no chunking, B·C·N·N' memory).
    """

    def __init__(self, channels: int, projections: bool = True, chunk_size: Optional[int] = 64):
        super().__init__(channels)
        if chunk_size is not None and chunk_size < 0:
            raise ValueError(f'chunk_size must be positive, 0 or None, got {chunk_size}')
        self.projections = projections
        self.chunk_size = chunk_size
        make = (lambda: nn.Conv2d(channels, channels, 1)) if projections else nn.Identity
        self.to_q, self.to_k, self.to_v = make(), make(), make()

    def forward(self, sketch_feat: torch.Tensor, ref_feat: torch.Tensor,
                return_attention: bool = False):
        """Fuse sketch and reference features.

        Args:
            sketch_feat: (B, C, H, W).
            ref_feat: (B, C, H', W').
            return_attention: also return the channel-averaged map (B, H*W, H'*W').

        Returns:
            (B, C, H, W), or ``(fused, attention)``.
        """
        h, w = sketch_feat.shape[-2:]
        self._reset_branches()
        x_skip = self._tap('x_skip', sketch_feat)
        q = self.to_q(self._tap('x_q', sketch_feat)).flatten(2)  # (B, C, N)
        k = self.to_k(self._tap('y_k', ref_feat)).flatten(2)  # (B, C, N')
        v = self.to_v(self._tap('y_v', ref_feat)).flatten(2)  # (B, C, N')
        with torch.autocast(device_type=q.device.type, enabled=False):
            dtype = torch.promote_types(q.dtype, torch.float32)
            q, k, v = q.to(dtype), k.to(dtype), v.to(dtype)
            out = cmft_aggregate(q, k, v, self.chunk_size)  # (B, C, N)
        fused = x_skip + out.reshape(*out.shape[:2], h, w).to(x_skip.dtype)  # (B, C, H, W)
        if return_attention:
            return fused, cmft_attention_map(q, k, self.chunk_size)
        return fused
