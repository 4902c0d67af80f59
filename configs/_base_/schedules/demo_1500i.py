# The CPU demos' schedule (configs/sga/sga_demo.py, sga_folder.py and the baselines' *_demo.py):
# 1500 iterations at lr 1e-3 (G) / 2e-3 (D), ten times the paper's, which a small model at 64 px
# takes in stride; validation, a checkpoint (the last two kept) every 500 iterations, sample
# grids every 250. A config adds its evaluators and default_hooks.checkpoint.save_best / rule.
# Inherits the runtime (MMEngine refuses the same key in two bases of one config).
_base_ = ['../default_runtime.py']
optim_wrapper = dict(
    constructor='GANOptimWrapperConstructor',
    generator=dict(optimizer=dict(type='Adam', lr=1e-3, betas=(0.5, 0.999))),
    discriminator=dict(optimizer=dict(type='Adam', lr=2e-3, betas=(0.5, 0.999))),
)
train_cfg = dict(type='IterBasedTrainLoop', max_iters=1500, val_interval=500)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50),
    checkpoint=dict(type='CheckpointHook', interval=500, by_epoch=False, max_keep_ckpts=2),
)
custom_hooks = [
    dict(type='SafeCheckpointHook'),
    dict(type='SampleGridHook', interval=250, num_samples=8),
]
log_processor = dict(by_epoch=False)
