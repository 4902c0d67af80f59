"""CMFT as a drop-in fusion module (Zhang, Wang, Wen, Li, Liu, "Line Art Correlation Matching
Feature Transfer Network for Automatic Animation Colorization", WACV 2021), a baseline of the
paper's Table 2.

Position-to-position correlation matching, one correspondence per feature level::

    q = x, k = y, v = y       (B, N, C), (B, N', C) tokens; optional conv1x1 W_q, W_k, W_v
    for each level l (a slice of channels; one level = all C channels):
        A_l = softmax_j(q_l,i · k_l,j)                (B, N, N'), unscaled correlation
        out_l = A_l v_l                               matched reference features, (B, N, C_l)
    fused = x + cat_l(out_l)

Memory: each map is built over chunks of ``chunk_size`` query positions, each chunk
checkpointed under autograd (the backward recomputes it), so the map memory is
O(B·chunk_size·N') at any time, forward or backward, not B·N·N'. Chunked equals unchunked to
float tolerance, for values and gradients.
"""
from typing import Optional, Sequence, Tuple, Union

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from colorizer.invalid_argument import check_choice, check_number
from colorizer.registry import ATTENTIONS
from .base import BaseAttention, to_map, to_tokens
from .spade import MapBranchMixin


def _spans(sizes: Sequence[int]):
    starts = [sum(sizes[:i]) for i in range(len(sizes))]
    return [(s, s + n) for s, n in zip(starts, sizes)]


def _cmft_chunk(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                levels: Tuple[int, ...]) -> torch.Tensor:
    # (B, n, C), (B, N', C), (B, N', C) -> (B, n, C): one softmax map per channel level
    outs = []
    for s, e in _spans(levels):
        attn = torch.bmm(q[..., s:e], k[..., s:e].transpose(1, 2)).softmax(dim=-1)  # (B, n, N')
        outs.append(torch.bmm(attn, v[..., s:e]))
    return torch.cat(outs, dim=-1)


def _chunks(n: int, chunk_size: Optional[int]):
    step = n if not chunk_size else chunk_size
    return [(s, min(s + step, n)) for s in range(0, n, step)]


def _levels(channels: int, level_channels: Optional[Sequence[int]]) -> Tuple[int, ...]:
    return (channels, ) if level_channels is None else tuple(int(c) for c in level_channels)


