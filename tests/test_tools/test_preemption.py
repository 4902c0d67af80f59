"""Pre-emption (SIGTERM, SIGUSR1) saves at the iteration's end and exits 75; Ctrl-C is one line.

The signals come from ``fault_plugin.SignalAtIterHook`` (tests/test_tools/plugins): the
process signals itself when a chosen iteration starts, i.e. in the middle of that iteration,
as a scheduler's signal would land, but at a reproducible instant.
"""
import os
import shutil
import signal
import sys

import pytest
import torch

from colorizer.engine import safe_load
from colorizer.engine.preemption import PREEMPTED_EXIT_CODE
from tool_runner import ROOT, TINY, free_port, run_tool, train

#: The plugins first, then this checkout (not an installed colorizer).
PLUGINS = os.pathsep.join([str(ROOT / 'tests' / 'test_tools' / 'plugins'), str(ROOT)])
COMMON = ['train_cfg.val_interval=100', 'default_hooks.checkpoint.interval=3']


def _config(tmp_path, iteration, signal_name='SIGTERM', rank=0, children=False):
    """The demo config with SafeCheckpointHook, SampleGridHook (TINY's index 1) and a signal."""
    config = tmp_path / f'signal_{signal_name}_{iteration}_{rank}_{children}.py'
    config.write_text(
        f"_base_ = ['{ROOT / 'configs' / 'sga' / 'sga_demo.py'}']\n"
        "custom_imports = dict(imports=['fault_plugin'], allow_failed_imports=False)\n"
        "custom_hooks = [dict(type='SafeCheckpointHook'), dict(type='SampleGridHook'),\n"
        f"                dict(type='SignalAtIterHook', iteration={iteration},\n"
        f"                     signal_name='{signal_name}', rank={rank},\n"
        f"                     children={children})]\n")
    return str(config)


def _assert_one_line(result, *fragments):
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert 'Traceback' not in result.stderr, result.stderr[-3000:]
    assert all(f in lines[-1] for f in fragments), lines[-3:]


def _assert_same_training_state(a_path, b_path):
    a, b = safe_load(str(a_path)), safe_load(str(b_path))
    assert a['meta']['iter'] == b['meta']['iter']
    assert a['state_dict'].keys() == b['state_dict'].keys()
    for key, value in a['state_dict'].items():
        assert torch.equal(value, b['state_dict'][key]), key
    for net in ('generator', 'discriminator'):
        states_a = list(a['optimizer'][net]['state'].values())
        states_b = list(b['optimizer'][net]['state'].values())
        assert len(states_a) == len(states_b) > 0
        for sa, sb in zip(states_a, states_b):
            assert all(torch.equal(sa[k], sb[k]) for k in sa)


def test_sigterm_saves_the_iteration_then_resume_equals_the_uninterrupted_run(tmp_path):
    env = {'PYTHONPATH': PLUGINS}
    straight, split = tmp_path / 'straight', tmp_path / 'split'
    # Same hooks in both runs; the straight run's signal would come at iteration 1000.
    train(straight, 'train_cfg.max_iters=5', *COMMON, config=_config(tmp_path, 1000), env=env)
    # SIGTERM while the 2nd iteration (runner.iter 1) runs: that iteration completes and is
    # saved, though no periodic checkpoint is due (interval 3).
    stopped = train(split, 'train_cfg.max_iters=5', *COMMON, config=_config(tmp_path, 1),
                    env=env, check=False)
    assert stopped.returncode == PREEMPTED_EXIT_CODE, stopped.stderr[-3000:]
    _assert_one_line(stopped, 'stopped: SIGTERM received: stopped after iteration 2',
                     f'{split}/iter_2.pth', '--resume')
    assert (split / 'last_checkpoint').read_text() == str(split / 'iter_2.pth')
    assert safe_load(str(split / 'iter_2.pth'))['meta']['iter'] == 2
    assert not (split / '.colorizer.lock').exists()  # released on this exit too
    resumed = train(split, 'train_cfg.max_iters=5', *COMMON, config=_config(tmp_path, 1),
                    env=env, extra=['--resume'])
    assert 'resumed epoch: 0, iter: 2' in resumed.stdout
    _assert_same_training_state(straight / 'iter_5.pth', split / 'iter_5.pth')


def test_sigusr1_at_a_checkpoint_iteration_saves_once_and_exits_75(tmp_path):
    work = tmp_path / 'work'
    # Signal during iteration 3, which the periodic checkpoint (interval 3) saves anyway.
    result = train(work, 'train_cfg.max_iters=6', *COMMON,
                   'default_hooks.checkpoint.max_keep_ckpts=1',
                   config=_config(tmp_path, 2, 'SIGUSR1'), env={'PYTHONPATH': PLUGINS},
                   check=False)
    assert result.returncode == PREEMPTED_EXIT_CODE, result.stderr[-3000:]
    _assert_one_line(result, 'SIGUSR1 received: stopped after iteration 3')
    assert sorted(p.name for p in work.glob('iter_*.pth')) == ['iter_3.pth']
    assert result.stdout.count('Saving checkpoint at 3 iterations') == 1
    assert (work / 'last_checkpoint').read_text() == str(work / 'iter_3.pth')


