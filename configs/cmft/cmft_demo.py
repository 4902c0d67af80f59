# CMFT on the embedded demo data: configs/sga/sga_demo.py with only the attention module
# changed.
_base_ = ['../sga/sga_demo.py']
method = 'CMFT'
model = dict(generator=dict(attention=dict(type='CMFT')))
