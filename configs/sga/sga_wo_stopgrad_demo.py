# Ablation of paper Table 3 on the embedded demo data: SGA without stop-gradient (the attention
# map keeps its graph, so X and Y also get gradient through it: branches x_att / y_att).
#
# Gradient-cosine analysis (paper Fig. 10) -- switch the hook on by adding it to custom_hooks,
# e.g. at the end of this file:
#
#   custom_hooks = [
#       dict(type='SafeCheckpointHook'),
#       dict(type='SampleGridHook', interval=250, num_samples=8),
#       dict(type='GradientCosineHook', interval=10, summary_interval=250),
#   ]
#
# (interval: capture every 10th iteration; summary_interval: one histogram period per 250
# iterations; without it an iteration-based run makes one period per pass over the training
# set.) The same line works in any config (configs/scft/scft_demo.py for Fig. 4). Results go to
# <work_dir>/gradient_cosine/ (summary.json + cosines_*.npz); plot them with
#   python tools/analysis_tools/plot_gradient_cosine.py work_dirs/sga_wo_stopgrad_demo --out figs/
_base_ = ['./sga_demo.py']
method = 'SGA_wo_stopgrad'
model = dict(generator=dict(attention=dict(stop_grad=False)))
