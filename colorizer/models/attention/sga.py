"""Stop-Gradient Attention (Li et al., ECCV 2022, §3.4 and Algorithm 1): the layer and the block.

One SGA layer, on tokens X (B, N, C) and Y (B, N', C)::

    Z = BN(M · σ(W_y Y) + σ(W_x X)) + X        σ = LeakyReLU(0.2), BN over channels

with SGA's map M = Â = colnorm(softmax(X Yᵀ)) under stop-gradient (:class:`SGAMap`, the
computations in :mod:`.sga_kernels`). The batch norm and the outer shortcut are not in
Algorithm 1; they are in the authors' code (``Gconv`` and ``GNN.forward``) and in the text ("we
also adopt batch normalization layer and shortcut connections"). The block is cross-SGA
(X = sketch, Y = reference) then self-SGA (X = Y = the cross output).

The map is a strategy the layer holds (:class:`~.cross_map.CrossMap`): the controls of a
correspondence study (:class:`~.uniform.UniformAttention`, :class:`~.oracle.OracleAttention`)
and :class:`~.line_art_sga.LineArtSGA` are this block with another cross map, the same weights
and the same parameter names.
"""
from typing import Callable, Optional, Union

import torch
import torch.nn.functional as F
from torch import nn

from colorizer.invalid_argument import check_choice, check_number
from colorizer.registry import ATTENTIONS, CROSS_MAPS
from .base import BaseAttention, to_map, to_tokens
from .cross_map import CrossMap
from .sga_kernels import sga_aggregate, sga_attention_map


@CROSS_MAPS.register_module()
class SGAMap(CrossMap):
    """SGA's map: ``Â = colnorm(softmax(X Yᵀ))`` under stop-gradient (paper §3.4, Algorithm 1).

    Args:
        norm: ``'double'`` (softmax over keys, then L1 over queries: Â) or ``'softmax'`` (Ã, the
            "w/o double-norm" ablation).
        stop_grad: compute the map without gradient (paper). False is the "w/o stop-gradient"
            ablation (Table 3): :attr:`passes_gradient` is then True.
        implementation: ``'chunked'`` (O(N · chunk_size) memory, fused attention kernel) or
            ``'naive'`` (Algorithm 1 verbatim), see :func:`~.sga_kernels.sga_aggregate`.
        chunk_size: query rows per chunk of the column-sum pass.

    Raises:
        ValueError: an unknown ``norm`` or ``implementation``, or ``chunk_size < 1``.
    """

    def __init__(self, norm: str = 'double', stop_grad: bool = True,
                 implementation: str = 'chunked', chunk_size: int = 1024):
        super().__init__()
        check_choice('norm', norm, ('double', 'softmax'), 'SGA')
        check_choice('implementation', implementation, ('chunked', 'naive'), 'SGA')
        check_number('chunk_size', chunk_size, 1, integer=True, owner='SGA')
        self.norm_type = norm
        self.stop_grad = stop_grad
        self.passes_gradient = not stop_grad
        self.implementation = implementation
        self.chunk_size = chunk_size

    def attention_map(self, x: torch.Tensor, y: torch.Tensor, context: dict) -> torch.Tensor:
        """(B, N, N') Â (or Ã), in at least float32."""
        dtype = torch.promote_types(x.dtype, torch.float32)
        return sga_attention_map(x.to(dtype), y.to(dtype), self.norm_type)

    def aggregate(self, x: torch.Tensor, y: torch.Tensor, value: torch.Tensor,
                  context: dict) -> torch.Tensor:
        """Â · value without the N x N' map (``'chunked'``), see ``sga_aggregate``."""
        return sga_aggregate(x, y, value, self.norm_type, self.stop_grad, self.implementation,
                             self.chunk_size)

    def extra_repr(self) -> str:
        return (f'norm={self.norm_type!r}, stop_grad={self.stop_grad}, '
                f'implementation={self.implementation!r}, chunk_size={self.chunk_size}')


def _no_tap(name: str, tokens: torch.Tensor) -> torch.Tensor:
    return tokens


class SGALayer(nn.Module):
    """One SGA operation (cross or self): ``Z = BN(M σ(W_y Y) + σ(W_x X)) + X``.

    Args:
        channels: C.
        cross_map: the strategy deciding M (default: SGA's map, :class:`SGAMap`).
        negative_slope: slope of the LeakyReLU σ.
    """

    def __init__(self, channels: int, cross_map: Optional[CrossMap] = None,
                 negative_slope: float = 0.2):
        super().__init__()
        self.negative_slope = negative_slope
        self.proj_x = nn.Linear(channels, channels)  # W_x, on the node itself
        self.proj_y = nn.Linear(channels, channels)  # W_y, on the messages
        self.norm = nn.BatchNorm1d(channels)
        self.cross_map = cross_map if cross_map is not None else SGAMap()

    def forward(self, x: torch.Tensor, y: torch.Tensor,
                tap: Callable[[str, torch.Tensor], torch.Tensor] = _no_tap,
                context: Optional[dict] = None) -> torch.Tensor:
        """Apply the layer.

        Args:
            x: (B, N, C) tokens.
            y: (B, N', C) tokens.
            tap: gives each branch its own tensor handle (see ``BaseAttention._branch``).
            context: the entries of the map's ``context_keys``.

        Returns:
            (B, N, C) tokens.
        """
        x_skip, x_proj, y_proj = tap('x_skip', x), tap('x_proj', x), tap('y_proj', y)
        if self.cross_map.passes_gradient:
            x_att, y_att = tap('x_att', x), tap('y_att', y)
        else:  # stop-gradient: the map's inputs get no gradient, no branch to record
            x_att, y_att = x.detach(), y.detach()
        msg = F.leaky_relu(self.proj_y(y_proj), self.negative_slope)  # (B, N', C)
        src = F.leaky_relu(self.proj_x(x_proj), self.negative_slope)  # (B, N, C)
        agg = self.cross_map.aggregate(x_att, y_att, msg, context or {})  # (B, N, C)
        # BatchNorm1d normalises dim 1: channels
        return self.norm((agg + src).transpose(1, 2)).transpose(1, 2) + x_skip

    def attention_map(self, x: torch.Tensor, y: torch.Tensor,
                      context: Optional[dict] = None) -> torch.Tensor:
        """The (B, N, N') map this layer applies to (x, y), without gradient, >= float32."""
        with torch.no_grad():
            attn = self.cross_map.attention_map(x.detach(), y.detach(), context or {})
            return attn.to(torch.promote_types(attn.dtype, torch.float32))


