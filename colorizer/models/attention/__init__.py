"""Attention (fusion) modules: registered in ``ATTENTIONS``, interface in :mod:`.base`."""
from .base import BaseAttention, to_map, to_tokens
from .scft import SCFT
from .sga import SGA, SGALayer, sga_aggregate, sga_attention_map
from .spade import SPADE, SPADEModulation
from .cocosnet import CoCosNet
from .unite import UNITE, sinkhorn_log
from .cmft import CMFT, cmft_aggregate
from .given_map import GivenMapSGA
from .uniform import UniformAttention
from .oracle import OracleAttention
from .line_art_sga import LineArtSGA
from .cross_map import CrossMap
from .cosine_match_map import CosineMatchMap, cosine_match_map
from .cosine_match_sga import CosineMatchSGA

__all__ = [
    'BaseAttention', 'to_map', 'to_tokens', 'SCFT', 'SGA', 'SGALayer', 'sga_aggregate',
    'sga_attention_map'
]
__all__ += ['SPADE', 'SPADEModulation', 'CoCosNet', 'UNITE', 'sinkhorn_log', 'CMFT',
            'cmft_aggregate']
__all__ += ['GivenMapSGA', 'UniformAttention', 'OracleAttention', 'LineArtSGA']
__all__ += ['CrossMap', 'CosineMatchMap', 'CosineMatchSGA', 'cosine_match_map']
