"""The launch scripts find the interpreter colorizer was installed into without an activated
venv (the README's quick start installs into .venv and never activates it)."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: A shell with no PYTHON, no activated venv, and only the system's directories on PATH.
BARE_ENV = {'PATH': '/usr/bin:/bin', 'HOME': os.environ.get('HOME', '/root')}


def _find_python(root: Path, env=None):
    script = f'ROOT={root}; source {ROOT}/tools/python_env.sh; find_python; echo "$PY"'
    return subprocess.run(['bash', '-c', script], env={**BARE_ENV, **(env or {})},
                          capture_output=True, text=True, timeout=60)


def _system_python_has_torch() -> bool:
    out = subprocess.run(['bash', '-c', 'python3 -c "import torch, mmengine"'], env=BARE_ENV,
                         capture_output=True, timeout=120)
    return out.returncode == 0


def test_repository_venv_is_found(tmp_path):
    (tmp_path / '.venv' / 'bin').mkdir(parents=True)
    # a wrapper, not a symlink: a symlinked venv python outside its venv loses the venv
    wrapper = tmp_path / '.venv' / 'bin' / 'python'
    wrapper.write_text(f'#!/bin/sh\nexec {sys.executable} "$@"\n')
    wrapper.chmod(0o755)
    out = _find_python(tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f'{tmp_path}/.venv/bin/python'


def test_python_variable_wins(tmp_path):
    (tmp_path / '.venv' / 'bin').mkdir(parents=True)
    (tmp_path / '.venv' / 'bin' / 'python').symlink_to('/bin/false')
    out = _find_python(tmp_path, {'PYTHON': sys.executable})
    assert out.stdout.strip() == sys.executable


def test_interpreter_without_torch_is_reported(tmp_path):
    if _system_python_has_torch():
        pytest.skip('the system python3 has torch: nothing to report')
    out = _find_python(tmp_path)  # no .venv under tmp_path
    assert out.returncode == 2
    assert 'cannot import torch and mmengine' in out.stderr and 'PYTHON' in out.stderr


@pytest.mark.skipif(not (ROOT / '.venv' / 'bin' / 'python').exists(),
                    reason='no .venv in the repository (the quick start makes one)')
def test_dist_train_runs_from_a_bare_shell():
    # Before: `python -m torch.distributed.run` with the system python, "No module named torch".
    out = subprocess.run(['bash', 'tools/dist_train.sh', 'configs/sga/sga_demo.py', '1', '--help'],
                         cwd=ROOT, env={**BARE_ENV, 'OMP_NUM_THREADS': '1'},
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert 'Train a colorizer model' in out.stdout
