"""A stop-gradient map over cosine similarities that a correspondence loss trains (beyond the
paper).

SGA's map softmax(X Yᵀ) compares raw dot products of two encoders' tokens: at initialisation
the token norms decide which reference token wins, and under the stop-gradient nothing trains
the encoders to make the dot product find the matching region (see ``docs/results.md``). This
map keeps the stop-gradient and the double normalisation and changes two things:

- the similarity is the cosine ``<x̂_i, ŷ_j>`` divided by a temperature τ, so a token's norm
  cannot dominate its row;
- the encoders are trained to make that similarity find the right region by
  :class:`~colorizer.models.losses.correspondence_loss.RegionInfoNCELoss`, a loss on the
  encoder tokens *beside* the map (``ReferenceColorizer(correspondence_loss=...)``): the map
  itself still passes no gradient, as in SGA.

``M = colnorm(softmax(X̂ Ŷᵀ / τ))`` (``norm='double'``) or ``softmax(X̂ Ŷᵀ / τ)``.
"""
import torch
import torch.nn.functional as F

from colorizer.registry import ATTENTIONS
from .given_map import GivenMapSGA

__all__ = ['cosine_match_map', 'CosineMatchSGA']


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


@ATTENTIONS.register_module()
class CosineMatchSGA(GivenMapSGA):
    """The SGA block whose cross map is :func:`cosine_match_map`, under stop-gradient.

    Trained with ``ReferenceColorizer(correspondence_loss=dict(type='RegionInfoNCELoss'))``,
    the encoders learn tokens whose cosine similarity finds the matching region; without the
    loss it is the ablation "cosine map, no correspondence signal".

    Args:
        channels: C of both feature maps.
        temperature: τ of the cosine similarities.
        norm: ``'double'`` (SGA's) or ``'softmax'``, for the cross map and the self-SGA layer.
        self_attention: keep SGA's self-SGA layer after the cross step.
        **kwargs: further :class:`~.given_map.GivenMapSGA` arguments.

    Raises:
        ValueError: a non-positive temperature or an unknown norm.
    """

    def __init__(self, channels: int, temperature: float = 0.1, norm: str = 'double',
                 self_attention: bool = True, **kwargs):
        if temperature <= 0:
            raise ValueError(f'temperature must be positive, got {temperature}')
        super().__init__(channels, norm=norm, self_attention=self_attention, **kwargs)
        self.temperature = float(temperature)

    def cross_map(self, x: torch.Tensor, y: torch.Tensor, context: dict) -> torch.Tensor:
        """(B, N, N') cosine map, without gradient."""
        with torch.no_grad():
            return cosine_match_map(x, y, self.temperature, self.norm_type)
