"""Training machinery: optimiser wrappers, distributed wrappers, safe checkpoints, hooks."""
from colorizer.fileio import AtomicFile, register_atomic_local_backend
from .checkpoint_errors import (CheckpointError, CheckpointMismatchError,
                                CheckpointSourceError, IncompleteCheckpointError)
from .checkpoint_safety import UnsafeCheckpointError, safe_load
from .checkpoint_sources import register_safe_loaders
from .distributed import init_distributed, shutdown_distributed
from .gan_optim_wrapper_constructor import GANOptimWrapperConstructor
from .hooks import CheckpointHook, SafeCheckpointHook, SampleGridHook
from .model_wrappers import SeparateDistributedDataParallel
from .runner import ColorizerRunner
from .skip_non_finite_optim_wrapper import SkipNonFiniteOptimWrapper, with_skip_non_finite

# Also done by `import colorizer` (the package imports this module first): every checkpoint
# colorizer reads goes through the allow-listed loader, and every checkpoint it writes
# appears atomically.
register_safe_loaders()
register_atomic_local_backend()

__all__ = [
    'AtomicFile', 'CheckpointError', 'CheckpointHook', 'CheckpointMismatchError',
    'CheckpointSourceError', 'ColorizerRunner', 'GANOptimWrapperConstructor',
    'IncompleteCheckpointError', 'SafeCheckpointHook', 'SampleGridHook',
    'SeparateDistributedDataParallel', 'SkipNonFiniteOptimWrapper', 'UnsafeCheckpointError',
    'init_distributed', 'register_safe_loaders', 'safe_load', 'shutdown_distributed',
    'with_skip_non_finite'
]
