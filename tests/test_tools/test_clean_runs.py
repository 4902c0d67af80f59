"""Every shipped demo config trains briefly with no WARNING that a user could not act on.
All configs run in one subprocess (tests/test_tools/train_in_one_process.py)."""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tool_runner import ROOT, TINY

#: WARNING lines a clean run may print: none. (MMEngine 0.10.7's own unactionable ones are
#: gone at their source: colorizer's CheckpointHook drops the deprecation messages of the
#: FileClient MMEngine builds and never uses, and saves no scheduler state when there is no
#: scheduler, where Runner.save_checkpoint warned at every checkpoint.)
ALLOWED_WARNINGS = ()

#: MMEngine's logger (``- WARNING -``) and Python's warnings (``UserWarning: ...``).
WARNING_LINE = re.compile(r' - WARNING - |\b[A-Z]\w*Warning: ')

DEMO_CONFIGS = sorted(str(p.relative_to(ROOT)) for p in ROOT.glob('configs/*/*_demo.py'))


def run_jobs(jobs, tmp_path, timeout=900):
    """Run ``[config, work_dir, *options]`` jobs in one process.

    Returns:
        ``[(exit status, output lines)]`` in job order.
    """
    jobs_file = tmp_path / 'jobs.json'
    jobs_file.write_text(json.dumps(jobs))
    result = subprocess.run(
        [sys.executable, str(ROOT / 'tests' / 'test_tools' / 'train_in_one_process.py'),
         str(jobs_file)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, timeout=timeout,
        env=dict(os.environ, OMP_NUM_THREADS='1', PYTHONUNBUFFERED='1'))
    runs, current = [], None
    for line in result.stdout.splitlines():
        if re.match(r'=== job \d+ start: ', line):
            current = [None, []]
            runs.append(current)
        elif re.match(r'=== job \d+ end: -?\d+$', line):
            current[0] = int(line.rsplit(' ', 1)[1])
            current = None
        elif current is not None:
            current[1].append(line)
    assert len(runs) == len(jobs) and all(r[0] is not None for r in runs), \
        result.stdout[-5000:]
    return [tuple(run) for run in runs]


def short_run(config, work_dir, *options):
    return [config, str(work_dir), *TINY, 'train_cfg.max_iters=2', 'train_cfg.val_interval=2',
            'default_hooks.checkpoint.interval=2', *options]


@pytest.mark.slow
def test_every_demo_config_trains_without_unexpected_warnings(tmp_path):
    assert len(DEMO_CONFIGS) >= 12
    runs = run_jobs([short_run(c, tmp_path / Path(c).stem) for c in DEMO_CONFIGS], tmp_path)
    problems = []
    for config, (status, lines) in zip(DEMO_CONFIGS, runs):
        if status != 0:
            problems.append(f'{config}: exit status {status}:\n' + '\n'.join(lines[-30:]))
        unexpected = [line for line in lines if WARNING_LINE.search(line)
                      and not any(allowed in line for allowed in ALLOWED_WARNINGS)]
        problems += [f'{config}: {line}' for line in unexpected]
        assert (tmp_path / Path(config).stem / 'iter_2.pth').exists(), config
    assert not problems, '\n'.join(problems)
