"""benchmarks/bench_threads.py runs the four conditions and writes a complete record."""
import importlib.util
import json
from pathlib import Path

import pytest

from benchmark_record import RECORD_FIELDS

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_bench_threads_quick_writes_every_condition(tmp_path):
    spec = importlib.util.spec_from_file_location('bench_threads',
                                                  ROOT / 'benchmarks' / 'bench_threads.py')
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    out = tmp_path / 'threads.json'
    bench.main(['--quick', '--load-procs', '1', '--out', str(out)])
    result = json.loads(out.read_text())
    assert set(RECORD_FIELDS) <= set(result['record'])
    conditions = {(run['load'], run['setting']) for run in result['runs']}
    assert conditions == {(load, setting) for load in ('idle', 'loaded')
                          for setting in ('torch', 'auto')}
    for run in result['runs']:
        assert run['s_per_iter_median'] > 0 and run['iterations'] == 3
        assert len(run['load_average']['before']) == 3
        # the tool logged its choice: torch's default, or auto with a thread count
        expected = 'torch default' if run['setting'] == 'torch' else 'COLORIZER_THREADS=auto'
        assert expected in run['thread_choice']
    assert set(result['speedup_auto_over_torch']) == {'idle', 'loaded'}
