"""bench_train_run.py runs tools/train.py as a user would and records time and metrics."""
import importlib.util
import json
from pathlib import Path

from benchmark_record import RECORD_FIELDS

ROOT = Path(__file__).resolve().parents[2]


def test_quick_demo_run_writes_time_metrics_and_record(tmp_path):
    spec = importlib.util.spec_from_file_location('bench_train_run',
                                                  ROOT / 'benchmarks' / 'bench_train_run.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = tmp_path / 'run.json'
    module.main(['configs/sga/sga_demo.py', '--quick', '--work-dir', str(tmp_path / 'work'),
                 '--out', str(out)])
    payload = json.loads(out.read_text())
    assert set(RECORD_FIELDS) <= set(payload['record'])
    assert payload['wall_s'] > 0 and payload['cpu_s'] > 0
    assert payload['thread_policy']  # the line tools/train.py logs
    # the (only) validation, at iteration 6 of the demo: its region colour error and SSIM
    final = payload['final_validation']
    assert 'random_ref/delta_e' in final and 0 <= final['random_ref/ssim'] <= 1
    assert (tmp_path / 'work' / 'iter_6.pth').is_file()