@ATTENTIONS.register_module()
class SGA(BaseAttention):
    """SGA block: cross-SGA (sketch attends to reference) then self-SGA.

    Gradient-cosine branches of the cross step (when ``capture_branches`` is True): ``x_skip``
    (outer shortcut), ``x_proj`` (W_x), ``y_proj`` (W_y, the values) and, when the cross map
    passes gradient (SGA without stop-gradient), ``x_att`` / ``y_att`` (the map's inputs, paper
    Fig. 10).

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
        cross_map: the cross step's map strategy, a ``CROSS_MAPS`` config or object (default:
            SGA's map with the arguments above). The self-SGA layer always uses SGA's map.
            The block's :attr:`context_keys` are the cross map's.
    """

    gradient_branches = ('x_skip', 'x_proj', 'x_att', 'y_proj', 'y_att')
    attention_branches = ('x_att', 'y_att')
    gradient_labels = {
        'x_kept~x_total': 'cos(g_X, ḡ_X)  [g_X = g_skip + g_Wx]',
        'x_kept~x_att': 'cos(g_X, ḡ_X − g_X)',
        'y_proj~y_total': 'cos(g_Y, ḡ_Y)  [g_Y = g_Wy]',
        'y_kept~y_att': 'cos(g_Y, ḡ_Y − g_Y)',
        'y_kept~y_total': 'cos(g_Y, ḡ_Y)  [g_Y = g_Wy]',
        'x_skip~x_total': 'cos(g_skip, ḡ_X)',
        'x_proj~x_total': 'cos(g_Wx, ḡ_X)',
        'x_att~x_total': 'cos(g_att, ḡ_X)',
        'y_att~y_total': 'cos(g_att, ḡ_Y)',
    }

    def __init__(self, channels: int, stop_grad: bool = True, norm: str = 'double',
                 self_attention: bool = True, implementation: str = 'chunked',
                 chunk_size: int = 1024, negative_slope: float = 0.2,
                 cross_map: Union[None, dict, CrossMap] = None):
        super().__init__(channels)
        map_args = dict(norm=norm, stop_grad=stop_grad, implementation=implementation,
                        chunk_size=chunk_size)
        self_map = SGAMap(**map_args)  # validates the arguments
        if cross_map is None:
            cross_map = SGAMap(**map_args)
        elif isinstance(cross_map, dict):
            cross_map = CROSS_MAPS.build(cross_map)
        if not isinstance(cross_map, CrossMap):
            raise TypeError(f'cross_map must be a CROSS_MAPS config or a CrossMap, got '
                            f'{type(cross_map).__name__}')
        self.stop_grad = not cross_map.passes_gradient
        self.norm_type = norm
        self.self_attention = self_attention
        self.implementation = implementation
        self.context_keys = tuple(cross_map.context_keys)
        self.cross = SGALayer(channels, cross_map, negative_slope)
        self.self_sga: Optional[SGALayer] = (
            SGALayer(channels, self_map, negative_slope) if self_attention else None)

    def stop_gradient_switches(self) -> dict:
        """``{'stop_grad': bool}``: whether the cross map is a constant for autograd."""
        return dict(stop_grad=self.stop_grad)

    def forward(self, sketch_feat: torch.Tensor, ref_feat: torch.Tensor,
                return_attention: bool = False, context: Optional[dict] = None):
        """Fuse sketch and reference features.

        Args:
            sketch_feat: (B, C, H, W).
            ref_feat: (B, C, H', W').
            return_attention: also return the cross map (B, H*W, H'*W'), materialised.
            context: the entries of :attr:`context_keys` (those of the cross map).

        Returns:
            (B, C, H, W), or ``(fused, attention)``.
        """
        h, w = sketch_feat.shape[-2:]
        x, y = to_tokens(sketch_feat), to_tokens(ref_feat)  # (B, N, C), (B, N', C)
        self._reset_branches()
        z = self.cross(x, y, tap=self._branch, context=context)  # (B, N, C)
        if self.self_sga is not None:
            z = self.self_sga(z, z)  # (B, N, C)
        fused = to_map(z, h, w)  # (B, C, H, W)
        if return_attention:
            return fused, self.cross.attention_map(x, y, context)
        return fused
