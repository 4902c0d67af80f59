"""Test plugin: faults injected at a chosen iteration of a real training run.

- :class:`SignalAtIterHook` sends a signal to its own process when iteration ``iteration``
  (0-based, ``runner.iter``) starts, on rank ``rank`` only: a scheduler's SIGTERM / SIGUSR1
  landing in the middle of an iteration, deterministically.
- :class:`NaNSketch` writes NaN into one pixel of every packed sketch (a corrupted input).
"""
import os
import signal
import subprocess

from mmengine.dist import get_rank
from mmengine.hooks import Hook

from colorizer.registry import HOOKS, TRANSFORMS


@HOOKS.register_module()
class SignalAtIterHook(Hook):
    """Send ``signal_name`` to this process at the start of iteration ``iteration``."""

    def __init__(self, iteration: int, signal_name: str = 'SIGTERM', rank: int = 0,
                 children: bool = False):
        self.iteration, self.signum, self.rank = iteration, signal.Signals[signal_name], rank
        self.children = children  # also signal the child processes (DataLoader workers)

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if runner.iter == self.iteration and get_rank() == self.rank:
            pids = [str(os.getpid())]
            if self.children:  # as Slurm signals every process of a job
                for task in os.listdir('/proc/self/task'):
                    with open(f'/proc/self/task/{task}/children') as f:
                        pids += f.read().split()
            # From another process, as a scheduler's: PyTorch's workers treat a SIGTERM from
            # their parent as a request to exit cleanly, any other as fatal.
            subprocess.run(['kill', f'-{self.signum.name[3:]}', *pids], check=True)


@TRANSFORMS.register_module()
class NaNSketch:
    """After packing: the sketch as float with NaN in its first pixel (a corrupted input)."""

    def __call__(self, results):
        sketch = results['inputs']['sketch'].float()
        sketch.view(-1)[0] = float('nan')
        results['inputs']['sketch'] = sketch
        return results
