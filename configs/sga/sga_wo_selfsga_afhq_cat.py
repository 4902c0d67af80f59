# Ablation of paper Table 3 on afhq_cat: SGA without self-SGA (cross-SGA only).
_base_ = ['./sga_afhq_cat.py']
method = 'SGA_wo_selfsga'
model = dict(generator=dict(attention=dict(self_attention=False)))
