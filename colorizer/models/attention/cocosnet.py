"""CoCosNet as a drop-in fusion module (Zhang, Zhang, Chen, Yuan, Wen, "Cross-domain
Correspondence Learning for Exemplar-based Image Translation", CVPR 2020), a baseline of the
paper's Table 2.

    x̂ = L2norm(P_x x − mean_c P_x x),  ŷ = L2norm(P_y y − mean_c P_y y)   P: conv1x1; per position
    M = softmax(x̂ ŷᵀ / τ, dim=-1)                  (B, N, N'), τ = 0.01, rows sum to 1
    w = M · y                                       warped reference features, (B, N, C)
    fused = x + SPADE(x, w)                         (1 + γ(w)) · BN(x) + β(w), see .spade
"""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from colorizer.invalid_argument import check_number
from colorizer.registry import ATTENTIONS
from .base import BaseAttention, to_map, to_tokens
from .spade import MapBranchMixin, SPADEModulation

# eps of the L2 normalisation: a position whose centred feature is all zero gets cosine 0
_EPS = 1e-6


def centred_unit_tokens(feat: torch.Tensor, eps: float = _EPS) -> torch.Tensor:
    """CoCosNet's feature normalisation, in float32 at least.

    Args:
        feat: (B, C, H, W).
        eps: floor of the L2 norm.

    Returns:
        (B, H*W, C) tokens, each minus its channel mean and of unit L2 norm.
    """
    t = to_tokens(feat)
    t = t.to(torch.promote_types(t.dtype, torch.float32))  # (B, N, C)
    t = t - t.mean(dim=-1, keepdim=True)
    return F.normalize(t, dim=-1, eps=eps)


def cosine_similarity_map(x_hat: torch.Tensor, y_hat: torch.Tensor) -> torch.Tensor:
    """(B, N, C), (B, N', C) unit tokens -> (B, N, N') cosine similarities in [-1, 1]."""
    return torch.bmm(x_hat, y_hat.transpose(1, 2))


@ATTENTIONS.register_module()
class CoCosNet(MapBranchMixin, BaseAttention):
    """CoCosNet (Zhang et al., CVPR 2020) adapted to the (sketch features, reference features) form.

    Adaptation: CoCosNet maps both domains to a shared space with feature-pyramid adaptors,
    builds the cosine correspondence of the centred, L2-normalised features, warps the exemplar
    *image* with ``softmax(M / τ)`` and feeds the warped image to a SPADE generator (plus a
    domain-alignment loss and others). Here the encoders' features play the adaptors' input:
    the adaptors become one conv1x1 per side (``proj_x``, ``proj_y``); the warped quantity is
    the raw reference features (the values, no projection: the first conv of the modulation
    already projects them); the SPADE generator becomes one SPADE modulation of the sketch
    features conditioned on the warped reference, added to the sketch features (shortcut). No
    extra losses: the paper's §4.2 protocol keeps its own losses for every module. The map is
    computed in float32 with autocast off (logits reach ±1/τ = ±100).

    ``return_attention=True`` returns M, (B, N, N'), rows sum to 1.

    Gradient-cosine branches (``capture_branches``): ``x_skip`` (shortcut), ``x_norm`` (the
    modulated path), ``x_corr`` (correspondence, sketch side), ``y_corr`` (correspondence,
    reference side), ``y_v`` (the warped values).

    Args:
        channels: C of both feature maps.
        proj_channels: output channels of the conv1x1 projections (None: C).
        temperature: τ of the correspondence softmax (0.01 in CoCosNet).
        hidden_channels: width of the modulation's shared conv (128 as in SPADE).
        norm: ``'batch'`` or ``'instance'`` parameter-free normalisation of the sketch features.
    """

    gradient_branches = ('x_skip', 'x_norm', 'x_corr', 'y_corr', 'y_v')

    def __init__(self, channels: int, proj_channels: Optional[int] = None,
                 temperature: float = 0.01, hidden_channels: int = 128, norm: str = 'batch'):
        super().__init__(channels)
        check_number('temperature', temperature, 0, exclusive_minimum=True, owner='CoCosNet')
        proj_channels = proj_channels or channels
        self.temperature = temperature
        self.proj_x = nn.Conv2d(channels, proj_channels, 1)
        self.proj_y = nn.Conv2d(channels, proj_channels, 1)
        self.modulation = SPADEModulation(channels, channels, hidden_channels, norm)

    def correspondence(self, sketch_feat: torch.Tensor, ref_feat: torch.Tensor) -> torch.Tensor:
        """M = softmax(cos(P_x x, P_y y) / τ) over the reference positions.

        Args:
            sketch_feat: (B, C, H, W).
            ref_feat: (B, C, H', W').

        Returns:
            float32 (B, H*W, H'*W'), rows sum to 1.
        """
        with torch.autocast(device_type=sketch_feat.device.type, enabled=False):
            x_hat = centred_unit_tokens(self.proj_x(sketch_feat.float()))  # (B, N, Cp)
            y_hat = centred_unit_tokens(self.proj_y(ref_feat.float()))  # (B, N', Cp)
            # softmax subtracts the row max: stable for |logits| <= 1/τ
            return (cosine_similarity_map(x_hat, y_hat) / self.temperature).softmax(dim=-1)

    def forward(self, sketch_feat: torch.Tensor, ref_feat: torch.Tensor,
                return_attention: bool = False):
        """Fuse sketch and reference features.

        Args:
            sketch_feat: (B, C, H, W).
            ref_feat: (B, C, H', W').
            return_attention: also return M (B, H*W, H'*W').

        Returns:
            (B, C, H, W), or ``(fused, attention)``.
        """
        h, w = sketch_feat.shape[-2:]
        self._reset_branches()
        x_skip, x_norm = self._tap('x_skip', sketch_feat), self._tap('x_norm', sketch_feat)
        attn = self.correspondence(self._tap('x_corr', sketch_feat),
                                   self._tap('y_corr', ref_feat))  # (B, N, N')
        values = to_tokens(self._tap('y_v', ref_feat))  # (B, N', C)
        warped = torch.bmm(attn, values.to(attn.dtype)).to(values.dtype)  # (B, N, C)
        fused = x_skip + self.modulation(x_norm, to_map(warped, h, w))  # (B, C, H, W)
        if return_attention:
            return fused, attn.detach()
        return fused
