"""Generators, registered in ``GENERATORS``."""
from .decoder import UNetDecoder
from .encoder import ConvBlock, Encoder, ResidualBlock, encoder_widths
from .scft_generator import SCFTGenerator

__all__ = [
    'ConvBlock', 'Encoder', 'ResidualBlock', 'encoder_widths', 'UNetDecoder', 'SCFTGenerator'
]
