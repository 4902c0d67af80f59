"""The benchmark scripts run end to end at tiny sizes and write JSON records with provenance."""
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from benchmark_record import RECORD_FIELDS

ROOT = Path(__file__).resolve().parents[2]


def _load(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / 'benchmarks' / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _check_record(payload: dict):
    record = payload['record']
    assert set(RECORD_FIELDS) <= set(record)
    assert record['machine']['cpu'] and record['machine']['cores'] >= 1
    assert record['libraries']['torch'] and record['libraries']['numpy']
    assert 'torch' in record['threads']
    assert len(record['load_average']['before']) == 3
    assert len(record['load_average']['after']) == 3
    assert record['command']


@pytest.fixture(scope='module')
def run_gpu_quick(tmp_path_factory):
    """benchmarks/run_gpu.sh --quick into a temporary folder (CPU parts at smoke-test sizes)."""
    out = tmp_path_factory.mktemp('gpu_records')
    # No PYTHON: the script finds this interpreter as the launch scripts do (its virtual env)
    env = {k: v for k, v in os.environ.items() if k != 'PYTHON'}
    env.update(VIRTUAL_ENV=sys.prefix, PATH='/usr/bin:/bin', OMP_NUM_THREADS='1')
    proc = subprocess.run(['bash', str(ROOT / 'benchmarks' / 'run_gpu.sh'), str(out), '--quick'],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return out, proc.stdout


def test_run_gpu_says_which_cuda_parts_it_skipped(run_gpu_quick):
    out, stdout = run_gpu_quick
    skipped = (out / 'skipped.txt').read_text()
    if torch.cuda.is_available():
        assert '--quick: CUDA parts left out' in skipped
    else:
        for part in ('bench_attention.py --device cuda', 'bench_train_step.py --device cuda',
                     'NCCL'):
            assert 'SKIPPED (no CUDA): ' in skipped and part in skipped, part
            assert part in stdout
    assert sorted(p.name for p in out.glob('*.json')) == [
        'bench_attention_cpu_quick.json', 'bench_data_quick.json',
        'bench_train_step_cpu_quick.json']


def test_run_gpu_attention_record(run_gpu_quick):
    result = json.loads((run_gpu_quick[0] / 'bench_attention_cpu_quick.json').read_text())
    _check_record(result)
    (row, ) = result['rows']
    assert row['tokens'] == 48
    for variant in ('paper', 'chunked'):
        stats = row['variants'][variant]
        assert stats['forward_wall_s'] > 0 and stats['train_cpu_s'] > 0
        assert stats['train_peak_mib'] >= 0  # measured in a subprocess
    assert row['train_max_abs_diff_out'] < 1e-5
    assert row['train_max_abs_diff_grad_value'] < 1e-5
    # the kernel scaled_dot_product_attention dispatched to is named
    assert all(ops and all(op.startswith('aten::_scaled_dot_product') for op in ops)
               for ops in row['sdpa_backend'].values())


def test_run_gpu_train_step_record(run_gpu_quick):
    result = json.loads((run_gpu_quick[0] / 'bench_train_step_cpu_quick.json').read_text())
    _check_record(result)
    assert set(result['train']) == {'authors', 'project', 'project_amp', 'project_amp_bf16',
                                    'project_channels_last'}
    assert all(r['images_per_s'] > 0 for r in result['inference'].values())
    agreement = result['loss_agreement']
    assert set(agreement['losses']['authors']) == set(agreement['losses']['project'])
    assert agreement['max_rel_diff'] < 1e-5


def test_run_gpu_data_record(run_gpu_quick):
    result = json.loads((run_gpu_quick[0] / 'bench_data_quick.json').read_text())
    _check_record(result)
    assert result['record']['threads']['opencv'] == 1
    assert result['pipeline'] == ['LoadColorImage', 'LoadSketch', 'Resize', 'ColorJitter',
                                  'XDoG', 'TPSWarp', 'PackColorizationInputs']
    assert result['samples_per_s'] > 0 and len(result['runs']) == 1
    assert result['cpu_ms_per_sample'] > 0
    diffs = result['differences']
    # the fast path differs from the reference only by the decode: the same draws, close images
    assert diffs['fast_vs_reference']['target']['psnr_median'] > 35
    assert diffs['fast_vs_reference']['sketch']['changed_share'] < 0.05
    table = _load('bench_data').before_after(result, result)
    assert '| LoadColorImage |' in table and '| **total** |' in table


def test_bench_data_times_the_augmented_pipeline(tmp_path):
    bench_data = _load('bench_data')
    payload = bench_data.main(['--quick', '--num-images', '2', '--samples', '2',
                               '--pipeline', '_augmented_train_pipeline',
                               '--out', str(tmp_path / 'aug.json')])
    _check_record(json.loads((tmp_path / 'aug.json').read_text()))
    assert 'RandomResizedCrop' in payload['ms_per_transform']


def test_bench_data_refuses_an_unknown_pipeline(tmp_path):
    with pytest.raises(KeyError, match='no_such_pipeline'):
        _load('bench_data').main(['--quick', '--pipeline', 'no_such_pipeline',
                                  '--out', str(tmp_path / 'x.json')])


def test_bench_dist_smoke_quick_trains_two_gloo_processes(tmp_path):
    bench = _load('bench_dist_smoke')
    payload = bench.main(['--quick', '--out', str(tmp_path / 'dist.json')])
    _check_record(json.loads((tmp_path / 'dist.json').read_text()))
    assert payload['backend'] == 'gloo' and payload['ok'], payload['output_tail']
    assert payload['last_losses']['iter'] == 2 and 'loss_rec' in payload['last_losses']


def test_bench_train_step_memory_child(capsys):
    bench_train_step = _load('bench_train_step')
    bench_train_step.main(['--measure-memory', 'chunked', '--size', '16', '--width', '2',
                           '--num-levels', '3', '--batch', '1', '--chunk-size', '8'])
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])['peak_mib'] >= 0


def test_bench_colorize_memory_child_counts_passes_and_kept_attention(capsys):
    bench = _load('bench_colorize_memory')
    args = bench.parse_args([])
    by_name = {case['name']: case for case in bench.cases(args)}
    assert {'4 x 512² (count)', '4 x 512² (pixels)', '1 x 1024², attention point'} <= set(by_name)
    case = dict(name='t', sizes=[64, 64, 128], policy='pixels', max_batch_pixels=2 * 64 * 64,
                batch_size=None, attention='point')
    bench.main(['--child', json.dumps(case)])
    row = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert row['passes'] == [2, 1]  # two 64² share a pass, the 128² runs alone
    assert row['peak_rss_mib'] > 0 and row['added_mib'] >= 0
    # one float32 row per pair: 8 x 8 reference tokens at 64², 16 x 16 at 128² (stride 8)
    assert row['kept_attention_bytes'] == 4 * (64 + 64 + 256)
    assert '| t | pixels (8192 px) | [2, 1] |' in bench.markdown(dict(cases=[row]))
