# Control "no correspondence" on real line art: the SGA block with a uniform cross map
# Â = 1/N' (every sketch token gets the reference's mean value).
# configs/sga/sga_real_line_art.py with only the attention module changed.
_base_ = ['../sga/sga_real_line_art.py']
method = 'Uniform map (control)'
model = dict(generator=dict(attention=dict(type='UniformAttention')))
