"""SCFT attention (Lee et al., CVPR 2020; paper §3.3 eq. 6) with the stop-gradient switches of
Table 1.

    Q = W_q X,  K = W_k Y,  V = W_v Y        (Linear C -> C with bias, on tokens)
    Z = softmax(Q Kᵀ / sqrt(C)) V + X        (the shortcut adds the raw X)

Stopping a branch computes its projection under ``torch.no_grad()``: neither the projection's
parameters nor the input receive gradient through it. With both branches stopped the map is a
constant for autograd and W_q, W_k get no gradient at all, as Table 1 states.
"""
import math
from contextlib import nullcontext

import torch
import torch.nn.functional as F
from torch import nn

from colorizer.registry import ATTENTIONS
from .base import BaseAttention, to_map, to_tokens


@ATTENTIONS.register_module()
class SCFT(BaseAttention):
    """Spatially corresponding feature transfer, the attention baseline of the paper.

    Gradient-cosine branches (when ``capture_branches`` is True): ``x_skip`` (shortcut),
    ``x_q`` (query projection), ``y_k`` (key projection), ``y_v`` (value projection); a stopped
    branch is not recorded, it carries no gradient.

    Args:
        channels: C of both feature maps.
        stop_grad_q: stop-gradient on the query branch (W_q).
        stop_grad_k: stop-gradient on the key branch (W_k).
    """

    gradient_branches = ('x_skip', 'x_q', 'y_k', 'y_v')
    attention_branches = ('x_q', 'y_k')
    # Fig. 4's four pairs are generic pairs; the rest are the kept / attention split
    gradient_labels = {
        'x_skip~x_total': 'cos(g_skip, g_skip+g_Q)',
        'x_q~x_total': 'cos(g_Q, g_skip+g_Q)',
        'y_v~y_total': 'cos(g_V, g_K+g_V)',
        'y_k~y_total': 'cos(g_K, g_K+g_V)',
        'x_kept~x_att': 'cos(g_skip, g_Q)',
        'y_kept~y_att': 'cos(g_V, g_K)',
        'x_kept~x_total': 'cos(g_skip, g_skip) [Q stopped]',
        'y_kept~y_total': 'cos(g_V, g_V) [K stopped]',
    }

    def __init__(self, channels: int, stop_grad_q: bool = False, stop_grad_k: bool = False):
        super().__init__(channels)
        self.stop_grad_q = stop_grad_q
        self.stop_grad_k = stop_grad_k
        self.scale = 1.0 / math.sqrt(channels)
        self.to_q = nn.Linear(channels, channels)
        self.to_k = nn.Linear(channels, channels)
        self.to_v = nn.Linear(channels, channels)

    def stop_gradient_switches(self) -> dict:
        """``{'stop_grad_q': bool, 'stop_grad_k': bool}``."""
        return dict(stop_grad_q=self.stop_grad_q, stop_grad_k=self.stop_grad_k)

    def forward(self, sketch_feat: torch.Tensor, ref_feat: torch.Tensor,
                return_attention: bool = False):
        """Fuse sketch and reference features.

        Args:
            sketch_feat: (B, C, H, W).
            ref_feat: (B, C, H', W').
            return_attention: also return the map softmax(Q Kᵀ / sqrt(C)), (B, H*W, H'*W').

        Returns:
            (B, C, H, W), or ``(fused, attention)``.
        """
        h, w = sketch_feat.shape[-2:]
        x, y = to_tokens(sketch_feat), to_tokens(ref_feat)  # (B, N, C), (B, N', C)
        self._reset_branches()
        x_skip = self._branch('x_skip', x)
        # the handle is taken inside no_grad when stopped, so a stopped branch is not recorded
        with torch.no_grad() if self.stop_grad_q else nullcontext():
            q = self.to_q(self._branch('x_q', x))  # (B, N, C)
        with torch.no_grad() if self.stop_grad_k else nullcontext():
            k = self.to_k(self._branch('y_k', y))  # (B, N', C)
        v = self.to_v(self._branch('y_v', y))  # (B, N', C)

        if return_attention:
            attn = torch.bmm(q, k.transpose(1, 2)).mul(self.scale).softmax(dim=-1)  # (B, N, N')
            out = torch.bmm(attn, v)  # (B, N, C)
        else:
            # fused kernel: no N x N' map kept for backward
            out = F.scaled_dot_product_attention(
                q.unsqueeze(1), k.unsqueeze(1), v.unsqueeze(1), scale=self.scale).squeeze(1)
        fused = to_map(out + x_skip, h, w)  # (B, C, H, W)
        if return_attention:
            return fused, attn.detach()
        return fused
