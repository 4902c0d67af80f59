# CMFT (Zhang et al., WACV 2021) baseline of paper Table 2 on afhq_cat: only the attention
# module differs from configs/sga/sga_afhq_cat.py (class defaults = the configured values).
_base_ = ['../sga/sga_afhq_cat.py']
method = 'CMFT'
model = dict(generator=dict(attention=dict(type='CMFT')))
