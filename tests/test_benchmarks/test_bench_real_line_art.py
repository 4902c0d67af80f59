"""benchmarks/bench_real_line_art.py: the paired comparison and the commands it runs."""
import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _module():
    spec = importlib.util.spec_from_file_location(
        'bench_real_line_art', ROOT / 'benchmarks/bench_real_line_art.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_paired_differences_by_seed():
    bench = _module()
    key = 'self_ref/segment_accuracy'
    runs = [dict(method='sga', regime=regime, seed=seed, metrics={key: value})
            for regime, seed, value in (('xdog', 0, 0.5), ('real', 0, 0.7), ('xdog', 1, 0.4),
                                        ('real', 1, 0.8), ('xdog', 2, 0.3))]
    table = bench.paired(runs, key)
    assert table['sga']['seeds'] == [0, 1]  # seed 2 has no real-trained run to pair with
    assert table['sga']['per_seed'] == pytest.approx([0.2, 0.4])
    assert table['sga']['mean'] == pytest.approx(0.3)
    assert table['sga']['std'] == pytest.approx(0.1414213, rel=1e-5)


def test_every_method_has_both_configs_and_options_reach_the_right_loaders():
    bench = _module()
    for xdog, real in bench.METHODS.values():
        assert (ROOT / xdog).is_file() and (ROOT / real).is_file()
    args = bench.parse_args(['--data-root', 'D', '--out', 'o.json', '--iters', '5',
                             '--img-size', '32', '--split-file', 's.json'])
    xdog = bench._options(args, 3, train=True, real=False)
    assert 'randomness.seed=3' in xdog and 'train_cfg.max_iters=5' in xdog
    assert not any('split_file' in o for o in xdog)  # the synthetic training set has none
    real = bench._options(args, 3, train=True, real=True)
    assert 'train_dataloader.dataset.split_file=s.json' in real
    test = bench._options(args, 3, train=False)
    assert test == ['img_size=32', 'test_dataloader.dataset.split_file=s.json']


def test_summary_and_a_failed_run_do_not_break_the_record():
    bench = _module()
    key = 'self_ref/segment_accuracy'
    runs = [dict(method='corr_sga', regime='real', seed=s, metrics={key: v})
            for s, v in ((0, 0.3), (1, 0.5))]
    runs.append(dict(method='corr_sga', regime='xdog', seed=0, metrics={key: 0.2}))
    runs.append(dict(method='corr_sga', regime='xdog', seed=1, metrics={}, error='boom'))
    table = bench.summary(runs, key)
    assert table['corr_sga']['real']['mean'] == pytest.approx(0.4)
    assert table['corr_sga']['real']['std'] == pytest.approx(0.1414213, rel=1e-5)
    assert table['corr_sga']['xdog'] == dict(n=1, mean=pytest.approx(0.2), std=None)
    paired = bench.paired(runs, key)  # seed 1's XDoG run failed: only seed 0 pairs
    assert paired['corr_sga']['seeds'] == [0]
    assert paired['corr_sga']['per_seed'] == pytest.approx([0.1])


def test_a_failing_command_is_recorded_not_raised(tmp_path, monkeypatch):
    bench = _module()
    args = bench.parse_args(['--data-root', str(tmp_path), '--out', str(tmp_path / 'o.json'),
                             '--work-dir', str(tmp_path)])

    def fail(command):
        raise RuntimeError('tools/train.py failed (1)')
    monkeypatch.setattr(bench, '_run', fail)
    run = bench.run_or_reuse(args, 'sga', 'real', 0)
    assert run['error'] == 'tools/train.py failed (1)' and run['metrics'] == {}


def test_each_method_against_sga_paired_by_seed_and_regime():
    bench = _module()
    key = 'self_ref/segment_accuracy'
    values = {('sga', 'real', 0): 0.30, ('sga', 'real', 1): 0.32, ('sga', 'xdog', 0): 0.28,
              ('oracle', 'real', 0): 0.40, ('oracle', 'real', 1): 0.31,
              ('oracle', 'xdog', 0): 0.29, ('oracle', 'xdog', 1): 0.5}  # no SGA seed 1 xdog
    runs = [dict(method=m, regime=g, seed=s, metrics={key: v})
            for (m, g, s), v in values.items()]
    table = bench.paired_against(runs, key)
    assert set(table) == {'real', 'xdog'} and 'sga' not in table['real']
    assert table['real']['oracle']['per_seed'] == pytest.approx([0.10, -0.01])
    assert table['real']['oracle']['better'] == 1
    # lower is better (ΔE): the seed where the method's value is lower counts
    lower = bench.paired_against(runs, key, higher_is_better=False)
    assert lower['real']['oracle']['better'] == 1 and lower['xdog']['oracle']['better'] == 0
    assert table['real']['oracle']['mean'] == pytest.approx(0.045)
    assert table['xdog']['oracle']['seeds'] == [0]  # seed 1 has no SGA run to pair with
    assert table['xdog']['oracle']['std'] is None


def test_readme_tables_from_a_record(tmp_path, capsys):
    bench = _module()
    keys = ('self_ref/segment_accuracy', 'self_ref/segment_delta_e',
            'self_ref/corr/region_mass', 'self_ref/corr/region_chance')
    runs = [dict(method=m, regime='real', seed=s, metrics=dict(zip(keys, values)))
            for m, s, values in (('sga', 0, (0.30, 60.0, 0.20, 0.13)),
                                 ('sga', 1, (0.32, 58.0, 0.30, 0.13)),
                                 ('oracle', 0, (0.40, 50.0, 0.94, 0.13)),
                                 ('oracle', 1, (0.36, 54.0, 0.90, 0.13)))]
    args = bench.parse_args(['--data-root', 'D', '--out', 'o.json', '--methods', 'sga',
                             'oracle', '--regimes', 'real'])
    record = tmp_path / 'record.json'
    record.write_text(json.dumps(bench._result(args, runs)))
    bench.main(['--tables', str(record)])
    table = capsys.readouterr().out
    assert '| oracle map (control) | real line art | 2 | 0.380 ± 0.028 | 52.0 ± 2.8 | ' \
        '0.920 ± 0.028 (0.130) |' in table
    # oracle - SGA per seed: +0.10, +0.04 accuracy; -10, -4 ΔE; +0.74, +0.60 mass
    assert '| oracle map (control) | real line art | +0.070 ± 0.042 (2/2 better) | ' \
        '-7.00 ± 4.24 (2/2 better) | +0.670 ± 0.099 (2/2 better) |' in table
