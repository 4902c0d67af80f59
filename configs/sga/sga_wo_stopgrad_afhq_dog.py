# Ablation of paper Table 3 on afhq_dog: SGA without stop-gradient (the map keeps its graph).
_base_ = ['./sga_afhq_dog.py']
method = 'SGA_wo_stopgrad'
model = dict(generator=dict(attention=dict(stop_grad=False)))
