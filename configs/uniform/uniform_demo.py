# Control "no correspondence" of the correspondence study (tools/analysis_tools/run_study.py):
# the SGA block with a uniform cross map Â = 1/N'.
# configs/sga/sga_demo.py with only the attention module changed.
_base_ = ['../sga/sga_demo.py']
method = 'Uniform map (control)'
model = dict(generator=dict(attention=dict(type='UniformAttention')))
