# SPADE (Park et al., CVPR 2019) baseline of paper Table 2 on afhq_wild: only the attention
# module differs from configs/sga/sga_afhq_wild.py (class defaults = the configured values).
_base_ = ['../sga/sga_afhq_wild.py']
method = 'SPADE'
model = dict(generator=dict(attention=dict(type='SPADE')))
