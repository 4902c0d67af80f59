"""The SGA block with its cross map taken from somewhere else than softmax(X Yᵀ).

Controls and variants of a correspondence study differ from SGA in one thing only: which map
the cross step applies. Everything else (W_x, W_y, LeakyReLU, batch norm, the outer shortcut,
the self-SGA layer, the parameter names) is SGA's (:class:`~.sga.SGA`), so a difference in
results is the map's doing.
"""
from abc import abstractmethod
from typing import Optional

import torch
import torch.nn.functional as F

from .base import to_map, to_tokens
from .sga import SGA, SGALayer


class GivenMapSGA(SGA):
    """SGA block whose cross step applies :meth:`cross_map` (always without gradient).

    Cross step: ``Z = BN(M · σ(W_y Y) + σ(W_x X)) + X`` with M from :meth:`cross_map`, then
    self-SGA on Z as in SGA. Subclasses implement :meth:`cross_map`, and may override
    :meth:`aggregate` to compute ``M · V`` without materialising M.

    Args:
        channels: C of both feature maps.
        self_attention: add SGA's self-SGA layer after the cross step.
        **kwargs: further :class:`~.sga.SGA` arguments (``norm``, ``implementation``,
            ``chunk_size``, ``negative_slope``) for the self-SGA layer.
    """

    def __init__(self, channels: int, self_attention: bool = True, **kwargs):
        # the map is given: stop-gradient by construction
        super().__init__(channels, stop_grad=True, self_attention=self_attention, **kwargs)

    @abstractmethod
    def cross_map(self, x: torch.Tensor, y: torch.Tensor,
                  context: dict) -> torch.Tensor:
        """The (B, N, N') map the cross step applies.

        Args:
            x: (B, N, C) sketch tokens.
            y: (B, N', C) reference tokens.
            context: the entries of :attr:`context_keys` (see ``BaseAttention``).
        """

    def aggregate(self, x: torch.Tensor, y: torch.Tensor, value: torch.Tensor,
                  context: dict) -> torch.Tensor:
        """``M · value``: (B, N', C) -> (B, N, C); the default materialises M."""
        with torch.no_grad():
            attn = self.cross_map(x, y, context).to(value.dtype)
        return torch.bmm(attn, value)

    def _cross(self, layer: SGALayer, x: torch.Tensor, y: torch.Tensor,
               context: dict) -> torch.Tensor:
        x_skip, x_proj, y_proj = (self._branch('x_skip', x), self._branch('x_proj', x),
                                  self._branch('y_proj', y))
        msg = F.leaky_relu(layer.proj_y(y_proj), layer.negative_slope)  # (B, N', C)
        src = F.leaky_relu(layer.proj_x(x_proj), layer.negative_slope)  # (B, N, C)
        agg = self.aggregate(x.detach(), y.detach(), msg, context)  # (B, N, C)
        return layer.norm((agg + src).transpose(1, 2)).transpose(1, 2) + x_skip

    def forward(self, sketch_feat: torch.Tensor, ref_feat: torch.Tensor,
                return_attention: bool = False, context: Optional[dict] = None):
        """Fuse sketch and reference features.

        Args:
            sketch_feat: (B, C, H, W).
            ref_feat: (B, C, H', W').
            return_attention: also return the cross map M (B, H*W, H'*W').
            context: the entries of :attr:`context_keys`.

        Returns:
            (B, C, H, W), or ``(fused, attention)``.
        """
        context = {} if context is None else context
        h, w = sketch_feat.shape[-2:]
        x, y = to_tokens(sketch_feat), to_tokens(ref_feat)  # (B, N, C), (B, N', C)
        self._reset_branches()
        z = self._cross(self.cross, x, y, context)  # (B, N, C)
        if self.self_sga is not None:
            z = self.self_sga(z, z)
        fused = to_map(z, h, w)
        if return_attention:
            with torch.no_grad():
                return fused, self.cross_map(x, y, context).float()
        return fused
