"""A run killed with SIGKILL at a random moment resumes from its last complete checkpoint."""
import os
import random
import signal
import subprocess
import sys
import time

import torch

from colorizer.engine import safe_load
from tool_runner import ROOT, TINY, train


def test_sigkill_during_training_then_resume_finishes(tmp_path):
    work = tmp_path / 'work'
    options = ['train_cfg.max_iters=40', 'train_cfg.val_interval=100',
               'default_hooks.checkpoint.interval=1', 'default_hooks.checkpoint.max_keep_ckpts=2']
    cmd = [sys.executable, 'tools/train.py', 'configs/sga/sga_demo.py', '--work-dir', str(work),
           '--cfg-options', *TINY, *options]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=dict(os.environ, OMP_NUM_THREADS='1'))
    try:
        deadline = time.time() + 300
        while not (work / 'last_checkpoint').exists():  # a checkpoint is written every iteration
            assert proc.poll() is None and time.time() < deadline, 'training did not start'
            time.sleep(0.2)
        time.sleep(random.uniform(0.0, 1.5))  # somewhere in the next iterations / writes
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()

    pointer = (work / 'last_checkpoint').read_text()
    assert os.path.isfile(pointer), 'the pointer names a complete file'
    killed_at = safe_load(pointer)['meta']['iter']  # loads: the file is complete

    train(work, *options, extra=['--resume'])
    final = safe_load(str(work / 'iter_40.pth'))
    assert final['meta']['iter'] == 40 and killed_at < 40


def test_resume_is_exact_two_n_straight_equals_n_plus_resume_plus_n(tmp_path):
    """Data order, augmentation randomness, both optimisers and BN buffers all resume.

    Exact on CPU with ``randomness.deterministic=True`` (in TINY) and a fixed seed.
    """
    common = ['train_cfg.val_interval=100', 'default_hooks.checkpoint.interval=3']
    straight, split = tmp_path / 'straight', tmp_path / 'split'
    train(straight, 'train_cfg.max_iters=6', *common)
    train(split, 'train_cfg.max_iters=3', *common)
    train(split, 'train_cfg.max_iters=6', *common, extra=['--resume'])
    a = safe_load(str(straight / 'iter_6.pth'))
    b = safe_load(str(split / 'iter_6.pth'))
    assert a['state_dict'].keys() == b['state_dict'].keys()
    for key, value in a['state_dict'].items():
        assert torch.equal(value, b['state_dict'][key]), key
    for net in ('generator', 'discriminator'):
        for sa, sb in zip(a['optimizer'][net]['state'].values(),
                          b['optimizer'][net]['state'].values()):
            assert all(torch.equal(sa[k], sb[k]) for k in sa)
