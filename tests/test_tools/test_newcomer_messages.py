"""What a newcomer reads: tools/test.py never replaces a result silently, the web demo says
what it is doing while it starts, the training log names the device actually used."""
import json
import re
import sys

import pytest

from colorizer.engine import safe_load
from colorizer.engine.resume_config_check import parse_config_text
from tool_runner import TINY, run_tool, train


def test_test_tool_names_results_after_the_checkpoint_and_says_when_it_replaces(tmp_path):
    work = tmp_path / 'work'
    trained = train(work, 'train_cfg.max_iters=2', 'train_cfg.val_interval=1000',
                    'default_hooks.checkpoint.interval=1')
    # The environment block says what this CPU run uses, not the config's nccl / "GPU number".
    block = trained.stdout.split('Runtime environment:')[1].split('-' * 60)[0]
    assert 'Device: cpu' in block and 'Process group backend: none (one process)' in block
    assert 'Processes (world size): 1' in block
    assert 'GPU number' not in block and 'nccl' not in block
    # So do the logged config, the one dumped to the work dir and the one in each checkpoint:
    # no process group, no backend (the default runtime configures nccl).
    assert 'nccl' not in trained.stdout + trained.stderr
    saved = safe_load(str(work / 'iter_2.pth'))
    for text in ((work / 'sga_demo.py').read_text(), saved['meta']['cfg']):
        assert parse_config_text(text)['env_cfg']['dist_cfg'] == {'backend': None}

    def test(checkpoint):
        return run_tool([sys.executable, 'tools/test.py', 'configs/sga/sga_demo.py',
                         str(work / checkpoint), '--work-dir', str(work),
                         '--cfg-options', *TINY]).stdout

    first, second = test('iter_1.pth'), test('iter_2.pth')
    assert f'metrics written to {work}/results_iter_1.json\n' in first
    assert f'metrics written to {work}/results_iter_2.json\n' in second
    record = json.loads((work / 'results_iter_1.json').read_text())
    assert record['checkpoint'] == str(work / 'iter_1.pth')  # not overwritten by iter_2's
    again = test('iter_2.pth')
    assert (f'metrics written to {work}/results_iter_2.json (it held an earlier result, now '
            'replaced)') in again


def test_web_demo_says_what_it_loads_before_it_is_ready(tmp_path):
    pytest.importorskip('gradio', reason='gradio not installed (pip install gradio)')
    missing = tmp_path / 'missing.pth'
    result = run_tool([sys.executable, 'tools/demo/web_demo.py', '--config',
                       'configs/sga/sga_demo.py', '--checkpoint', str(missing)], check=False)
    lines = result.stderr.splitlines()
    steps = [line for line in lines if line.startswith('web demo: ')]
    assert steps[0] == 'web demo: importing gradio and torch...'
    assert re.fullmatch(rf'web demo: loading the model of configs/sga/sga_demo.py from '
                        rf'{missing} on cpu\.\.\.', steps[1]), steps
    assert result.returncode != 0 and str(missing) in lines[-1]
