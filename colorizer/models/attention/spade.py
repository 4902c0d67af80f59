"""SPADE as a drop-in fusion module (Park, Liu, Wang, Zhu, "Semantic Image Synthesis with
Spatially-Adaptive Normalization", CVPR 2019), a baseline of the paper's Table 2.

    x̄ = Norm(x)                                   BatchNorm2d / InstanceNorm2d, affine=False
    h = ReLU(conv3x3(c))                           c -> hidden (128)
    SPADE(x, c) = (1 + γ(h)) · x̄ + β(h)            γ, β: conv3x3 hidden -> C
    fused = x + SPADE(x, c)                        (shortcut to the sketch features)

:class:`SPADEModulation` is shared with :mod:`.cocosnet` and :mod:`.unite`, which inject their
warped reference features with it.
"""
import torch
import torch.nn.functional as F
from torch import nn

from colorizer.invalid_argument import InvalidArgumentError, check_choice
from colorizer.registry import ATTENTIONS
from .base import BaseAttention, to_map, to_tokens


class MapBranchMixin:
    """``BaseAttention._branch`` for (B, C, H, W) maps (the handle is taken on the (B, N, C)
    tokens the interface documents).

    The token round trip is views only (no copy for contiguous or channels_last maps) and, like
    ``_branch``, is taken whether capturing or not, so the autograd graph does not depend on
    :attr:`capture_branches`.
    """

    def _tap(self, name: str, feat: torch.Tensor) -> torch.Tensor:
        return to_map(self._branch(name, to_tokens(feat)), *feat.shape[-2:])


