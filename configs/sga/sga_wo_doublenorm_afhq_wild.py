# Ablation of paper Table 3 on afhq_wild: SGA without double normalisation (softmax only).
_base_ = ['./sga_afhq_wild.py']
method = 'SGA_wo_doublenorm'
model = dict(generator=dict(attention=dict(norm='softmax')))
