"""The "no correspondence" control: the SGA block with a uniform cross map."""
import torch

from colorizer.registry import ATTENTIONS, CROSS_MAPS
from .cross_map import CrossMap
from .sga import SGA


@CROSS_MAPS.register_module()
class UniformMap(CrossMap):
    """M = 1 / N': every sketch token receives the mean of the reference's messages."""

    def attention_map(self, x: torch.Tensor, y: torch.Tensor, context: dict) -> torch.Tensor:
        """(B, N, N') filled with 1 / N'."""
        return x.new_full((x.shape[0], x.shape[1], y.shape[1]), 1.0 / y.shape[1])

    def aggregate(self, x: torch.Tensor, y: torch.Tensor, value: torch.Tensor,
                  context: dict) -> torch.Tensor:
        """Every row is the mean message: (B, N', C) -> (B, N, C), without the N x N' map."""
        return value.mean(dim=1, keepdim=True).expand(-1, x.shape[1], -1)


@ATTENTIONS.register_module()
class UniformAttention(SGA):
    """SGA with the uniform cross map :class:`UniformMap` (Â = 1 / N').

    The lower end of a correspondence study: it carries the reference's global colour content
    but no information about *where* anything is. A method whose map does no better than this
    has not found correspondences. With N = N' the uniform map is also doubly normalised
    (rows and columns sum to 1), like SGA's Â. Same as
    ``dict(type='SGA', cross_map=dict(type='UniformMap'))``.

    Args:
        channels: C of both feature maps.
        self_attention: keep SGA's self-SGA layer after the cross step.
        **kwargs: further :class:`~.sga.SGA` arguments for the self-SGA layer (``norm``,
            ``implementation``, ``chunk_size``, ``negative_slope``).
    """

    def __init__(self, channels: int, self_attention: bool = True, **kwargs):
        super().__init__(channels, stop_grad=True, self_attention=self_attention,
                         cross_map=UniformMap(), **kwargs)
