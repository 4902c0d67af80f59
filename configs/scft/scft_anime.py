# SCFT (Lee et al., CVPR 2020) baseline of paper Table 2 on anime: only the attention module
# differs from configs/sga/sga_anime.py.
_base_ = ['../sga/sga_anime.py']
method = 'SCFT'
model = dict(generator=dict(attention=dict(type='SCFT')))
