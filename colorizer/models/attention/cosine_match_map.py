"""A stop-gradient cross map over cosine similarities that a correspondence loss trains (beyond
the paper): one more :class:`~.cross_map.CrossMap` strategy of the SGA block.

SGA's map softmax(X Yᵀ) compares raw dot products of two encoders' tokens: at initialisation the
token norms decide which reference token wins, and under the stop-gradient nothing trains the
encoders to make the dot product find the matching region (``docs/results.md``). This map keeps
the stop-gradient and the double normalisation and changes two things:

- the similarity is the cosine ``<x̂_i, ŷ_j>`` divided by a temperature τ, so a token's norm
  cannot dominate its row;
- the encoders are trained to make that similarity find the right region by
  :class:`~colorizer.models.losses.correspondence_loss.RegionInfoNCELoss`, a loss on the
  encoder tokens *beside* the map (``ReferenceColorizer(correspondence_loss=...)``): the map
  itself passes no gradient (``passes_gradient = False``), as SGA's.

``M = colnorm(softmax(X̂ Ŷᵀ / τ))`` (``norm='double'``) or ``softmax(X̂ Ŷᵀ / τ)``.

Use: ``attention=dict(type='SGA', cross_map=dict(type='CosineMatchMap', temperature=0.1))``,
or its short name :class:`CosineMatchSGA` (same module, same parameter names).
"""
import torch
import torch.nn.functional as F

from colorizer.invalid_argument import check_choice, check_number
from colorizer.registry import ATTENTIONS, CROSS_MAPS
from .cross_map import CrossMap
from .sga import SGA

__all__ = ['cosine_match_map', 'CosineMatchMap', 'CosineMatchSGA']

NORMS = ('double', 'softmax')


def cosine_match_map(x: torch.Tensor, y: torch.Tensor, temperature: float = 0.1,
                     norm: str = 'double') -> torch.Tensor:
    """The cosine-similarity map.

    Args:
        x: (B, N, C) sketch tokens.
        y: (B, N', C) reference tokens.
        temperature: τ > 0; smaller is sharper.
        norm: ``'double'`` (row softmax, then every column L1-normalised, SGA's Â) or
            ``'softmax'`` (rows sum to 1).

    Returns:
        (B, N, N') map in at least float32.
    """
    dtype = torch.promote_types(x.dtype, torch.float32)
    q = F.normalize(x.to(dtype), dim=-1)
    k = F.normalize(y.to(dtype), dim=-1)
    attn = (torch.bmm(q, k.transpose(1, 2)) / temperature).softmax(dim=-1)
    if norm == 'double':
        attn = F.normalize(attn, p=1, dim=-2)
    return attn


@CROSS_MAPS.register_module()
class CosineMatchMap(CrossMap):
    """:func:`cosine_match_map` as a cross-map strategy, under stop-gradient.

    Args:
        temperature: τ of the cosine similarities (the correspondence loss should use the same).
        norm: ``'double'`` (SGA's double normalisation) or ``'softmax'``.

    Raises:
        ValueError: a non-positive temperature or an unknown norm.
    """

    passes_gradient = False

    def __init__(self, temperature: float = 0.1, norm: str = 'double'):
        super().__init__()
        check_number('temperature', temperature, 0, exclusive_minimum=True,
                     owner='CosineMatchMap')
        check_choice('norm', norm, NORMS, 'CosineMatchMap')
        self.temperature = float(temperature)
        self.norm_type = norm

    def attention_map(self, x: torch.Tensor, y: torch.Tensor, context: dict) -> torch.Tensor:
        """(B, N, N') cosine map (x, y arrive detached: stop-gradient)."""
        return cosine_match_map(x, y, self.temperature, self.norm_type)

    def extra_repr(self) -> str:
        return f'temperature={self.temperature}, norm={self.norm_type!r}'


@ATTENTIONS.register_module()
class CosineMatchSGA(SGA):
    """SGA block with :class:`CosineMatchMap` as its cross map (the self-SGA layer keeps SGA's).

    Trained with ``ReferenceColorizer(correspondence_loss=dict(type='RegionInfoNCELoss'))``,
    the encoders learn tokens whose cosine similarity finds the matching region; without the
    loss it is the ablation "cosine map, no correspondence signal". Same as
    ``dict(type='SGA', cross_map=dict(type='CosineMatchMap', temperature=τ, norm=norm))``.

    Args:
        channels: C of both feature maps.
        temperature: τ of the cosine similarities.
        norm: ``'double'`` (SGA's) or ``'softmax'``, for the cross map and the self-SGA layer.
        self_attention: keep SGA's self-SGA layer after the cross step.
        **kwargs: further :class:`~.sga.SGA` arguments for the self-SGA layer.

    Raises:
        ValueError: a non-positive temperature or an unknown norm.
    """

    def __init__(self, channels: int, temperature: float = 0.1, norm: str = 'double',
                 self_attention: bool = True, **kwargs):
        super().__init__(channels, stop_grad=True, norm=norm, self_attention=self_attention,
                         cross_map=CosineMatchMap(temperature, norm), **kwargs)

    @property
    def temperature(self) -> float:
        """τ of the cross map."""
        return self.cross.cross_map.temperature
