"""Training machinery: optimiser wrappers, distributed wrappers, safe checkpoints, hooks."""
from .checkpoint_safety import register_safe_local_loader, safe_load
from .distributed import init_distributed
from .gan_optim_wrapper_constructor import GANOptimWrapperConstructor
from .hooks import SafeCheckpointHook, SampleGridHook
from .model_wrappers import SeparateDistributedDataParallel

# Every checkpoint colorizer reads from disk goes through the allow-listed loader.
register_safe_local_loader()

__all__ = [
    'GANOptimWrapperConstructor', 'SafeCheckpointHook', 'SampleGridHook',
    'SeparateDistributedDataParallel', 'init_distributed', 'register_safe_local_loader',
    'safe_load'
]
