"""Training machinery: optimiser wrappers, distributed wrappers, safe checkpoints, hooks."""
from .atomic_file_backend import register_atomic_local_backend
from .checkpoint_safety import register_safe_local_loader, safe_load
from .distributed import init_distributed
from .gan_optim_wrapper_constructor import GANOptimWrapperConstructor
from .hooks import SafeCheckpointHook, SampleGridHook
from .model_wrappers import SeparateDistributedDataParallel

# Every checkpoint colorizer reads from disk goes through the allow-listed loader, and every
# checkpoint it writes appears atomically.
register_safe_local_loader()
register_atomic_local_backend()

__all__ = [
    'GANOptimWrapperConstructor', 'SafeCheckpointHook', 'SampleGridHook',
    'SeparateDistributedDataParallel', 'init_distributed', 'register_safe_local_loader',
    'safe_load'
]
