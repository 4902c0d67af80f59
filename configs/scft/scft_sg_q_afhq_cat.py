# Paper Table 1 on afhq_cat: SCFT with stop-gradient on the W_q branch.
_base_ = ['./scft_afhq_cat.py']
method = 'SCFT_sg_q'
model = dict(generator=dict(attention=dict(stop_grad_q=True)))
