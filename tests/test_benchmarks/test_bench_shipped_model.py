"""bench_shipped_model.py trains both arms paired by seed and scores four protocols."""
import importlib.util
import json
from pathlib import Path

import cv2
import pytest
from benchmark_record import RECORD_FIELDS

from colorizer.datasets.line_art_conversion import convert_folder

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
    # --reuse scores the same checkpoints again without training: the same numbers, and the
    # real line-art benchmark (a converted folder of hand-written drawings) beside them
    root, split_file = real_line_art_folder(tmp_path)
    module.main(args + ['--reuse', '--real-data-root', str(root), '--real-split-file',
                        str(split_file)])
    again = json.loads(out.read_text())
    assert again['runs']['shipped']['0']['trained_here'] is False
    assert again['runs']['shipped']['0']['synthetic'] == payload['runs']['shipped']['0'][
        'synthetic']
    for arm in ('shipped', 'scft'):
        real = again['runs'][arm]['0']['real_line_art']
        assert set(real) == set(module.PROTOCOLS)
        for protocol in real.values():
            assert protocol['delta_e'] > 0 and 0 <= protocol['segment_accuracy'] <= 1
    summary = again['real_line_art_summary']
    assert summary['shipped']['plain/segment_accuracy']['seeds'] == 1
    assert 'plain/segment_accuracy' in summary['shipped_minus_scft']['0']


def real_line_art_folder(tmp_path):
    """Two converted drawings of four outlined squares (the converter on hand-written SVGs)."""
    spec = importlib.util.spec_from_file_location(
        'line_art_svgs', ROOT / 'tests' / 'test_datasets' / 'line_art_svgs.py')
    svgs = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(svgs)
    src, dst = tmp_path / 'svg', tmp_path / 'converted'
    src.mkdir()
    for i, colour in enumerate(('#00aa00', '#0000ff')):
        (src / f'drawing{i}.svg').write_bytes(
            svgs.squares(('#ff0000', colour, '#ffaa00', '#aa00ff')))
    assert convert_folder(str(src), str(dst), size=40, progress=False)['accepted'] == 2
    split_file = tmp_path / 'splits.json'
    split_file.write_text(json.dumps(dict(test=['drawing0', 'drawing1'], val=[], train=[])))
    return dst, split_file
