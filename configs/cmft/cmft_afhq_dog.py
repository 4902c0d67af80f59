# CMFT (Zhang et al., WACV 2021) baseline of paper Table 2 on afhq_dog: only the attention
# module differs from configs/sga/sga_afhq_dog.py. Position-to-position correlation, one map per
# encoder level (level_channels='encoder': 32, 64, 128, 256, 512 of the 992 channels), no
# projections, as the paper's per-level CMFT modules; see colorizer/models/attention/cmft.py.
_base_ = ['../sga/sga_afhq_dog.py']
method = 'CMFT'
model = dict(generator=dict(attention=dict(type='CMFT', level_channels='encoder')))