def encoder_level_channels(channels: int) -> Tuple[int, ...]:
    """The widths of the SCFT encoder's levels inside its C concatenated channels.

    The encoder (:mod:`colorizer.models.generators.encoder`) has two blocks of width
    ``base·2^l`` per level l < L, so C = 2·base·(2^L − 1); this finds the largest L with an
    integer base. The answer is exact for every power-of-two base width (the paper's 16, the
    demo's 4, the tests' 2): no larger L can divide such a C.

    Args:
        channels: C, the fused feature channels.

    Returns:
        The L level widths ``(2·base, 4·base, ..., 2^L·base)``, summing to C
        (``encoder_level_channels(992) == (32, 64, 128, 256, 512)``).

    Raises:
        ValueError: C is odd (no encoder of two blocks per level has it).
    """
    from colorizer.models.generators.encoder import encoder_widths  # no import cycle at load
    if channels < 2 or channels % 2:
        raise ValueError(f'{channels} channels are not those of an encoder of two blocks per '
                         f'level (C = 2·base·(2^L − 1) is even); pass level_channels explicitly')
    num_levels = max(n for n in range(1, channels.bit_length() + 1)
                     if channels % (2 * (2**n - 1)) == 0)
    widths = encoder_widths(channels // (2 * (2**num_levels - 1)), num_levels)
    return tuple(a + b for a, b in zip(widths[::2], widths[1::2]))


def cmft_aggregate(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                   chunk_size: Optional[int] = None,
                   level_channels: Optional[Sequence[int]] = None) -> torch.Tensor:
    """``out[b, i, l] = Σ_j softmax_j(q[b, i, l] · k[b, j, l]) v[b, j, l]`` per channel level l.

    Args:
        q: (B, N, C) queries (sketch tokens).
        k: (B, N', C) keys (reference tokens).
        v: (B, N', C) values (reference tokens).
        chunk_size: query positions per chunk (None or 0: all at once, no checkpointing).
        level_channels: widths of consecutive channel slices, each matched on its own (summing
            to C); None: one level of all C channels.

    Returns:
        (B, N, C).
    """
    levels = _levels(q.shape[-1], level_channels)
    track = torch.is_grad_enabled() and any(t.requires_grad for t in (q, k, v))
    spans = _chunks(q.shape[1], chunk_size)
    if len(spans) == 1:
        return _cmft_chunk(q, k, v, levels)
    outs = []
    for s, e in spans:
        if track:
            outs.append(checkpoint(_cmft_chunk, q[:, s:e], k, v, levels, use_reentrant=False))
        else:
            outs.append(_cmft_chunk(q[:, s:e], k, v, levels))
    return torch.cat(outs, dim=1)


@torch.no_grad()
def cmft_attention_map(q: torch.Tensor, k: torch.Tensor, chunk_size: Optional[int] = None,
                       level_channels: Optional[Sequence[int]] = None) -> torch.Tensor:
    """The correspondence maps, averaged over the levels, without gradient.

    Args:
        q: (B, N, C).
        k: (B, N', C).
        chunk_size: query positions per chunk.
        level_channels: as :func:`cmft_aggregate`.

    Returns:
        (B, N, N'), rows sum to 1 (one level: the map itself).
    """
    levels = _levels(q.shape[-1], level_channels)
    rows = []
    for s, e in _chunks(q.shape[1], chunk_size):
        maps = [torch.bmm(q[:, s:e, a:b], k[..., a:b].transpose(1, 2)).softmax(dim=-1)
                for a, b in _spans(levels)]
        rows.append(torch.stack(maps).mean(dim=0))  # (B, n, N')
    return torch.cat(rows, dim=1)


@ATTENTIONS.register_module()
class CMFT(MapBranchMixin, BaseAttention):
    """CMFT (Zhang et al., WACV 2021) adapted to the (sketch features, reference features) form.

    What the paper does (sources: the paper's abstract, arXiv 2004.06718; a summary of its
    method; its eq. (6) and Fig. 2 as quoted by an unofficial reimplementation,
    zhenglinpan/LCMFTN-pytorch; the full text could not be read from this machine): colouring
    an animation frame is an image analogy. Given the target line art S_n, a reference frame's
    line art S_p and its colour image C_p, a shared line-art encoder gives features of S_n and
    S_p, a colour encoder gives features of C_p. The CMFT module correlates every target
    line-art position with every reference line-art position (an HW × HW matrix of feature
    dot products, exponentiated and normalised over the reference positions) and transfers
    the reference *colour* features with it (product with the HW × C colour features): a
    non-local, position-to-position attention whose keys are line-art features and whose
    values are colour features, eq. (6)
    ``CMFT(ca(E_s(S_n), E_I(S_n)), ca(E_s(S_p), E_I(S_p)), E_c(C_p))``. It is applied in a
    U-Net generator at several decoder levels, coarse to fine; at the coarsest level the
    line-art features are joined (``ca``) with Illustration2Vec semantic features E_I; the
    transferred features are concatenated with the backbone features and decoded.

    What this module does, and where it differs:

    - The correlation is position to position, unscaled dot products, softmax over the
      reference positions, the matched reference features transferred: as the sources
      describe the paper's module.
      (An earlier version here matched each channel on its own with scalar products, the
      reading of the unofficial reimplementation's code; it contradicts the HW × HW matrix
      that reimplementation's notes quote from the paper, and was replaced.)
    - Keys: the drop-in form has no reference line art, only the reference encoder's features
      of the colour reference (the SGA paper, §4.2: same encoders, decoder and losses for
      every method), so the keys come from the colour reference's features, not from its
      line art. The values are those features too (the paper's colour features).
    - Levels: the module sits once, on the encoders' pooled, concatenated features, so there
      are no decoder levels to visit coarse to fine. ``level_channels`` gives the widths of
      the encoder levels inside the concatenation; each level is then matched and
      transferred with its own correspondence (the paper's one-CMFT-per-level), all at the
      pooled resolution. ``'encoder'`` (the CMFT configs) takes the generator's levels from C
      (two blocks of the same width per level: 32, 64, 128, 256, 512 channels for the paper's
      992, see :func:`encoder_level_channels`). ``None`` matches all channels with one map.
    - No projections in the paper's module (its encoders are what learns);
      ``projections=False`` is the default. ``projections=True`` adds conv1x1 W_q, W_k, W_v on
      all channels before the levels are split (SCFT's parameter count, 3·C²).
    - Output: the paper concatenates transferred and backbone features; the drop-in output
      must have C channels, so they are summed: ``fused = x + out`` (the shortcut of SCFT and
      SGA). No Illustration2Vec features; the shared decoder instead of the paper's.

    The maps are computed in float32 with autocast off (the products are unscaled).

    ``return_attention=True`` returns the correspondence maps averaged over the levels,
    (B, N, N'), rows sum to 1 (built chunk by chunk, without gradient).

    Gradient-cosine branches (``capture_branches``): ``x_skip`` (shortcut), ``x_q`` (queries),
    ``y_k`` (keys), ``y_v`` (values); without projections y still feeds keys and values apart.

    Args:
        channels: C of both feature maps.
        projections: conv1x1 projections of queries, keys and values.
        level_channels: widths of the consecutive channel levels, matched separately (summing
            to C); ``'encoder'``: the SCFT encoder's levels (:func:`encoder_level_channels`);
            None: one level.
        chunk_size: query positions per chunk (None or 0: no chunking, B·N·N' memory).

    Raises:
        ValueError: a negative ``chunk_size``, or ``level_channels`` an unknown string, with a
            non-positive width or not summing to ``channels``.
    """

    gradient_branches = ('x_skip', 'x_q', 'y_k', 'y_v')

    def __init__(self, channels: int, projections: bool = False,
                 level_channels: Union[None, str, Sequence[int]] = None,
                 chunk_size: Optional[int] = 64):
        super().__init__(channels)
        check_number('chunk_size', chunk_size, 0, integer=True, allow_none=True, owner='CMFT')
        if isinstance(level_channels, str):
            check_choice('level_channels', level_channels, ('encoder',), 'CMFT')
            level_channels = encoder_level_channels(channels)
        if level_channels is not None:
            level_channels = tuple(int(c) for c in level_channels)
            if not level_channels or min(level_channels) < 1 or sum(level_channels) != channels:
                raise ValueError(
                    f'level_channels must be positive widths summing to channels={channels} '
                    f'(the encoder levels inside the fused features), got {level_channels} '
                    f'(sum {sum(level_channels)})')
        self.projections = projections
        self.level_channels = level_channels
        self.chunk_size = chunk_size
        make = (lambda: nn.Conv2d(channels, channels, 1)) if projections else nn.Identity
        self.to_q, self.to_k, self.to_v = make(), make(), make()

    def forward(self, sketch_feat: torch.Tensor, ref_feat: torch.Tensor,
                return_attention: bool = False):
        """Fuse sketch and reference features.

        Args:
            sketch_feat: (B, C, H, W).
            ref_feat: (B, C, H', W').
            return_attention: also return the level-averaged map (B, H*W, H'*W').

        Returns:
            (B, C, H, W), or ``(fused, attention)``.
        """
        h, w = sketch_feat.shape[-2:]
        self._reset_branches()
        x_skip = self._tap('x_skip', sketch_feat)
        q = to_tokens(self.to_q(self._tap('x_q', sketch_feat)))  # (B, N, C)
        k = to_tokens(self.to_k(self._tap('y_k', ref_feat)))  # (B, N', C)
        v = to_tokens(self.to_v(self._tap('y_v', ref_feat)))  # (B, N', C)
        with torch.autocast(device_type=q.device.type, enabled=False):
            dtype = torch.promote_types(q.dtype, torch.float32)
            q, k, v = q.to(dtype), k.to(dtype), v.to(dtype)
            out = cmft_aggregate(q, k, v, self.chunk_size, self.level_channels)  # (B, N, C)
        fused = x_skip + to_map(out, h, w).to(x_skip.dtype)  # (B, C, H, W)
        if return_attention:
            return fused, cmft_attention_map(q, k, self.chunk_size, self.level_channels)
        return fused
