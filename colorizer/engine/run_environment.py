"""The training log's environment block, saying what the run actually uses.

MMEngine 0.10.7's ``Runner._log_env`` prints the configured ``dist_cfg`` (``backend: nccl`` in
every default runtime) and ``GPU number: <world size>``, also on a CPU-only run with one
process, where neither NCCL nor any GPU is used. :func:`runtime_environment` reports the device
(``mmengine.device.get_device``: what the model is moved to), the number of processes, and the
process group's backend as initialised (gloo on CPU, see
:func:`~colorizer.engine.distributed.init_distributed`), or that none is used.

The config the run logs, dumps to its work dir and stores in each checkpoint has the same
problem (``env_cfg.dist_cfg.backend='nccl'`` on a CPU run): :func:`record_used_backend`
writes the backend in use there (``None`` when no process group exists: nothing is used).
"""
from collections import OrderedDict
from typing import Optional

import torch
import torch.distributed as dist
from mmengine.device import get_device


def device_description() -> str:
    """``'cpu'``, or ``'cuda (2 GPUs visible: NVIDIA H200, ...)'`` and the like."""
    device = get_device()
    if device == 'cuda':
        names = sorted({torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())})
        return f'cuda ({torch.cuda.device_count()} GPU(s) visible: {", ".join(names)})'
    return device


def used_backend() -> Optional[str]:
    """The initialised process group's backend (``'gloo'``, ``'nccl'``), or ``None``."""
    if dist.is_available() and dist.is_initialized():
        return str(dist.get_backend())
    return None


def record_used_backend(cfg) -> None:
    """Set ``cfg.env_cfg.dist_cfg.backend`` to :func:`used_backend`, after the distributed
    set-up, so that the logged and dumped config says what the run uses.

    Args:
        cfg: The runner's config (``mmengine.Config``); left alone without ``env_cfg``.
    """
    env_cfg = cfg.get('env_cfg')
    if isinstance(env_cfg, dict):
        env_cfg['dist_cfg'] = dict(env_cfg.get('dist_cfg') or {}, backend=used_backend())


def runtime_environment(runner, env_cfg: dict) -> 'OrderedDict[str, object]':
    """The "Runtime environment" entries of the log, with what is used instead of configured.

    Args:
        runner: The runner being built (after its distributed set-up).
        env_cfg (dict): The config's ``env_cfg``.
    """
    env = OrderedDict((k, v) for k, v in env_cfg.items() if k != 'dist_cfg')
    env.update(runner._randomness_cfg)
    env['seed'] = runner._seed
    env['Distributed launcher'] = runner._launcher
    env['Distributed training'] = runner._distributed
    env['Process group backend'] = used_backend() or 'none (one process)'
    env['Processes (world size)'] = runner._world_size
    env['Device'] = device_description()
    return env
