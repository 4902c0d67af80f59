"""The benchmark scripts run end to end at tiny sizes and write their JSON."""
import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _load(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / 'benchmarks' / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def bench_attention():
    return _load('bench_attention')


@pytest.fixture(scope='module')
def bench_train_step():
    return _load('bench_train_step')


def test_bench_attention_writes_json(bench_attention, tmp_path):
    out = tmp_path / 'attention.json'
    bench_attention.main(['--sizes', '48', '--repeats', '1', '--channels', '8', '--batch', '1',
                          '--chunk-size', '16', '--out', str(out)])
    result = json.loads(out.read_text())
    (row, ) = result['rows']
    assert row['tokens'] == 48
    for variant in ('paper', 'chunked'):
        stats = row['variants'][variant]
        assert stats['forward_wall_s'] > 0 and stats['train_cpu_s'] > 0
        assert stats['train_peak_mib'] >= 0  # measured in a subprocess
    assert row['train_max_abs_diff_out'] < 1e-5
    assert row['train_max_abs_diff_grad_value'] < 1e-5
    assert result['environment']['torch']


def test_bench_train_step_writes_json(bench_train_step, tmp_path):
    out = tmp_path / 'train_step.json'
    # chunk_size 8 < 4x4 tokens: the project's variants take the two-pass chunked path
    bench_train_step.main(['--size', '16', '--width', '2', '--num-levels', '3', '--batch', '2',
                           '--repeats', '1', '--chunk-size', '8', '--amp', '--channels-last',
                           '--out', str(out)])
    result = json.loads(out.read_text())
    assert set(result['train']) == {'authors', 'project', 'project_amp',
                                    'project_channels_last'}
    assert all(r['images_per_s'] > 0 for r in result['inference'].values())
    agreement = result['loss_agreement']
    assert set(agreement['losses']['authors']) == set(agreement['losses']['project'])
    assert agreement['max_rel_diff'] < 1e-5


def test_bench_train_step_memory_child(bench_train_step, capsys):
    bench_train_step.main(['--measure-memory', 'chunked', '--size', '16', '--width', '2',
                           '--num-levels', '3', '--batch', '1', '--chunk-size', '8'])
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])['peak_mib'] >= 0
