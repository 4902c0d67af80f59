"""Two tools/train.py runs on one --work-dir: the second is refused at start-up; the lock of a
SIGKILLed run is taken over by the next one, which names the killed run's PID."""
import os
import signal
import subprocess
import sys
import time

from tool_runner import ROOT, TINY, train

LONG = ['train_cfg.max_iters=500', 'train_cfg.val_interval=1000',
        'default_hooks.checkpoint.interval=1000']


def test_a_second_run_is_refused_and_a_killed_runs_lock_is_taken_over(tmp_path):
    work = tmp_path / 'work'
    first = subprocess.Popen([sys.executable, 'tools/train.py', 'configs/sga/sga_demo.py',
                              '--work-dir', str(work), '--cfg-options', *TINY, *LONG],
                             cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             env=dict(os.environ, OMP_NUM_THREADS='1'))
    try:
        deadline = time.time() + 300
        while not (work / '.colorizer.lock').exists():
            assert first.poll() is None and time.time() < deadline, 'the first run did not start'
            time.sleep(0.2)
        second = train(work, 'train_cfg.max_iters=1', check=False)
        assert second.returncode == 1
        lines = [line for line in second.stderr.splitlines() if line.strip()]
        assert 'Traceback' not in second.stderr, second.stderr[-3000:]
        assert lines[-1].startswith('error: the work dir ') and \
            f'in use by another training run (PID {first.pid} on host' in lines[-1], lines[-3:]
        assert first.poll() is None  # the first run goes on
        assert not list(work.glob('*.pth'))  # the refused run wrote nothing
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    # The killed run left its lock file; the next run takes the lock over and says whose.
    assert (work / '.colorizer.lock').read_text().startswith(f'PID {first.pid} ')
    third = train(work, 'train_cfg.max_iters=1', 'train_cfg.val_interval=1000')
    log = third.stdout + third.stderr
    assert f'taking over the lock of {work} left by a run that no longer runs ' \
           f'(PID {first.pid} on host' in log
    assert (work / 'iter_1.pth').is_file() and not (work / '.colorizer.lock').exists()
