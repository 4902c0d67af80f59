"""Attention (fusion) modules: registered in ``ATTENTIONS``, interface in :mod:`.base`; the SGA
block's cross-map strategies are registered in ``CROSS_MAPS``, interface in :mod:`.cross_map`."""
from .base import BaseAttention, to_map, to_tokens
from .cross_map import CrossMap
from .scft import SCFT
from .sga_kernels import sga_aggregate, sga_attention_map
from .sga import SGA, SGALayer, SGAMap
from .spade import SPADE, SPADEModulation
from .cocosnet import CoCosNet
from .unite import UNITE, sinkhorn_log
from .cmft import CMFT, cmft_aggregate
from .uniform import UniformAttention, UniformMap
from .oracle import OracleAttention, OracleMap
from .line_art_sga import LineArtMap, LineArtSGA
from .cosine_match_map import CosineMatchMap, CosineMatchSGA, cosine_match_map

__all__ = [
    'BaseAttention', 'to_map', 'to_tokens', 'SCFT', 'SGA', 'SGALayer', 'sga_aggregate',
    'sga_attention_map'
]
__all__ += ['SPADE', 'SPADEModulation', 'CoCosNet', 'UNITE', 'sinkhorn_log', 'CMFT',
            'cmft_aggregate']
__all__ += ['CrossMap', 'SGAMap', 'UniformMap', 'OracleMap', 'LineArtMap', 'UniformAttention',
            'OracleAttention', 'LineArtSGA']
__all__ += ['CosineMatchMap', 'CosineMatchSGA', 'cosine_match_map']
