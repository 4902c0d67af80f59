# CMFT on the embedded demo data: configs/sga/sga_demo.py with only the attention module
# changed (one correspondence per encoder level: 8, 16, 32, 64 of the 120 channels).
_base_ = ['../sga/sga_demo.py']
method = 'CMFT'
model = dict(generator=dict(attention=dict(type='CMFT', level_channels='encoder')))
