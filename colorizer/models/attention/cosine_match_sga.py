"""The SGA block with :class:`~.cosine_match_map.CosineMatchMap` as its cross map.

Where the SGA block takes a ``cross_map`` strategy this class is
``SGA(channels, cross_map=CosineMatchMap(temperature, norm))``; here it holds the strategy and
applies it through :class:`~.given_map.GivenMapSGA` (same weights and parameter names as SGA,
the map has none, so checkpoints load in either form).
"""
import torch

from colorizer.registry import ATTENTIONS
from .cosine_match_map import CosineMatchMap
from .given_map import GivenMapSGA

__all__ = ['CosineMatchSGA']


@ATTENTIONS.register_module()
class CosineMatchSGA(GivenMapSGA):
    """SGA block whose cross map is the stop-gradient cosine map :class:`CosineMatchMap`.

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
        match = CosineMatchMap(temperature, norm)  # validates the arguments
        super().__init__(channels, norm=norm, self_attention=self_attention, **kwargs)
        self.match = match

    @property
    def temperature(self) -> float:
        """τ of the cross map."""
        return self.match.temperature

    def cross_map(self, x: torch.Tensor, y: torch.Tensor, context: dict) -> torch.Tensor:
        """(B, N, N') cosine map, without gradient."""
        with torch.no_grad():
            return self.match.attention_map(x.detach(), y.detach(), context)