def test_sigterm_to_the_whole_job_dataloader_workers_included_still_saves(tmp_path):
    work = tmp_path / 'work'
    # As Slurm does: the training process and its two DataLoader workers get SIGTERM.
    result = train(work, 'train_cfg.max_iters=6', *COMMON, 'train_dataloader.num_workers=2',
                   config=_config(tmp_path, 1, children=True), env={'PYTHONPATH': PLUGINS},
                   check=False)
    assert result.returncode == PREEMPTED_EXIT_CODE, result.stderr[-3000:]
    _assert_one_line(result, 'SIGTERM received: stopped after iteration 2')
    assert safe_load(str(work / 'iter_2.pth'))['meta']['iter'] == 2


def test_sigterm_to_one_torchrun_rank_stops_every_rank_after_the_same_iteration(tmp_path):
    work = tmp_path / 'dist'
    # Only rank 1 is signalled (iteration 1); rank 0 learns it through the per-iteration
    # all_reduce and both stop after iteration 2.
    result = run_tool(['bash', 'tools/dist_train.sh', _config(tmp_path, 1, rank=1), '2',
                       '--work-dir', str(work), '--cfg-options', *TINY,
                       'train_cfg.max_iters=6', *COMMON],
                      env={'MASTER_PORT': str(free_port()), 'PYTHONPATH': PLUGINS}, check=False)
    assert result.returncode != 0
    log = result.stdout + result.stderr
    assert log.count('stopped: SIGTERM received: stopped after iteration 2') == 2, log[-4000:]
    assert 'exitcode  : 75' in log or 'exitcode: 75' in log.replace(' ', ''), log[-3000:]
    assert safe_load(str(work / 'iter_2.pth'))['meta']['iter'] == 2
    assert (work / 'last_checkpoint').read_text() == str(work / 'iter_2.pth')
    # The saved state continues (here on one process).
    train(work, 'train_cfg.max_iters=3', *COMMON, extra=['--resume'])
    assert safe_load(str(work / 'iter_3.pth'))['meta']['iter'] == 3


def test_ctrl_c_exits_with_one_line(tmp_path):
    work = tmp_path / 'work'
    result = train(work, 'train_cfg.max_iters=6', *COMMON,
                   config=_config(tmp_path, 4, 'SIGINT'), env={'PYTHONPATH': PLUGINS},
                   check=False)
    assert result.returncode == 130, result.stderr[-3000:]
    _assert_one_line(result, 'interrupted (Ctrl-C)', f'{work}/iter_3.pth', '--resume')
    assert not (work / '.colorizer.lock').exists()


STRACE = shutil.which('strace')


@pytest.mark.skipif(STRACE is None, reason='needs strace to land a signal inside a save')
def test_ctrl_c_inside_a_checkpoint_save_completes_the_save_and_exits_with_one_line(tmp_path):
    work = tmp_path / 'work'
    # SIGINT at the first fsync: inside the atomic write of iter_1.pth.
    cmd = [STRACE, '-f', '-qq', '-o', '/dev/null', '-e', 'trace=fsync',
           '-e', 'inject=fsync:signal=SIGINT:when=1',
           sys.executable, 'tools/train.py', 'configs/sga/sga_demo.py', '--work-dir', str(work),
           '--cfg-options', *TINY, 'train_cfg.max_iters=3', 'train_cfg.val_interval=100',
           'default_hooks.checkpoint.interval=1']
    result = run_tool(cmd, check=False)
    assert result.returncode == 130, result.stderr[-3000:]
    _assert_one_line(result, 'interrupted (Ctrl-C)', f'{work}/iter_1.pth')
    assert 'Failed to format the config file' not in result.stderr
    assert safe_load(str(work / 'iter_1.pth'))['meta']['iter'] == 1  # complete


def test_ctrl_c_inside_the_config_formatting_of_a_save_is_not_a_syntax_error(tmp_path):
    """MMEngine formats the config inside a bare ``except:`` (Config.pretty_text)."""
    from mmengine.config import config as mm_config

    from colorizer.engine.preemption import interrupts_deferred
    original = mm_config.FormatCode

    def interrupted_format(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGINT)
        return original(*args, **kwargs)

    cfg = mm_config.Config(dict(a=1, b=dict(c=[1, 2])))
    mm_config.FormatCode = interrupted_format
    try:
        with pytest.raises(KeyboardInterrupt):
            with interrupts_deferred():
                text = cfg.pretty_text
    finally:
        mm_config.FormatCode = original
    assert 'a = 1' in text  # formatted completely, then interrupted


def test_signal_handlers_are_restored_after_a_run(tmp_path):
    before = [signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGUSR1, signal.SIGINT)]
    from colorizer.engine.preemption import PreemptionHook
    hook = PreemptionHook()
    hook.before_run(None)
    assert signal.getsignal(signal.SIGTERM) == hook._record
    hook.after_run(None)
    after = [signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGUSR1, signal.SIGINT)]
    assert after == before
