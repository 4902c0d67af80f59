# Paper Table 1 on the embedded demo data: SCFT with stop-gradient on the W_q branch.
_base_ = ['./scft_demo.py']
method = 'SCFT_sg_q'
model = dict(generator=dict(attention=dict(stop_grad_q=True)))
