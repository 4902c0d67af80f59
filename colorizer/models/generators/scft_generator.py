"""The SCFT-family generator: two encoders, a pluggable fusion module, residual blocks and a
U-Net decoder (the paper's Fig. 2; layer details from the authors' code)."""
from typing import Optional, Union

import torch
from torch import nn

from colorizer.invalid_argument import check_number
from colorizer.registry import ATTENTIONS, GENERATORS
from .decoder import UNetDecoder
from .encoder import Encoder, ResidualBlock
from .line_art import XDoGLineArt


@GENERATORS.register_module()
class SCFTGenerator(nn.Module):
    """Reference-based colourisation generator.

    sketch -> sketch encoder -> v_s (B, C, h, w) and the ten block outputs;
    reference -> reference encoder -> v_r (B, C, h', w');
    v = attention(v_s, v_r); decoder(cat[res(v), v], sketch block outputs) -> image.

    With the defaults, C = 992 and h = H / 16 (16x16 for 256 px inputs).

    Args:
        attention: config of the fusion module in ``ATTENTIONS`` (``channels`` is filled in), or
            a module. Defaults to ``dict(type='SGA')``.
        base_channels: width of the encoders' first level (16 in the paper).
        num_levels: encoder levels of two blocks each (5 in the paper); inputs must be divisible
            by 2**(num_levels - 1).
        sketch_channels: channels of the sketch.
        reference_channels: channels of the reference.
        out_channels: channels of the output image.
        num_res_blocks: residual blocks after the fusion (4 in the paper).
        negative_slope: LeakyReLU slope of the conv blocks.
        align_corners: of the decoder's bilinear upsampling (True in the authors' code).
        skip_deepest: also skip-connect the deepest sketch features to the decoder (the authors
            do not).
        line_art_sigma: XDoG σ of the reference's line art, drawn only for fusion modules that
            ask for ``'reference_line_feat'`` (see ``BaseAttention.context_keys``).

    The generator does not know which fusion module it holds: it passes a ``context`` (region
    labels, the reference's line-art features) only to modules that declare ``context_keys``,
    and computes an entry only when a module asks for it.
    """

    def __init__(self,
                 attention: Optional[Union[dict, nn.Module]] = None,
                 base_channels: int = 16,
                 num_levels: int = 5,
                 sketch_channels: int = 1,
                 reference_channels: int = 3,
                 out_channels: int = 3,
                 num_res_blocks: int = 4,
                 negative_slope: float = 0.2,
                 align_corners: bool = True,
                 skip_deepest: bool = False,
                 line_art_sigma: float = 0.4):
        super().__init__()
        check_number('num_levels', num_levels, 1, integer=True, owner=type(self).__name__)
        self.size_divisor = 2**(num_levels - 1)
        self.sketch_channels = sketch_channels
        self.reference_channels = reference_channels
        self.sketch_encoder = Encoder(sketch_channels, base_channels, num_levels, negative_slope)
        self.reference_encoder = Encoder(reference_channels, base_channels, num_levels,
                                         negative_slope)
        channels = self.sketch_encoder.out_channels
        if attention is None:
            attention = dict(type='SGA')
        if isinstance(attention, nn.Module):
            self.attention = attention
        else:
            self.attention = ATTENTIONS.build(attention, default_args=dict(channels=channels))
        self.context_keys = tuple(getattr(self.attention, 'context_keys', ()))
        # only built when asked for: no buffers in the state dict of other generators
        self.line_art = (XDoGLineArt(line_art_sigma)
                         if 'reference_line_feat' in self.context_keys else None)
        self.res_blocks = nn.Sequential(*[ResidualBlock(channels) for _ in range(num_res_blocks)])
        self.decoder = UNetDecoder(2 * channels, self.sketch_encoder.widths, out_channels,
                                   negative_slope, align_corners, skip_deepest)

    def _check_input(self, name: str, image: torch.Tensor, channels: int) -> None:
        if image.dim() != 4 or image.shape[1] != channels:
            raise ValueError(
                f'{name} must be (B, {channels}, H, W), got {tuple(image.shape)}')
        h, w = image.shape[-2:]
        if h % self.size_divisor or w % self.size_divisor:
            raise ValueError(
                f'{name} size {h}x{w} is not divisible by {self.size_divisor}: the encoder has '
                f'{self.size_divisor.bit_length() - 1} stride-2 blocks (num_levels - 1), so H and '
                f'W must be multiples of 2**(num_levels - 1); resize or pad the input')

    def _context(self, reference: torch.Tensor, sketch_labels: Optional[torch.Tensor],
                 reference_labels: Optional[torch.Tensor]) -> dict:
        """The entries of ``self.attention.context_keys``; ``None`` for what is not known."""
        context = {}
        for key in self.context_keys:
            if key == 'sketch_labels':
                context[key] = sketch_labels
            elif key == 'reference_labels':
                context[key] = reference_labels
            elif key == 'reference_line_feat':
                # a second look at the reference, as a drawing, through the sketch encoder;
                # no graph: it only feeds maps computed under stop-gradient
                with torch.no_grad():
                    context[key] = self.sketch_encoder(self.line_art(reference))[0]
            else:
                raise KeyError(f'{type(self.attention).__name__} asks for context {key!r}; '
                               f'{type(self).__name__} provides sketch_labels, '
                               'reference_labels and reference_line_feat')
        return context

    def forward(self, sketch: torch.Tensor, reference: torch.Tensor,
                return_attention: bool = False,
                sketch_labels: Optional[torch.Tensor] = None,
                reference_labels: Optional[torch.Tensor] = None):
        """Colourise a sketch after a reference.

        Args:
            sketch: (B, 1, H, W) in [-1, 1].
            reference: (B, 3, H', W') in [-1, 1]; usually H' = H, W' = W.
            return_attention: also return the fusion module's cross-attention map.
            sketch_labels: (B, H, W) int64 region ids of the sketch's pixels, when the data has
                them; read only by fusion modules that ask for them (the oracle control).
            reference_labels: (B, H', W') int64 region ids of the reference's pixels.

        Returns:
            (B, 3, H, W) in [-1, 1], or ``(image, attention)`` with attention
            (B, h*w, h'*w') as returned by the fusion module.
        """
        self._check_input('sketch', sketch, self.sketch_channels)
        self._check_input('reference', reference, self.reference_channels)
        if sketch.shape[0] != reference.shape[0]:
            raise ValueError(f'batch sizes differ: sketch {sketch.shape[0]}, '
                             f'reference {reference.shape[0]}')
        v_s, feats = self.sketch_encoder(sketch)  # (B, C, h, w), ten block outputs
        v_r, _ = self.reference_encoder(reference)  # (B, C, h', w')
        extra = {}
        if self.context_keys:
            extra['context'] = self._context(reference, sketch_labels, reference_labels)
        fused = self.attention(v_s, v_r, return_attention=return_attention, **extra)
        attention = None
        if return_attention:
            fused, attention = fused
        v = fused  # (B, C, h, w)
        # residual blocks with an outer skip; the decoder sees both: cat[res(v), v], (B, 2C, h, w)
        x = torch.cat([self.res_blocks(v) + v, v], dim=1)
        image = self.decoder(x, feats)  # (B, 3, H, W)
        if return_attention:
            return image, attention
        return image
