"""U-Net decoder of the SCFT-family generator (authors' code)."""
from typing import List

import torch
import torch.nn.functional as F
from torch import nn

from .encoder import ConvBlock


class UNetDecoder(nn.Module):
    """Mirror of the encoder with skip connections to the sketch encoder's feature maps.

    A head block maps the fused features to the deepest width. Then, for encoder block i from
    the second deepest down to the first, one ConvBlock takes ``cat[x, feats[i]]`` and outputs
    ``widths[i]`` channels; where block i+1 halved the resolution, x is first upsampled ×2
    (bilinear). A last conv3x3 maps to the output channels, then tanh.

    The authors' decoder does not concatenate the deepest block's features (their
    ``feature_list[-1]`` line is commented out): they already enter through the fused features.
    ``skip_deepest=True`` adds that skip to the head block.

    Args:
        in_channels: channels of the decoder input (2 * encoder output in the generator).
        widths: the encoder's block widths, shallow to deep.
        out_channels: image channels.
        negative_slope: LeakyReLU slope.
        align_corners: of the bilinear upsampling; True is ``nn.UpsamplingBilinear2d``, which
            the authors use.
        skip_deepest: concatenate the deepest encoder features to the head block's input.
    """

    def __init__(self, in_channels: int, widths: List[int], out_channels: int = 3,
                 negative_slope: float = 0.2, align_corners: bool = True,
                 skip_deepest: bool = False):
        super().__init__()
        self.align_corners = align_corners
        self.skip_deepest = skip_deepest
        head_in = in_channels + (widths[-1] if skip_deepest else 0)
        self.head = ConvBlock(head_in, widths[-1], negative_slope=negative_slope)
        # encoder block i + 1 has stride 2 when i + 1 is even and positive, i.e. when i is odd
        self.skip_ids = list(range(len(widths) - 2, -1, -1))
        self.upsample = [i % 2 == 1 for i in self.skip_ids]
        self.blocks = nn.ModuleList(
            ConvBlock(widths[i + 1] + widths[i], widths[i], negative_slope=negative_slope)
            for i in self.skip_ids)
        self.last_conv = nn.Conv2d(widths[0], out_channels, 3, padding=1)

    def forward(self, x: torch.Tensor, feats: List[torch.Tensor]) -> torch.Tensor:
        """Decode.

        Args:
            x: (B, in_channels, h, w), h = H / 2**(L-1).
            feats: the sketch encoder's block outputs, shallow to deep.

        Returns:
            (B, out_channels, H, W) in [-1, 1].
        """
        if self.skip_deepest:
            x = torch.cat([x, feats[-1]], dim=1)
        x = self.head(x)  # (B, widths[-1], h, w)
        for i, up, block in zip(self.skip_ids, self.upsample, self.blocks):
            skip = feats[i]  # (B, widths[i], H_i, W_i)
            if up:
                x = F.interpolate(x, size=skip.shape[-2:], mode='bilinear',
                                  align_corners=self.align_corners)
            x = block(torch.cat([x, skip], dim=1))  # (B, widths[i], H_i, W_i)
        return torch.tanh(self.last_conv(x))
