# Paper Table 1 on afhq_wild: SCFT with stop-gradient on the W_k branch.
_base_ = ['./scft_afhq_wild.py']
method = 'SCFT_sg_k'
model = dict(generator=dict(attention=dict(stop_grad_k=True)))
