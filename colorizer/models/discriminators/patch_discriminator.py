"""Conditional PatchGAN discriminator (authors' code)."""
import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm as apply_spectral_norm

from colorizer.registry import DISCRIMINATORS


@DISCRIMINATORS.register_module()
class PatchDiscriminator(nn.Module):
    """Scores patches of ``cat(image, sketch)``; no sigmoid (least-squares GAN).

    ``num_layers`` stride-2 blocks (spectral-normalised conv3x3, BatchNorm, LeakyReLU) with
    widths ``base_channels * 2**i``, then a plain conv3x3 to one channel. With the defaults a
    256 px input gives (B, 1, 16, 16) scores.

    Args:
        in_channels: image channels plus sketch channels (3 + 1).
        base_channels: width of the first block.
        num_layers: number of stride-2 blocks.
        negative_slope: LeakyReLU slope.
        use_spectral_norm: spectral-normalise the blocks' convolutions.
    """

    def __init__(self, in_channels: int = 4, base_channels: int = 16, num_layers: int = 4,
                 negative_slope: float = 0.2, use_spectral_norm: bool = True):
        super().__init__()
        self.in_channels = in_channels
        layers, prev = [], in_channels
        for i in range(num_layers):
            width = base_channels * 2**i
            conv = nn.Conv2d(prev, width, 3, stride=2, padding=1)
            layers += [
                apply_spectral_norm(conv) if use_spectral_norm else conv,
                nn.BatchNorm2d(width),
                nn.LeakyReLU(negative_slope),
            ]
            prev = width
        layers.append(nn.Conv2d(prev, 1, 3, padding=1))
        self.layers = nn.Sequential(*layers)

    def forward(self, image: torch.Tensor, sketch: torch.Tensor) -> torch.Tensor:
        """Score an image given its sketch.

        Args:
            image: (B, 3, H, W) in [-1, 1].
            sketch: (B, 1, H, W) in [-1, 1].

        Returns:
            (B, 1, H / 2**num_layers, W / 2**num_layers) patch scores (rounded up).
        """
        x = torch.cat([image, sketch], dim=1)  # (B, 4, H, W)
        if x.shape[1] != self.in_channels:
            raise ValueError(f'image and sketch have {x.shape[1]} channels together, '
                             f'the discriminator expects {self.in_channels}')
        return self.layers(x)
