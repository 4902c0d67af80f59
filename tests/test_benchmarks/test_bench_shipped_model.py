"""bench_shipped_model.py trains both arms paired by seed and scores four protocols."""
import importlib.util
import json
from pathlib import Path

import cv2
import pytest
from benchmark_record import RECORD_FIELDS

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_quick_run_scores_both_arms_with_leakage_protocols(tmp_path):
    spec = importlib.util.spec_from_file_location(
        'bench_shipped_model', ROOT / 'benchmarks' / 'bench_shipped_model.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out, grid = tmp_path / 'shipped.json', tmp_path / 'grid.png'
    args = ['--quick', '--seeds', '0', '--work-root', str(tmp_path / 'work'), '--out', str(out),
            '--grid', str(grid)]
    module.main(args)
    payload = json.loads(out.read_text())
    assert set(RECORD_FIELDS) <= set(payload['record'])
    for arm in ('shipped', 'scft'):
        scores = payload['runs'][arm]['0']['synthetic']
        assert set(scores) == set(module.PROTOCOLS)
        for protocol in scores.values():
            assert protocol['delta_e'] > 0 and 0 <= protocol['region_accuracy'] <= 1
        assert 'survival' in scores['shuffled_reference']
    assert set(payload['summary']['shipped_minus_scft']['0']) >= {'plain/delta_e'}
    image = cv2.imread(str(grid))
    assert image.shape[1] == 2 + 5 * (32 + 2) and image.shape[0] > 2 + 6 * (32 + 2)
    # --reuse scores the same checkpoints again without training: the same numbers
    module.main(args + ['--reuse'])
    again = json.loads(out.read_text())
    assert again['runs']['shipped']['0']['trained_here'] is False
    assert again['runs']['shipped']['0']['synthetic'] == payload['runs']['shipped']['0'][
        'synthetic']