class SPADEModulation(nn.Module):
    """``(1 + γ(c)) · Norm(x) + β(c)``, γ and β predicted per position from the condition c.

    Args:
        channels: C of x (and of the output).
        cond_channels: channels of the condition c (same spatial size as x).
        hidden_channels: width of the shared conv3x3 + ReLU (128 in SPADE).
        norm: ``'batch'`` (SPADE's choice, synchronised BN there) or ``'instance'``; no affine.
    """

    def __init__(self, channels: int, cond_channels: int, hidden_channels: int = 128,
                 norm: str = 'batch'):
        super().__init__()
        if norm == 'batch':
            self.norm = nn.BatchNorm2d(channels, affine=False)
        elif norm == 'instance':
            self.norm = nn.InstanceNorm2d(channels, affine=False)
        else:
            raise InvalidArgumentError('norm', norm, "one of ('batch', 'instance')")
        self.shared = nn.Sequential(
            nn.Conv2d(cond_channels, hidden_channels, 3, padding=1), nn.ReLU(inplace=True))
        self.to_gamma = nn.Conv2d(hidden_channels, channels, 3, padding=1)
        self.to_beta = nn.Conv2d(hidden_channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """Modulate.

        Args:
            x: (B, C, H, W) features to normalise.
            cond: (B, C_c, H, W) condition.

        Returns:
            (B, C, H, W).
        """
        h = self.shared(cond)  # (B, hidden, H, W)
        return self.norm(x) * (1 + self.to_gamma(h)) + self.to_beta(h)


def resize_matrix(src_hw, dst_hw, device=None) -> torch.Tensor:
    """The linear map of ``F.interpolate(..., mode='bilinear', align_corners=False)``.

    Args:
        src_hw: (H', W') of the input.
        dst_hw: (H, W) of the output.
        device: where to build it.

    Returns:
        float32 (H*W, H'*W') matrix R, ``to_tokens(resize(f)) = R · to_tokens(f)``; rows sum
        to 1.
    """
    n_src = src_hw[0] * src_hw[1]
    basis = torch.eye(n_src, device=device).view(n_src, 1, *src_hw)
    if tuple(src_hw) != tuple(dst_hw):
        basis = F.interpolate(basis, size=tuple(dst_hw), mode='bilinear', align_corners=False)
    return basis.flatten(1).t()  # (N, N')


@ATTENTIONS.register_module()
class SPADE(MapBranchMixin, BaseAttention):
    """SPADE (Park et al., CVPR 2019) adapted to the (sketch features, reference features) form.

    Adaptation: in SPADE the semantic layout is the condition that modulates the normalised
    activations of the generator. Here the activations are the sketch features (normalised by
    BN/IN without affine) and the condition comes from the reference features; the modulated
    features are added to the sketch features (a shortcut, as SCFT and SGA have):
    ``fused = x + (1 + γ(c)) · Norm(x) + β(c)``. Conditions:

    - ``'spatial'`` (default): the reference features resized (bilinear) to the sketch's size,
      so γ, β vary per position. This is what makes SPADE *spatially adaptive*, and it makes
      SPADE the no-correspondence counterpart of :class:`CoCosNet` (which feeds the same
      modulation the *warped* reference): the reference is assumed aligned with the sketch, which
      holds for the TPS-warped training references but not for the random references of the
      evaluation protocol. That lack of matching is what the baseline measures.
    - ``'global'``: the reference features averaged over positions and broadcast, a style code
      (closer to SPADE's multimodal use with an encoded style vector); γ, β then only vary at
      the borders (zero padding of the convs).

    ``return_attention=True`` returns the linear map by which reference tokens reach each
    position of the condition, (B, N, N'): the bilinear resampling matrix for ``'spatial'``
    (identity at equal sizes), uniform 1/N' for ``'global'``. Rows sum to 1. It is not a learned
    correspondence (SPADE has none) and ignores the convs' 5x5 receptive field.

    Gradient-cosine branches (``capture_branches``): ``x_skip`` (shortcut), ``x_norm`` (the
    modulated path), ``y_cond`` (the condition).

    Args:
        channels: C of both feature maps.
        condition: ``'spatial'`` or ``'global'``, see above.
        hidden_channels: width of the shared conv of the modulation (128 in SPADE).
        norm: ``'batch'`` or ``'instance'`` parameter-free normalisation of the sketch features.
    """

    gradient_branches = ('x_skip', 'x_norm', 'y_cond')

    def __init__(self, channels: int, condition: str = 'spatial', hidden_channels: int = 128,
                 norm: str = 'batch'):
        super().__init__(channels)
        check_choice('condition', condition, ('spatial', 'global'), type(self).__name__)
        self.condition = condition
        self.modulation = SPADEModulation(channels, channels, hidden_channels, norm)

    def forward(self, sketch_feat: torch.Tensor, ref_feat: torch.Tensor,
                return_attention: bool = False):
        """Fuse sketch and reference features.

        Args:
            sketch_feat: (B, C, H, W).
            ref_feat: (B, C, H', W').
            return_attention: also return the resampling map (B, H*W, H'*W'), see the class.

        Returns:
            (B, C, H, W), or ``(fused, attention)``.
        """
        b, _, h, w = sketch_feat.shape
        hr, wr = ref_feat.shape[-2:]
        self._reset_branches()
        x_skip, x_norm = self._tap('x_skip', sketch_feat), self._tap('x_norm', sketch_feat)
        y = self._tap('y_cond', ref_feat)
        if self.condition == 'global':
            cond = y.mean(dim=(2, 3), keepdim=True).expand(-1, -1, h, w)  # (B, C, H, W)
        elif (hr, wr) != (h, w):
            cond = F.interpolate(y, size=(h, w), mode='bilinear', align_corners=False)
        else:
            cond = y  # (B, C, H, W)
        fused = x_skip + self.modulation(x_norm, cond)  # (B, C, H, W)
        if not return_attention:
            return fused
        if self.condition == 'global':
            attn = sketch_feat.new_full((b, h * w, hr * wr), 1.0 / (hr * wr))
        else:
            attn = resize_matrix((hr, wr), (h, w), sketch_feat.device)
            attn = attn.to(sketch_feat.dtype).repeat(b, 1, 1)
        return fused, attn
