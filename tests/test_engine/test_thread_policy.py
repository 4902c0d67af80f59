"""The thread policy: user overrides win, auto takes the free cores, set before torch loads."""
import subprocess
import sys
from pathlib import Path

import pytest

from colorizer.thread_policy import ThreadPolicyError, choose_threads

ROOT = Path(__file__).resolve().parents[2]


def test_explicit_omp_num_threads_is_honoured():
    policy = choose_threads({'OMP_NUM_THREADS': '3'}, cores=8, busy=0)
    assert (policy.mode, policy.threads, policy.wait_policy) == ('environment', 3, 'PASSIVE')


def test_colorizer_threads_number_and_torch():
    assert choose_threads({'COLORIZER_THREADS': '5'}, cores=2, busy=2).threads == 5
    torch_default = choose_threads({'COLORIZER_THREADS': 'torch', 'OMP_NUM_THREADS': '4'},
                                   cores=2, busy=2)
    # 'torch' changes nothing: no thread count and no wait policy of ours
    assert (torch_default.mode, torch_default.threads, torch_default.wait_policy) == (
        'torch', None, None)


@pytest.mark.parametrize('cores,busy,processes,expected', [
    (2, 0.0, 1, 2),    # idle: every core
    (2, 1.0, 1, 1),    # one core busy
    (2, 2.9, 1, 1),    # oversubscribed: still one thread, never zero
    (16, 3.7, 1, 12),  # free = 12.3 -> 12
    (16, 0.0, 4, 4),   # torchrun: the free cores shared by 4 processes
    (16, 0.0, 32, 1),
])
def test_auto_takes_the_free_cores(cores, busy, processes, expected):
    policy = choose_threads({}, cores=cores, busy=busy, processes=processes)
    assert policy.mode == 'auto' and policy.threads == expected
    assert 'busy' in policy.describe()


def test_local_world_size_divides_the_cores():
    assert choose_threads({'LOCAL_WORLD_SIZE': '2'}, cores=8, busy=0).threads == 4


def test_user_wait_policy_is_kept():
    assert choose_threads({'OMP_WAIT_POLICY': 'ACTIVE'}, cores=2, busy=0).wait_policy == 'ACTIVE'


@pytest.mark.parametrize('env', [{'COLORIZER_THREADS': 'many'}, {'COLORIZER_THREADS': '0'},
                                 {'OMP_NUM_THREADS': 'x'}])
def test_malformed_values_are_rejected(env):
    with pytest.raises(ThreadPolicyError, match=next(iter(env))):
        choose_threads(env, cores=2, busy=0)


def _python(code, env):
    base = {'PATH': '/usr/bin:/bin', 'PYTHONPATH': str(ROOT)}
    return subprocess.run([sys.executable, '-c', code], env={**base, **env},
                          capture_output=True, text=True, timeout=120)


def test_policy_reaches_torch_when_applied_before_import():
    code = ('import os; from colorizer.thread_policy import apply_thread_policy; '
            'apply_thread_policy(); import torch; '
            'print(torch.get_num_threads(), os.environ["OMP_NUM_THREADS"], '
            'os.environ["OMP_WAIT_POLICY"])')
    out = _python(code, {'COLORIZER_THREADS': '1'})
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ['1', '1', 'PASSIVE']


def test_torch_mode_leaves_the_environment_alone():
    code = ('import os; from colorizer.thread_policy import apply_thread_policy; '
            'apply_thread_policy(); '
            'print(os.environ.get("OMP_NUM_THREADS"), os.environ.get("OMP_WAIT_POLICY"))')
    out = _python(code, {'COLORIZER_THREADS': 'torch'})
    assert out.stdout.split() == ['None', 'None']


def test_the_tools_apply_the_policy_before_torch_loads():
    # `import colorizer` loads torch (safe checkpoint loaders), so the tools apply the policy
    # through tools/thread_setup.py, which loads colorizer/thread_policy.py from its file.
    code = (f'import os, sys; sys.path.insert(0, {str(ROOT / "tools")!r}); import thread_setup; '
            'print("torch" in sys.modules, "colorizer" in sys.modules, '
            'os.environ["OMP_WAIT_POLICY"], os.environ["OMP_NUM_THREADS"])')
    out = _python(code, {})
    torch_loaded, package_loaded, wait, threads = out.stdout.split()
    assert (torch_loaded, package_loaded, wait) == ('False', 'False', 'PASSIVE')
    assert int(threads) >= 1
    for tool in ('tools/train.py', 'tools/test.py', 'tools/colorize.py', 'tools/demo/web_demo.py'):
        source = (ROOT / tool).read_text()
        first_heavy = min(source.index(s) for s in ('\nimport torch', '\nfrom mmengine',
                                                    '\nfrom colorizer', '\nimport cv2',
                                                    '\nimport gradio') if s in source)
        assert source.index('from thread_setup import THREAD_POLICY') < first_heavy, tool


def test_train_tool_rejects_a_malformed_setting():
    out = subprocess.run([sys.executable, 'tools/train.py', 'configs/sga/sga_demo.py'],
                         cwd=ROOT, capture_output=True, text=True, timeout=120,
                         env={'PATH': '/usr/bin:/bin', 'COLORIZER_THREADS': 'lots'})
    assert out.returncode != 0
    assert "COLORIZER_THREADS='lots' must be a positive integer" in out.stderr


def test_launcher_helper_prints_the_per_process_share():
    out = subprocess.run([sys.executable, '-m', 'colorizer.thread_policy', '--processes', '2'],
                         cwd=ROOT, capture_output=True, text=True, timeout=60,
                         env={'PATH': '/usr/bin:/bin', 'COLORIZER_THREADS': '6'})
    assert out.stdout.strip() == '6'  # a fixed N is per process already
    out = subprocess.run([sys.executable, '-m', 'colorizer.thread_policy'],
                         cwd=ROOT, capture_output=True, text=True, timeout=60,
                         env={'PATH': '/usr/bin:/bin', 'COLORIZER_THREADS': 'torch'})
    assert out.stdout == ''  # torch mode: the launcher sets nothing
