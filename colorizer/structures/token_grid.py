"""How an image's pixels map onto the tokens of an attention map.

Every fusion module flattens a feature map of its input downsampled by the same factor on both
axes into N tokens, row-major. :func:`token_grid` recovers the (h, w) grid of those tokens from N
and the image size; :func:`pool_labels` brings per-pixel region labels (the ground truth of
``SyntheticToonDataset``) onto that grid. The oracle attention (models), the correspondence
statistics (evaluation) and the attention-map viewer (apis) all read maps this way.
"""
from typing import Tuple

import torch
import torch.nn.functional as F

__all__ = ['token_grid', 'pool_labels']


def token_grid(num_tokens: int, size: Tuple[int, int]) -> Tuple[int, int]:
    """The (h, w) grid of ``num_tokens`` tokens over an image of ``size`` = (H, W) pixels.

    Fusion modules flatten a feature map of the input downsampled by the same factor on both
    axes, so the grid keeps the image's aspect ratio.

    Raises:
        ValueError: no grid of that aspect ratio has ``num_tokens`` cells.
    """
    height, width = int(size[0]), int(size[1])
    for h in range(1, min(num_tokens, height) + 1):
        if num_tokens % h == 0 and height * (num_tokens // h) == width * h:
            return h, num_tokens // h
    raise ValueError(f'{num_tokens} attention tokens do not form a grid over an image of '
                     f'{height}x{width} pixels')


def pool_labels(labels: torch.Tensor, grid: Tuple[int, int]) -> torch.Tensor:
    """Pixel region labels to token labels, by majority over the pixels of each token.

    Tokens are the cells of the encoder's coarsest grid: with an input of H x W pixels and a
    (h, w) grid, token (r, c) covers the pixels that ``adaptive_avg_pool2d`` averages into it
    (an exact H/h x W/w block when the sizes divide, as they do for the encoder's feature maps).

    Args:
        labels: (B, H, W) integer region ids; negative ids are ignored.
        grid: (h, w) token grid.

    Returns:
        (B, h*w) int64 token labels, row-major like the tokens; ties go to the smaller id, and a
        token without any non-negative pixel gets -1.

    Raises:
        ValueError: ``labels`` is not (B, H, W) or the grid is larger than the image.
    """
    if labels.dim() != 3:
        raise ValueError(f'labels must be (B, H, W), got {tuple(labels.shape)}')
    h, w = grid
    if h > labels.shape[1] or w > labels.shape[2] or h < 1 or w < 1:
        raise ValueError(f'token grid {h}x{w} does not fit labels of '
                         f'{labels.shape[1]}x{labels.shape[2]} pixels')
    labels = labels.long()
    num_classes = int(labels.max().clamp_min(0)) + 1
    valid = labels >= 0
    one_hot = F.one_hot(labels.clamp_min(0), num_classes) * valid.unsqueeze(-1)  # (B, H, W, K)
    share = F.adaptive_avg_pool2d(one_hot.permute(0, 3, 1, 2).float(), (h, w))  # (B, K, h, w)
    best, tokens = share.max(dim=1)  # argmax returns the first maximum: the smaller id
    tokens = torch.where(best > 0, tokens, torch.full_like(tokens, -1))
    return tokens.flatten(1)
