# Ablation of paper Table 3 on afhq_cat: SGA without stop-gradient (the map keeps its graph).
_base_ = ['./sga_afhq_cat.py']
method = 'SGA_wo_stopgrad'
model = dict(generator=dict(attention=dict(stop_grad=False)))
