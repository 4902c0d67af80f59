"""UNITE as a drop-in fusion module (Zhan, Yu, Cui, Zhang, Lu, Pan, Zhang, Ma, Xie, Miao,
"Unbalanced Feature Transport for Exemplar-based Image Translation", CVPR 2021), a baseline of
the paper's Table 2.

    f_x = P_x x − mean_c,  f_y = P_y y − mean_c      P: conv1x1; centred per position, (B, N, Cp)
    cost = 1 − cos(f_x, f_y)                          (B, N, N') in [0, 2]
    a = softmax_i(f_x,i · mean_k f_x,k / sqrt(Cp))   sketch-side marginal, (B, N)
    b = softmax_j(f_y,j · mean_k f_y,k / sqrt(Cp))   reference-side marginal, (B, N')
    P = Sinkhorn_ε(cost, a, b)                        entropic OT plan, log-domain iterations,
                                                      P 1 = a, Pᵀ 1 = b
    W = P / P 1                                       rows normalised, (B, N, N')
    w = W · y                                         warped reference features
    κ = sigmoid(conv3x3([x, w]))                      confidence, (B, 1, H, W)
    fused = x + SPADE(x, κ · w + (1 − κ) · x)         see .spade
"""
import math
from typing import Optional, Tuple

import torch
from torch import nn

from colorizer.registry import ATTENTIONS
from .base import BaseAttention, to_map, to_tokens
from .cocosnet import _EPS
from .spade import MapBranchMixin, SPADEModulation


def sinkhorn_log(cost: torch.Tensor, log_a: torch.Tensor, log_b: torch.Tensor, epsilon: float,
                 num_iters: int) -> torch.Tensor:
    """Entropic optimal transport by Sinkhorn iterations in the log domain.

    Minimises ``<P, cost> − ε H(P)`` subject to ``P 1 = a``, ``Pᵀ 1 = b``. Every step is a
    logsumexp, so no exp(−cost/ε) underflows and tiny marginals are fine. The last update
    is the column one: the columns match b exactly, the rows match a up to the convergence.

    Args:
        cost: (B, N, N').
        log_a: (B, N) log row marginal (sums to 1 in probability).
        log_b: (B, N') log column marginal.
        epsilon: entropic regularisation ε.
        num_iters: number of (row, column) update pairs, unrolled for autograd.

    Returns:
        (B, N, N') log plan.
    """
    log_k = -cost / epsilon  # (B, N, N')
    u = torch.zeros_like(log_a)  # (B, N) log row scalings
    v = torch.zeros_like(log_b)  # (B, N') log column scalings
    for _ in range(num_iters):
        u = log_a - torch.logsumexp(log_k + v.unsqueeze(1), dim=2)
        v = log_b - torch.logsumexp(log_k + u.unsqueeze(2), dim=1)
    return u.unsqueeze(2) + log_k + v.unsqueeze(1)


def _centred(feat: torch.Tensor) -> torch.Tensor:
    t = to_tokens(feat)  # (B, N, Cp)
    return t - t.mean(dim=-1, keepdim=True)


def _log_marginal(f: torch.Tensor) -> torch.Tensor:
    # log softmax over positions of f_i · mean_k f_k / sqrt(Cp): (B, N, Cp) -> (B, N)
    logits = (f * f.mean(dim=1, keepdim=True)).sum(dim=-1) / math.sqrt(f.shape[-1])
    return logits.log_softmax(dim=-1)


