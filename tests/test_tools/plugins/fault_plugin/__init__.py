"""Test plugin: faults injected at a chosen iteration of a real training run.

- :class:`SignalAtIterHook` sends a signal to its own process when iteration ``iteration``
  (0-based, ``runner.iter``) starts, on rank ``rank`` only: a scheduler's SIGTERM / SIGUSR1
  landing in the middle of an iteration, deterministically.
- :class:`NaNSketch` writes NaN into one pixel of every sketch (a corrupted input).
"""
import os
import signal

import numpy as np
from mmengine.dist import get_rank
from mmengine.hooks import Hook

from colorizer.registry import HOOKS, TRANSFORMS


@HOOKS.register_module()
class SignalAtIterHook(Hook):
    """Send ``signal_name`` to this process at the start of iteration ``iteration``."""

    def __init__(self, iteration: int, signal_name: str = 'SIGTERM', rank: int = 0):
        self.iteration, self.signum, self.rank = iteration, signal.Signals[signal_name], rank

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if runner.iter == self.iteration and get_rank() == self.rank:
            os.kill(os.getpid(), self.signum)


@TRANSFORMS.register_module()
class NaNSketch:
    """Set the first pixel of ``results['sketch']`` to NaN (as float32)."""

    def __call__(self, results):
        sketch = np.asarray(results['sketch'], dtype=np.float32).copy()
        sketch.flat[0] = np.nan
        results['sketch'] = sketch
        return results
