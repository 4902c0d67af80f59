# UNITE (Zhan et al., CVPR 2021) baseline of paper Table 2 on anime: only the attention
# module differs from configs/sga/sga_anime.py. Unbalanced transport (KL-relaxed marginals) as
# in the UNITE paper; transport='balanced' gives the balanced plan of the authors' code.
_base_ = ['../sga/sga_anime.py']
method = 'UNITE'
model = dict(generator=dict(attention=dict(type='UNITE', transport='unbalanced')))
