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

from colorizer.invalid_argument import check_choice, check_number
from colorizer.registry import ATTENTIONS, CROSS_MAPS
from .base import to_tokens
from .cross_map import CrossMap
from .sga import SGA
from .sga_kernels import sga_aggregate, sga_attention_map


@CROSS_MAPS.register_module()
class LineArtMap(CrossMap):
    """``Â(X, X_r) = colnorm(softmax(X X_rᵀ))`` under stop-gradient, X_r the reference's
    line-art tokens (the ``'reference_line_feat'`` context entry).

    Args:
        norm: ``'double'`` (SGA's) or ``'softmax'``.
        implementation: ``'chunked'`` or ``'naive'``, see ``sga_aggregate``.
        chunk_size: query rows per chunk (the aggregation holds O(N · chunk_size)).

    Raises:
        ValueError: at forward time, when the generator gave no ``reference_line_feat`` or its
            tokens do not match the reference tokens.
    """

    context_keys = ('reference_line_feat', )

    def __init__(self, norm: str = 'double', implementation: str = 'chunked',
                 chunk_size: int = 1024):
        super().__init__()
        check_choice('norm', norm, ('double', 'softmax'), 'LineArtSGA')
        check_choice('implementation', implementation, ('chunked', 'naive'), 'LineArtSGA')
        check_number('chunk_size', chunk_size, 1, integer=True, owner='LineArtSGA')
        self.norm_type = norm
        self.implementation = implementation
        self.chunk_size = chunk_size

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
        return tokens.to(y.dtype).detach()

    def attention_map(self, x: torch.Tensor, y: torch.Tensor, context: dict) -> torch.Tensor:
        """(B, N, N') map Â(X, X_r), materialised, in at least float32."""
        dtype = torch.promote_types(x.dtype, torch.float32)
        line = self._line_tokens(y, context)
        return sga_attention_map(x.to(dtype), line.to(dtype), self.norm_type)

    def aggregate(self, x: torch.Tensor, y: torch.Tensor, value: torch.Tensor,
                  context: dict) -> torch.Tensor:
        """Â(X, X_r) · value with SGA's memory-bounded implementation."""
        return sga_aggregate(x, self._line_tokens(y, context), value, self.norm_type, True,
                             self.implementation, self.chunk_size)


@ATTENTIONS.register_module()
class LineArtSGA(SGA):
    """SGA whose cross map is :class:`LineArtMap`: sketch tokens against the reference's
    line-art tokens.

    ``Â = colnorm(softmax(X X_rᵀ))`` (or the row softmax with ``norm='softmax'``), under
    stop-gradient, applied to the values ``σ(W_y Y)`` of the reference encoder; the rest is the
    SGA block. X_r is the generator's ``'reference_line_feat'`` context entry.

    Args:
        channels: C of both feature maps.
        norm: ``'double'`` (SGA's) or ``'softmax'``, for both layers.
        self_attention: keep SGA's self-SGA layer after the cross step.
        implementation: ``'chunked'`` (O(N · chunk) memory) or ``'naive'``, for both layers.
        chunk_size: query rows per chunk, for both layers.
        **kwargs: further :class:`~.sga.SGA` arguments (``negative_slope``).

    Raises:
        ValueError: at forward time, when the generator gave no ``reference_line_feat``.
    """

    def __init__(self, channels: int, norm: str = 'double', self_attention: bool = True,
                 implementation: str = 'chunked', chunk_size: int = 1024, **kwargs):
        super().__init__(channels, stop_grad=True, norm=norm, self_attention=self_attention,
                         implementation=implementation, chunk_size=chunk_size,
                         cross_map=LineArtMap(norm, implementation, chunk_size), **kwargs)
