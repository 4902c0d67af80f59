# Ablation of paper Table 3 on the embedded demo data: SGA without double normalisation (softmax
# only).
_base_ = ['./sga_demo.py']
method = 'SGA_wo_doublenorm'
model = dict(generator=dict(attention=dict(norm='softmax')))
