"""Distributed set-up that also works on machines without CUDA (gloo).

MMEngine 0.10.7's ``init_dist`` calls ``torch.cuda.set_device`` and fails without CUDA. When no
GPU is present, :func:`init_distributed` starts a gloo process group from the environment that
``torchrun`` (or Slurm) sets; the Runner then finds the group initialised and skips its own set-up.
"""
import os
import subprocess

import torch
import torch.distributed as dist


def _slurm_to_torch_env(port: int) -> None:
    """Fill ``RANK``/``WORLD_SIZE``/``MASTER_*`` from Slurm's variables (as ``srun`` sets them)."""
    os.environ.setdefault('RANK', os.environ['SLURM_PROCID'])
    os.environ.setdefault('WORLD_SIZE', os.environ['SLURM_NTASKS'])
    os.environ.setdefault('LOCAL_RANK', os.environ.get('SLURM_LOCALID', '0'))
    if 'MASTER_ADDR' not in os.environ:
        nodes = os.environ['SLURM_NODELIST']
        host = subprocess.getoutput(f'scontrol show hostname {nodes} | head -n1')
        os.environ['MASTER_ADDR'] = host
    os.environ.setdefault('MASTER_PORT', str(port))


def init_distributed(launcher: str, port: int = 29500) -> bool:
    """Initialise a gloo process group when distributed training runs without CUDA.

    Args:
        launcher (str): ``'none'``, ``'pytorch'`` (torchrun) or ``'slurm'``.
        port (int): Master port used for Slurm when ``MASTER_PORT`` is not set.

    Returns:
        bool: True when this function created the process group; False when there is nothing
        to do (no launcher, CUDA present so MMEngine's own set-up applies, or already done).
    """
    if launcher == 'none' or torch.cuda.is_available() or dist.is_initialized():
        return False
    if launcher == 'slurm':
        _slurm_to_torch_env(port)
    elif launcher != 'pytorch':
        raise ValueError(f"launcher must be 'none', 'pytorch' or 'slurm', got {launcher!r}")
    missing = [k for k in ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT')
               if k not in os.environ]
    if missing:
        raise RuntimeError(f'--launcher {launcher} needs the environment variables {missing}; '
                           'start the script through tools/dist_train.sh (torchrun) or srun')
    dist.init_process_group(backend='gloo', init_method='env://',
                            rank=int(os.environ['RANK']),
                            world_size=int(os.environ['WORLD_SIZE']))
    return True


def shutdown_distributed() -> None:
    """Wait for every rank, then destroy the process group (MMEngine's or ours), if any.

    A process that exits with the group alive leaves gloo's threads to the interpreter's
    teardown, which can abort one rank ("terminate called without an active exception",
    SIGABRT) after training finished, and torchrun then reports the whole run as failed.
    """
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
