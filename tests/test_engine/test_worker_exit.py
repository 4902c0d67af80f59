"""A run whose DataLoaders keep workers that ignore SIGTERM (``guard_workers``) still exits.

multiprocessing's exit handler SIGTERMs daemonic children and waits for them; guarded workers
ignore SIGTERM, so colorizer SIGKILLs them first. With two loaders (training and validation,
persistent workers) PyTorch's SIGCHLD handler used to raise after the first kill, leaving the
second loader's worker to a wait that never ended.
"""
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent('''
    import torch
    from colorizer.engine.preemption import guard_workers

    def loader():
        return guard_workers(torch.utils.data.DataLoader(
            list(range(8)), batch_size=4, num_workers=1, persistent_workers=True))

    train, val = loader(), loader()
    for data in (train, val):
        for batch in data:
            pass
    print('done', flush=True)
''')


def test_two_loaders_with_guarded_persistent_workers_exit_cleanly(tmp_path):
    script = tmp_path / 'two_loaders.py'
    script.write_text(SCRIPT)
    proc = subprocess.run([sys.executable, str(script)], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, env={'PYTHONPATH': str(ROOT),
                                                       'OMP_NUM_THREADS': '1'})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == 'done'
    assert 'killed by signal' not in proc.stderr, proc.stderr[-2000:]
