# SGA with the line-art map on real line art: configs/sga/sga_real_line_art.py with only the
# attention module changed.
_base_ = ['../sga/sga_real_line_art.py']
method = 'SGA, line-art map'
model = dict(generator=dict(attention=dict(type='LineArtSGA')))
