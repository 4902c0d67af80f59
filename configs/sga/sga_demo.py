# The embedded demo: SGA on procedurally drawn cartoons (64 px), a small model, a few minutes on a
# 2-core CPU. Leaves a checkpoint, sample grids and validation metrics in work_dirs/sga_demo/.
_base_ = [
    '../_base_/models/sga_small.py',
    '../_base_/datasets/synthetic_toon.py',
    '../_base_/schedules/demo_1500i.py',
]
method = 'SGA'
dataset_name = 'synthetic_toon'

val_evaluator = [
    dict(type='RegionColorError'),
    dict(type='SSIM'),
    dict(type='PSNR'),
]
test_evaluator = val_evaluator

default_hooks = dict(checkpoint=dict(save_best='random_ref/delta_e', rule='less'))
