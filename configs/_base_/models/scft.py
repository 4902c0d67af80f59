# SCFT (Lee et al., CVPR 2020) inside the same generator, discriminator and losses as SGA.
_base_ = ['./sga.py']
model = dict(generator=dict(attention=dict(type='SCFT')))
