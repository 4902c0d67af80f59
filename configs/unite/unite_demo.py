# UNITE on the embedded demo data: configs/sga/sga_demo.py with only the attention module
# changed (unbalanced transport, as the paper configs).
_base_ = ['../sga/sga_demo.py']
method = 'UNITE'
model = dict(generator=dict(attention=dict(type='UNITE', transport='unbalanced')))
