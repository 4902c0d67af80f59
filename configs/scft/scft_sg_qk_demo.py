# Paper Table 1 on the embedded demo data: SCFT with stop-gradient on both W_q and W_k (they
# receive no gradient at all).
_base_ = ['./scft_demo.py']
method = 'SCFT_sg_qk'
model = dict(generator=dict(attention=dict(stop_grad_q=True, stop_grad_k=True)))
