# Beyond the paper: SGA whose stop-gradient map compares the sketch's tokens
# with the reference's own line art (XDoG of the reference) through the same sketch encoder.
# configs/sga/sga_demo.py with only the attention module changed.
_base_ = ['../sga/sga_demo.py']
method = 'SGA, line-art map'
model = dict(generator=dict(attention=dict(type='LineArtSGA')))
