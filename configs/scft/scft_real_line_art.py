# SCFT on real line art: configs/sga/sga_real_line_art.py with only the attention module changed.
_base_ = ['../sga/sga_real_line_art.py']
method = 'SCFT'
model = dict(generator=dict(attention=dict(type='SCFT')))
