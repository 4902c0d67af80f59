"""WorkDirLock: one holder at a time; a killed holder's lock is taken over, naming its PID."""
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from colorizer.engine.work_dir_lock import WorkDirLock, WorkDirLockedError, lock_work_dir

ROOT = Path(__file__).resolve().parents[2]
#: A process that takes the lock, says so, then sleeps (or SIGKILLs itself with 'kill').
HOLDER = ('import os, sys, time, signal\n'
          'from colorizer.engine.work_dir_lock import WorkDirLock\n'
          'lock = WorkDirLock(sys.argv[1]).acquire()\n'
          'print("held", flush=True)\n'
          'if sys.argv[2] == "kill": os.kill(os.getpid(), signal.SIGKILL)\n'
          'time.sleep(60)\n')


def _holder(work, mode):
    proc = subprocess.Popen([sys.executable, '-c', HOLDER, str(work), mode], cwd=ROOT,
                            stdout=subprocess.PIPE, text=True,
                            env=dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS='1'))
    assert proc.stdout.readline().strip() == 'held'
    return proc


def test_a_live_holder_refuses_a_second_lock_naming_its_pid(tmp_path):
    proc = _holder(tmp_path, 'sleep')
    try:
        with pytest.raises(WorkDirLockedError, match=rf'in use by another training run '
                                                     rf'\(PID {proc.pid} on host '):
            WorkDirLock(str(tmp_path)).acquire()
    finally:
        proc.kill()
        proc.wait()


def test_the_lock_of_a_sigkilled_run_is_taken_over_and_its_pid_named(tmp_path):
    proc = _holder(tmp_path, 'kill')
    assert proc.wait() == -signal.SIGKILL
    assert (tmp_path / WorkDirLock.NAME).read_text().startswith(f'PID {proc.pid} ')  # stale
    lock = WorkDirLock(str(tmp_path)).acquire()
    assert lock.previous_owner.startswith(f'PID {proc.pid} on host ')
    assert (tmp_path / WorkDirLock.NAME).read_text().startswith(f'PID {os.getpid()} ')
    lock.release()
    assert not (tmp_path / WorkDirLock.NAME).exists()


def test_release_lets_the_next_run_lock_without_a_takeover(tmp_path):
    with WorkDirLock(str(tmp_path / 'new')):  # the folder is created
        with pytest.raises(WorkDirLockedError):  # a second holder, even in this process
            WorkDirLock(str(tmp_path / 'new')).acquire()
    lock = WorkDirLock(str(tmp_path / 'new')).acquire()
    assert lock.previous_owner == ''
    lock.release()
    lock.release()  # idempotent


def test_only_global_rank_zero_locks(tmp_path, monkeypatch):
    monkeypatch.setenv('RANK', '1')
    assert lock_work_dir(str(tmp_path)) is None
    assert not (tmp_path / WorkDirLock.NAME).exists()
    monkeypatch.setenv('RANK', '0')
    lock = lock_work_dir(str(tmp_path))
    assert (tmp_path / WorkDirLock.NAME).exists()
    lock.release()