@ATTENTIONS.register_module()
class UNITE(MapBranchMixin, BaseAttention):
    """UNITE (Zhan et al., CVPR 2021) adapted to the (sketch features, reference features) form.

    Adaptation: UNITE replaces CoCosNet's softmax correspondence by an optimal-transport plan
    between the conditional-input features and the exemplar features, made *unbalanced* to cope
    with feature distributions that deviate from each other, and injects the aligned exemplar
    with its semantic-activation normalisation. Here, as in :class:`CoCosNet`: conv1x1
    projections of the encoders' features, cost = 1 − cosine of the centred features; the
    transport is entropic OT with learned, non-uniform marginals a, b (softmax over positions
    of each feature's product with the mean feature, so the projections learn them) met by
    ``num_iters`` log-domain Sinkhorn iterations (exactly for b, to convergence for a, see
    :meth:`transport_plan`; no KL-relaxed marginal variant); the iterations are unrolled, so the
    gradient flows through them to the projections. The plan's rows, normalised, warp the raw
    reference features; a learned confidence map κ = sigmoid(conv3x3([sketch, warped])) blends
    warped and sketch features (where the reference has no good match the sketch conditions
    itself); the blend conditions one SPADE modulation of the sketch features (standing in for
    UNITE's normalisation), added to the sketch features (shortcut). No extra losses. Computed
    in float32 with autocast off.

    ``return_attention=True`` returns the row-normalised plan W, (B, N, N'), rows sum to 1.

    Gradient-cosine branches (``capture_branches``): ``x_skip`` (shortcut), ``x_norm`` (the
    modulated path), ``x_corr`` (transport, sketch side), ``x_conf`` (confidence and blend),
    ``y_corr`` (transport, reference side), ``y_v`` (the warped values).

    Args:
        channels: C of both feature maps.
        proj_channels: output channels of the conv1x1 projections (None: C).
        epsilon: entropic regularisation ε of the transport (cost in [0, 2]).
        num_iters: Sinkhorn iterations.
        hidden_channels: width of the modulation's shared conv (128 as in SPADE).
        norm: ``'batch'`` or ``'instance'`` parameter-free normalisation of the sketch features.
    """

    def __init__(self, channels: int, proj_channels: Optional[int] = None,
                 epsilon: float = 0.05, num_iters: int = 10, hidden_channels: int = 128,
                 norm: str = 'batch'):
        super().__init__(channels)
        if epsilon <= 0:
            raise ValueError(f'epsilon must be positive, got {epsilon}')
        if num_iters < 1:
            raise ValueError(f'num_iters must be >= 1, got {num_iters}')
        proj_channels = proj_channels or channels
        self.epsilon = epsilon
        self.num_iters = num_iters
        self.proj_x = nn.Conv2d(channels, proj_channels, 1)
        self.proj_y = nn.Conv2d(channels, proj_channels, 1)
        self.confidence = nn.Conv2d(2 * channels, 1, 3, padding=1)
        self.modulation = SPADEModulation(channels, channels, hidden_channels, norm)

    def log_transport_plan(self, sketch_feat: torch.Tensor, ref_feat: torch.Tensor,
                           num_iters: Optional[int] = None
                           ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The log-domain plan and marginals, float32 (see :meth:`transport_plan`)."""
        num_iters = self.num_iters if num_iters is None else num_iters
        with torch.autocast(device_type=sketch_feat.device.type, enabled=False):
            f_x = _centred(self.proj_x(sketch_feat.float()))  # (B, N, Cp)
            f_y = _centred(self.proj_y(ref_feat.float()))  # (B, N', Cp)
            log_a, log_b = _log_marginal(f_x), _log_marginal(f_y)  # (B, N), (B, N')
            x_hat = f_x / f_x.norm(dim=-1, keepdim=True).clamp_min(_EPS)
            y_hat = f_y / f_y.norm(dim=-1, keepdim=True).clamp_min(_EPS)
            cost = 1 - torch.bmm(x_hat, y_hat.transpose(1, 2))  # (B, N, N')
            log_plan = sinkhorn_log(cost, log_a, log_b, self.epsilon, num_iters)
        return log_plan, log_a, log_b

    def transport_plan(self, sketch_feat: torch.Tensor, ref_feat: torch.Tensor,
                       num_iters: Optional[int] = None
                       ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The entropic OT plan between sketch and reference positions.

        Args:
            sketch_feat: (B, C, H, W).
            ref_feat: (B, C, H', W').
            num_iters: Sinkhorn iterations (None: the module's ``num_iters``).

        Returns:
            ``(plan, a, b)``: float32 (B, N, N') plan, (B, N) and (B, N') marginals;
            ``plan.sum(-2) == b`` exactly and ``plan.sum(-1) → a`` as the iterations converge.
        """
        log_plan, log_a, log_b = self.log_transport_plan(sketch_feat, ref_feat, num_iters)
        return log_plan.exp(), log_a.exp(), log_b.exp()

    def forward(self, sketch_feat: torch.Tensor, ref_feat: torch.Tensor,
                return_attention: bool = False):
        """Fuse sketch and reference features.

        Args:
            sketch_feat: (B, C, H, W).
            ref_feat: (B, C, H', W').
            return_attention: also return the row-normalised plan (B, H*W, H'*W').

        Returns:
            (B, C, H, W), or ``(fused, attention)``.
        """
        h, w = sketch_feat.shape[-2:]
        self._reset_branches()
        x_skip, x_norm = self._tap('x_skip', sketch_feat), self._tap('x_norm', sketch_feat)
        x_conf = self._tap('x_conf', sketch_feat)
        log_plan, _, _ = self.log_transport_plan(self._tap('x_corr', sketch_feat),
                                                 self._tap('y_corr', ref_feat))
        attn = log_plan.softmax(dim=-1)  # (B, N, N'), the plan's rows normalised
        values = to_tokens(self._tap('y_v', ref_feat))  # (B, N', C)
        warped = to_map(torch.bmm(attn, values.to(attn.dtype)).to(values.dtype), h, w)
        conf = torch.sigmoid(self.confidence(torch.cat([x_conf, warped], dim=1)))  # (B, 1, H, W)
        cond = conf * warped + (1 - conf) * x_conf  # (B, C, H, W)
        fused = x_skip + self.modulation(x_norm, cond)  # (B, C, H, W)
        if return_attention:
            return fused, attn.detach()
        return fused
