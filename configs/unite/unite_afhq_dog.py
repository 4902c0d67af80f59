# UNITE (Zhan et al., CVPR 2021) baseline of paper Table 2 on afhq_dog: only the attention
# module differs from configs/sga/sga_afhq_dog.py (class defaults = the configured values).
_base_ = ['../sga/sga_afhq_dog.py']
method = 'UNITE'
model = dict(generator=dict(attention=dict(type='UNITE')))
