"""Attention (fusion) modules: registered in ``ATTENTIONS``, interface in :mod:`.base`."""
from .base import BaseAttention, to_map, to_tokens
from .scft import SCFT
from .sga import SGA, SGALayer, sga_aggregate, sga_attention_map

__all__ = [
    'BaseAttention', 'to_map', 'to_tokens', 'SCFT', 'SGA', 'SGALayer', 'sga_aggregate',
    'sga_attention_map'
]
