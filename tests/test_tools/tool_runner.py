"""Helpers to run the command-line tools on tiny settings."""
import os
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: Shrinks configs/sga/sga_demo.py to seconds: 32 px, 2-channel base width, 4 samples a batch.
TINY = [
    'train_dataloader.batch_size=4', 'train_dataloader.num_workers=0',
    'train_dataloader.persistent_workers=False', 'train_dataloader.dataset.img_size=32',
    'val_dataloader.batch_size=4', 'val_dataloader.num_workers=0',
    'val_dataloader.persistent_workers=False', 'val_dataloader.dataset.img_size=32',
    'val_dataloader.dataset.length=4',
    'test_dataloader.batch_size=4', 'test_dataloader.num_workers=0',
    'test_dataloader.persistent_workers=False', 'test_dataloader.dataset.img_size=32',
    'test_dataloader.dataset.length=4',
    'model.generator.base_channels=2', 'model.discriminator.base_channels=4',
    'default_hooks.logger.interval=1', 'custom_hooks.1.interval=2',
    'randomness.deterministic=True',
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def run_tool(args, *, env=None, check=True, timeout=600):
    """Run a command from the repository root with this interpreter; return the result."""
    full_env = dict(os.environ, PYTHON=sys.executable, OMP_NUM_THREADS='1')
    full_env.update(env or {})
    result = subprocess.run(args, cwd=ROOT, env=full_env, capture_output=True, text=True,
                            timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f'{args} failed ({result.returncode}):\n{result.stdout[-3000:]}\n'
                             f'{result.stderr[-5000:]}')
    return result


def train(work_dir, *options, config='configs/sga/sga_demo.py', extra=(), env=None, check=True):
    return run_tool([sys.executable, 'tools/train.py', config, '--work-dir', str(work_dir),
                     *extra, '--cfg-options', *TINY, *options], env=env, check=check)
