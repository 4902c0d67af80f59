"""Building blocks and the encoder of the SCFT-family generator (authors' code, SCFT paper)."""
from typing import List, Tuple

import torch
import torch.nn.functional as F
from torch import nn


class ConvBlock(nn.Sequential):
    """conv3x3 -> BatchNorm -> LeakyReLU.

    Args:
        in_channels: input channels.
        out_channels: output channels.
        stride: 1, or 2 to halve the resolution.
        negative_slope: LeakyReLU slope.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1,
                 negative_slope: float = 0.2):
        super().__init__(
            nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1),
            nn.BatchNorm2d(out_channels),
            nn.LeakyReLU(negative_slope),
        )


class ResidualBlock(nn.Module):
    """conv-BN-ReLU-conv-BN plus identity.

    Args:
        channels: input and output channels.
    """

    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1),
            nn.BatchNorm2d(channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(channels, channels, 3, padding=1),
            nn.BatchNorm2d(channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x) + x


def encoder_widths(base_channels: int = 16, num_levels: int = 5) -> List[int]:
    """Widths of the encoder's blocks: two per level, doubling per level.

    ``encoder_widths(16, 5)`` is ``[16, 16, 32, 32, 64, 64, 128, 128, 256, 256]``.
    """
    return [base_channels * 2**(i // 2) for i in range(2 * num_levels)]


class Encoder(nn.Module):
    """Ten-block (for five levels) convolutional encoder with multi-scale pooled output.

    Block i (0-based) has width ``encoder_widths(...)[i]``; blocks 2, 4, 6, 8 (the paper's 3, 5,
    7, 9) have stride 2, so the last block is 2**(num_levels-1) times smaller than the input.
    Every block's output is adaptive-average-pooled to the last block's size and all are
    concatenated (992 channels for the paper's widths).

    Args:
        in_channels: 1 for sketches, 3 for references.
        base_channels: width of the first level.
        num_levels: number of levels (two blocks each).
        negative_slope: LeakyReLU slope.
    """

    def __init__(self, in_channels: int, base_channels: int = 16, num_levels: int = 5,
                 negative_slope: float = 0.2):
        super().__init__()
        self.widths = encoder_widths(base_channels, num_levels)
        self.out_channels = sum(self.widths)
        blocks, prev = [], in_channels
        for i, width in enumerate(self.widths):
            # the first block of every level but the first halves the resolution
            stride = 2 if i > 0 and i % 2 == 0 else 1
            blocks.append(ConvBlock(prev, width, stride, negative_slope))
            prev = width
        self.blocks = nn.ModuleList(blocks)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, List[torch.Tensor]]:
        """Encode an image.

        Args:
            x: (B, in_channels, H, W).

        Returns:
            ``(pooled, feats)``: pooled (B, sum(widths), H / 2**(L-1), W / 2**(L-1)) and the
            list of every block's output, feats[i] of shape (B, widths[i], H_i, W_i).
        """
        feats = []
        for block in self.blocks:
            x = block(x)
            feats.append(x)
        size = feats[-1].shape[-2:]
        pooled = torch.cat([F.adaptive_avg_pool2d(f, size) for f in feats], dim=1)
        return pooled, feats
