# UNITE (Zhan et al., CVPR 2021) baseline of paper Table 2 on anime: only the attention
# module differs from configs/sga/sga_anime.py (class defaults = the configured values).
_base_ = ['../sga/sga_anime.py']
method = 'UNITE'
model = dict(generator=dict(attention=dict(type='UNITE')))
