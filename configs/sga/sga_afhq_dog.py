# SGA (paper Table 2) on afhq_dog: 40 epochs, batch 16, 256 px.
_base_ = [
    '../_base_/models/sga.py',
    '../_base_/datasets/afhq_dog.py',
    '../_base_/schedules/paper_40e.py',
    '../_base_/evaluation/paper_metrics.py',
    '../_base_/default_runtime.py',
]
method = 'SGA'
dataset_name = 'afhq_dog'
# Best checkpoint by FID on the validation split (never the test split).
default_hooks = dict(checkpoint=dict(save_best='random_ref/fid', rule='less'))
