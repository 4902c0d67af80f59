# Ablation of paper Table 3 on anime: SGA without double normalisation (softmax only).
_base_ = ['./sga_anime.py']
method = 'SGA_wo_doublenorm'
model = dict(generator=dict(attention=dict(norm='softmax')))
