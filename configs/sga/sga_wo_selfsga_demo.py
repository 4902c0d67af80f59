# Ablation of paper Table 3 on the embedded demo data: SGA without self-SGA (cross-SGA only).
_base_ = ['./sga_demo.py']
method = 'SGA_wo_selfsga'
model = dict(generator=dict(attention=dict(self_attention=False)))
