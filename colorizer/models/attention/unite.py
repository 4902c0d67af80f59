"""UNITE as a drop-in fusion module (Zhan, Yu, Cui, Zhang, Lu, Pan, Zhang, Ma, Xie, Miao,
"Unbalanced Feature Transport for Exemplar-based Image Translation", CVPR 2021), a baseline of
the paper's Table 2.

    f_x = unit(P_x x),  f_y = unit(P_y y)            P: conv1x1; unit: centred over channels and
                                                      L2-normalised per position, (B, N, Cp)
    cost = 1 − f_x f_yᵀ                               (B, N, N') in [0, 2]
    w_x = unit(Q_x x),  w_y = unit(Q_y y)            Q: conv1x1, the marginals' own projections
    a = softmax_i(w_x,i · mean_k w_y,k)              sketch-side marginal, (B, N)
    b = softmax_j(w_y,j · mean_k w_x,k)              reference-side marginal, (B, N')
    P = argmin <P, cost> + ε KL(P | a⊗b)            unbalanced entropic OT (paper default), or
            + τ KL(P1 | a) + τ KL(Pᵀ1 | b)           P1 = a, Pᵀ1 = b exactly ('balanced')
    W = P / P 1                                       rows normalised, (B, N, N')
    w = W · y                                         warped reference features
    κ = sigmoid(conv3x3([x, w]))                      confidence, (B, 1, H, W)
    fused = x + SPADE(x, κ · w + (1 − κ) · x)         see .spade

KL is the generalised Kullback-Leibler divergence of positive measures,
``KL(p | q) = Σ p log(p / q) − p + q``. The plan comes from :func:`sinkhorn_log`.
"""
import math
from typing import Optional, Tuple

import torch
from torch import nn

from colorizer.invalid_argument import check_choice, check_number
from colorizer.registry import ATTENTIONS
from .base import BaseAttention, to_map, to_tokens
from .cocosnet import centred_unit_tokens
from .spade import MapBranchMixin, SPADEModulation

TRANSPORTS = ('unbalanced', 'balanced')


def sinkhorn_log(cost: torch.Tensor, log_a: torch.Tensor, log_b: torch.Tensor, epsilon: float,
                 num_iters: int, tau: float = math.inf) -> torch.Tensor:
    """Entropic optimal transport, balanced or unbalanced, by log-domain Sinkhorn iterations.

    Minimises over P >= 0 (Chizat, Peyré, Schmitzer, Vialard, "Scaling algorithms for unbalanced
    optimal transport problems", Math. Comp. 2018; the form UNITE describes, and that of
    geomloss, the solver of the authors' code)::

        <P, cost> + ε KL(P | a⊗b) + τ KL(P 1 | a) + τ KL(Pᵀ 1 | b)

    With ``tau = inf`` the two marginal terms become the constraints ``P 1 = a``, ``Pᵀ 1 = b``
    (balanced entropic OT, the same plan as with the plain entropy ``−ε H(P)``). With the dual
    potentials φ, ψ (in units of ε) the plan is ``P_ij = a_i b_j exp(φ_i + ψ_j − cost_ij / ε)``
    and each half-step is a damped logsumexp (the unbalanced scaling exponent κ = τ / (τ + ε);
    κ = 1 is Sinkhorn)::

        φ_i = −κ logsumexp_j(log b_j + ψ_j − cost_ij / ε)
        ψ_j = −κ logsumexp_i(log a_i + φ_i − cost_ij / ε)

    starting from φ = ψ = 0. Every step is a logsumexp, so nothing underflows and tiny marginals
    are fine. The last update is the column one: in the balanced case the columns match b
    exactly and the rows match a up to the convergence. The iterations are unrolled, so the
    plan is differentiable with respect to ``cost``, ``log_a`` and ``log_b``.

    Args:
        cost: (B, N, N').
        log_a: (B, N) log row marginal (positive measure; any total mass).
        log_b: (B, N') log column marginal.
        epsilon: entropic regularisation ε > 0 (in units of ``cost``).
        num_iters: number of (row, column) update pairs.
        tau: marginal relaxation τ > 0 (in units of ``cost``); ``math.inf``: balanced.

    Returns:
        (B, N, N') log plan.

    Raises:
        ValueError: ``epsilon`` or ``tau`` not positive, or ``num_iters`` < 1.
    """
    if not epsilon > 0:
        raise ValueError(f'epsilon must be positive, got {epsilon}')
    if not tau > 0:
        raise ValueError(f'tau must be positive (math.inf for balanced), got {tau}')
    if num_iters < 1:
        raise ValueError(f'num_iters must be >= 1, got {num_iters}')
    kappa = 1.0 if math.isinf(tau) else tau / (tau + epsilon)
    log_k = -cost / epsilon  # (B, N, N')
    phi = torch.zeros_like(log_a)  # (B, N)
    psi = torch.zeros_like(log_b)  # (B, N')
    for _ in range(num_iters):
        phi = -kappa * torch.logsumexp(log_k + (log_b + psi).unsqueeze(1), dim=2)
        psi = -kappa * torch.logsumexp(log_k + (log_a + phi).unsqueeze(2), dim=1)
    return (log_a + phi).unsqueeze(2) + log_k + (log_b + psi).unsqueeze(1)


