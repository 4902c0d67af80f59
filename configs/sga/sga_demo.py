# The embedded demo: SGA on procedurally drawn cartoons (64 px), a small model, a few minutes on a
# 2-core CPU. Leaves a checkpoint, sample grids and validation metrics in work_dirs/sga_demo/.
_base_ = [
    '../_base_/models/sga.py',
    '../_base_/datasets/synthetic_toon.py',
    '../_base_/default_runtime.py',
]
method = 'SGA'
dataset_name = 'synthetic_toon'

model = dict(
    # 64 px with 4 levels: 8x8 = 64 attention tokens of 4+4+8+8+16+16+32+32 = 120 channels.
    generator=dict(base_channels=4, num_levels=4),
    discriminator=dict(base_channels=16, num_layers=3),
    # No VGG: its weights cannot be assumed on every machine, and with random weights the
    # perceptual and style terms would measure random features. L1 + LSGAN only.
    perceptual_loss=None)

optim_wrapper = dict(
    constructor='GANOptimWrapperConstructor',
    generator=dict(optimizer=dict(type='Adam', lr=1e-3, betas=(0.5, 0.999))),
    discriminator=dict(optimizer=dict(type='Adam', lr=2e-3, betas=(0.5, 0.999))),
)
train_cfg = dict(type='IterBasedTrainLoop', max_iters=1500, val_interval=500)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

val_evaluator = [
    dict(type='RegionColorError'),
    dict(type='SSIM'),
    dict(type='PSNR'),
]
test_evaluator = val_evaluator

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50),
    checkpoint=dict(type='CheckpointHook', interval=500, by_epoch=False, max_keep_ckpts=2,
                    save_best='random_ref/delta_e', rule='less'),
)
custom_hooks = [
    dict(type='SafeCheckpointHook'),
    dict(type='SampleGridHook', interval=250, num_samples=8),
]
log_processor = dict(by_epoch=False)
