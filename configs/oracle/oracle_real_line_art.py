# Control "perfect correspondence" on real line art: the SGA block whose cross map is uniform over
# the reference tokens of the sketch token's SVG shape (the converted set's region labels).
_base_ = ['../sga/sga_real_line_art.py']
method = 'Oracle map (control)'
model = dict(generator=dict(attention=dict(type='OracleAttention')))