def _log_marginals(w_x: torch.Tensor, w_y: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    # UNITE's feature-dependent marginals (authors' code, "weight branch"): each position's
    # affinity with the *other* image's mean feature, log-softmaxed over positions.
    # (B, N, Cp), (B, N', Cp) -> (B, N), (B, N')
    log_a = (w_x @ w_y.mean(dim=1).unsqueeze(-1)).squeeze(-1).log_softmax(dim=-1)
    log_b = (w_y @ w_x.mean(dim=1).unsqueeze(-1)).squeeze(-1).log_softmax(dim=-1)
    return log_a, log_b


@ATTENTIONS.register_module()
class UNITE(MapBranchMixin, BaseAttention):
    """UNITE (Zhan et al., CVPR 2021) adapted to the (sketch features, reference features) form.

    UNITE replaces CoCosNet's softmax correspondence by an optimal-transport plan between the
    conditional-input features and the exemplar features. Its defining part is that the
    transport is *unbalanced*: the marginal constraints are relaxed to KL penalties of weight
    τ, so positions with no counterpart in the other image need not send or receive their full
    mass (feature distributions that deviate from each other). Here: conv1x1 projections of the
    encoders' features, centred and L2-normalised per position; cost = 1 − cosine; feature-
    dependent marginals a, b from two further conv1x1 projections (each position's affinity
    with the other image's mean feature, softmax over positions, as the authors' code); the
    plan is the unbalanced entropic OT plan of :func:`sinkhorn_log` met by ``num_iters``
    unrolled log-domain iterations (the gradient flows through them to the projections). The
    plan's rows, normalised, warp the raw reference features; a learned confidence map
    κ = sigmoid(conv3x3([sketch, warped])) blends warped and sketch features (where the
    reference has no good match the sketch conditions itself); the blend conditions one SPADE
    modulation of the sketch features (standing in for UNITE's normalisation), added to the
    sketch features (shortcut). No extra losses. Computed in float32 with autocast off.

    Paper and authors' code differ: the paper's transport is unbalanced, but the published
    code (``models/networks/correspondence.py`` of fnzhan/UNITE) calls geomloss's
    ``SamplesLoss('sinkhorn', p=1, blur=0.025)`` without ``reach``, which is *balanced*
    entropic OT. ``transport='unbalanced'`` (default, used by the paper configs) follows the
    paper; ``transport='balanced'`` (τ = ∞) reproduces the code's balanced plan. The
    authors' code also anneals ε (geomloss's ε-scaling) and reads the potentials of a
    Euclidean cost back with the 1 − cosine cost; neither is reproduced. τ = 1 is this
    project's choice (the paper gives no value usable at this cost scale): with cost in
    [0, 2] and ε = 0.05 the scaling exponent is κ = τ / (τ + ε) ≈ 0.95.

    ``return_attention=True`` returns the row-normalised plan W, (B, N, N'), rows sum to 1.

    Gradient-cosine branches (``capture_branches``): ``x_skip`` (shortcut), ``x_norm`` (the
    modulated path), ``x_corr`` (transport and marginals, sketch side), ``x_conf`` (confidence
    and blend), ``y_corr`` (transport and marginals, reference side), ``y_v`` (the warped
    values).

    Args:
        channels: C of both feature maps.
        proj_channels: output channels of the conv1x1 projections (None: C).
        epsilon: entropic regularisation ε of the transport (cost in [0, 2]).
        num_iters: Sinkhorn iterations.
        transport: ``'unbalanced'`` (KL-relaxed marginals, UNITE's paper) or ``'balanced'``
            (exact marginals, UNITE's published code).
        tau: marginal relaxation τ of the unbalanced transport (ignored when balanced).
        hidden_channels: width of the modulation's shared conv (128 as in SPADE).
        norm: ``'batch'`` or ``'instance'`` parameter-free normalisation of the sketch features.

    Raises:
        ValueError: a non-positive ``epsilon`` or ``tau``, ``num_iters`` < 1, or an unknown
            ``transport``.
    """

    gradient_branches = ('x_skip', 'x_norm', 'x_conf', 'x_corr', 'y_corr', 'y_v')

    def __init__(self, channels: int, proj_channels: Optional[int] = None,
                 epsilon: float = 0.05, num_iters: int = 10, transport: str = 'unbalanced',
                 tau: float = 1.0, hidden_channels: int = 128, norm: str = 'batch'):
        super().__init__(channels)
        check_number('epsilon', epsilon, 0, exclusive_minimum=True, owner='UNITE')
        check_number('num_iters', num_iters, 1, integer=True, owner='UNITE')
        check_choice('transport', transport, TRANSPORTS, 'UNITE')
        if transport == 'unbalanced':
            # τ = ∞ is the balanced transport: transport='balanced' says so
            check_number('tau', tau, 0, exclusive_minimum=True, owner='UNITE')
        proj_channels = proj_channels or channels
        self.epsilon = epsilon
        self.num_iters = num_iters
        self.transport = transport
        self.tau = tau
        self.proj_x = nn.Conv2d(channels, proj_channels, 1)
        self.proj_y = nn.Conv2d(channels, proj_channels, 1)
        self.weight_x = nn.Conv2d(channels, proj_channels, 1)
        self.weight_y = nn.Conv2d(channels, proj_channels, 1)
        self.confidence = nn.Conv2d(2 * channels, 1, 3, padding=1)
        self.modulation = SPADEModulation(channels, channels, hidden_channels, norm)

    @property
    def relaxation(self) -> float:
        """τ of :func:`sinkhorn_log`: ``tau`` when unbalanced, ``math.inf`` when balanced."""
        return self.tau if self.transport == 'unbalanced' else math.inf

    def log_transport_plan(self, sketch_feat: torch.Tensor, ref_feat: torch.Tensor,
                           num_iters: Optional[int] = None
                           ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The log-domain plan and log marginals, float32 (see :meth:`transport_plan`)."""
        num_iters = self.num_iters if num_iters is None else num_iters
        with torch.autocast(device_type=sketch_feat.device.type, enabled=False):
            x, y = sketch_feat.float(), ref_feat.float()
            f_x = centred_unit_tokens(self.proj_x(x))  # (B, N, Cp)
            f_y = centred_unit_tokens(self.proj_y(y))  # (B, N', Cp)
            log_a, log_b = _log_marginals(centred_unit_tokens(self.weight_x(x)),
                                          centred_unit_tokens(self.weight_y(y)))
            cost = 1 - torch.bmm(f_x, f_y.transpose(1, 2))  # (B, N, N')
            log_plan = sinkhorn_log(cost, log_a, log_b, self.epsilon, num_iters,
                                    self.relaxation)
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
            ``(plan, a, b)``: float32 (B, N, N') plan, (B, N) and (B, N') marginals (each
            sums to 1). Balanced: ``plan.sum(-2) == b`` exactly and ``plan.sum(-1) → a`` as the
            iterations converge. Unbalanced: the plan's marginals deviate from a and b as the
            KL penalties allow (optimality condition in :func:`sinkhorn_log`).
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
