"""A stop-gradient map that compares like with like (beyond the paper).

SGA's map is softmax(X Yᵀ) between the *sketch* encoder's tokens X and the *reference* encoder's
tokens Y. The two encoders are trained by the losses but the map passes no gradient to either
of them, so nothing makes X and Y comparable: a sketch token has no reason to be close to the
reference token of the same region. This variant keeps the stop-gradient and SGA's double
normalisation but computes the map between X and X_r, the same sketch encoder's tokens of the
reference's own line art (XDoG of the reference, drawn inside the generator). X and X_r come
from one encoder applied to two drawings, so a region's tokens look alike in both; the values
stay σ(W_y Y), the reference's colour features.
"""
import torch

from colorizer.registry import ATTENTIONS
from .base import to_tokens
from .given_map import GivenMapSGA
from .sga import sga_aggregate, sga_attention_map


@ATTENTIONS.register_module()
class LineArtSGA(GivenMapSGA):
    """SGA whose cross map is Â(X, X_r): sketch tokens against the reference's line-art tokens.

    ``Â = colnorm(softmax(X X_rᵀ))`` (or the row softmax with ``norm='softmax'``), under
    stop-gradient, applied to the values ``σ(W_y Y)`` of the reference encoder; the rest is the
    SGA block. X_r is the generator's ``'reference_line_feat'`` context entry.

    Args:
        channels: C of both feature maps.
        norm: ``'double'`` (SGA's) or ``'softmax'``.
        self_attention: keep SGA's self-SGA layer after the cross step.
        **kwargs: further :class:`~.given_map.GivenMapSGA` arguments (``implementation``,
            ``chunk_size``: the cross step uses SGA's chunked aggregation, O(N · chunk) memory).

    Raises:
        ValueError: at forward time, when the generator gave no ``reference_line_feat``.
    """

    context_keys = ('reference_line_feat', )

    def __init__(self, channels: int, norm: str = 'double', self_attention: bool = True,
                 **kwargs):
        super().__init__(channels, norm=norm, self_attention=self_attention, **kwargs)

    def _line_tokens(self, y: torch.Tensor, context: dict) -> torch.Tensor:
        feat = context.get('reference_line_feat')
        if feat is None:
            raise ValueError('LineArtSGA needs the context entry reference_line_feat (the sketch '
                             "encoder's features of the reference's line art), which "
                             'SCFTGenerator provides; call it through a generator that does')
        tokens = to_tokens(feat)  # (B, N', C)
        if tokens.shape != y.shape:
            raise ValueError(f'reference_line_feat tokens {tuple(tokens.shape)} do not match the '
                             f'reference tokens {tuple(y.shape)}')
        return tokens.to(y.dtype)

    def cross_map(self, x: torch.Tensor, y: torch.Tensor, context: dict) -> torch.Tensor:
        """(B, N, N') map Â(X, X_r), materialised."""
        dtype = torch.promote_types(x.dtype, torch.float32)
        with torch.no_grad():
            line = self._line_tokens(y, context)
            return sga_attention_map(x.to(dtype), line.to(dtype), self.norm_type)

    def aggregate(self, x: torch.Tensor, y: torch.Tensor, value: torch.Tensor,
                  context: dict) -> torch.Tensor:
        """Â(X, X_r) · value with SGA's memory-bounded implementation."""
        return sga_aggregate(x, self._line_tokens(y, context), value, self.norm_type, True,
                             self.implementation, self.cross.chunk_size)
