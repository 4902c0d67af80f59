# Runtime settings shared by every colorizer config.
default_scope = 'colorizer'

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3),
    sampler_seed=dict(type='DistSamplerSeedHook'),
)
# SafeCheckpointHook keeps checkpoints loadable with torch.load(weights_only=True) and free of
# NaN for plain MMEngine Runners; colorizer's tools (ColorizerRunner) enforce both on every save
# whether or not it is listed.
custom_hooks = [
    dict(type='SafeCheckpointHook'),
    dict(type='SampleGridHook', interval=1000, num_samples=8),
]

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
)

# One DDP wrapper per sub-network (generator, discriminator); works with gloo on CPU too.
# The scope prefix is needed: the Runner looks the wrapper up with MODEL_WRAPPERS.get(), which
# does not switch to the default scope.
model_wrapper_cfg = dict(
    type='colorizer.SeparateDistributedDataParallel', broadcast_buffers=False,
    find_unused_parameters=False)

vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='Visualizer', vis_backends=vis_backends)
log_processor = dict(type='LogProcessor', window_size=50, by_epoch=True)
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0, deterministic=False)
