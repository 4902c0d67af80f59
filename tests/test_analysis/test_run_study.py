"""tools/analysis_tools/run_study.py --quick end to end: trains the arms with the correspondence
diagnostics, writes the tables and the figures it links."""
import csv
import json
import re
import subprocess
import sys

import pytest

from conftest import ROOT

QUICK_LABELS = ['SGA, lr 0.001', 'SCFT, lr 0.001', 'oracle map (control), lr 0.001']


def run_quick(tmp_path):
    out = tmp_path / 'results.md'
    # Two runs at a time: most of a tiny run is process start-up, not compute.
    cmd = [sys.executable, 'tools/analysis_tools/run_study.py', '--quick', '--jobs', '2',
           '--work-root', str(tmp_path / 'work'), '--out', str(out)]
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f'{result.stdout[-3000:]}\n{result.stderr[-5000:]}'
    return out


def test_quick_study_writes_tables_and_figures(tmp_path):
    out = run_quick(tmp_path)
    text = out.read_text()
    assert '<!-- run_study:begin -->' in text and '<!-- run_study:end -->' in text
    assert 'Finished runs: 3 of 3' in text
    assert 'FID' in text  # computed, or said why not
    rows = [line for line in text.splitlines() if line.startswith('| ')]
    for label in QUICK_LABELS:  # seeds '0', then the ΔE / region-mass cell (bold when best)
        pattern = re.compile(rf'\| {re.escape(label)} \| 0 \| (\*\*)?\d')
        assert sum(bool(pattern.match(line)) for line in rows) == 2, label
    # paired comparisons of the arms that ran, and the diagnostics' cost
    assert any(row.startswith('| SGA, lr 0.001 | SCFT, lr 0.001 | 0 |') for row in rows)
    assert any(row.startswith('| oracle map (control), lr 0.001 | SCFT, lr 0.001 |')
               for row in rows)
    assert re.search(r'adds \d+\.\d+( ± \d+\.\d+)?% to the training time', text)
    # SCFT's gradient cosines: one row per pair and per (pixel, instance)
    assert sum(row.startswith('| SCFT, lr 0.001 | cos(') for row in rows) == 8

    links = re.findall(r'!\[[^\]]*\]\(([^)]+)\)', text)
    assert len(links) == 4, links  # scores, diagnostics curves, SCFT histogram and shares
    for link in links:
        png = out.parent / link
        assert png.suffix == '.png' and png.stat().st_size > 1024, png

    assets = tmp_path / 'figures' / 'study'
    data = json.loads((assets / 'results.json').read_text())
    assert set(data['arms']) == {'sga', 'scft', 'oracle'}
    for row in data['arms'].values():
        assert row['seeds'] == [0]
        assert row['delta_e']['mean'] > 0 and 0 <= row['region_accuracy']['mean'] <= 1
        assert 0 <= row['corr/region_mass']['mean'] <= 1
    # the oracle's map is the ground truth: far above chance, unlike an untrained map
    oracle = data['arms']['oracle']
    assert oracle['corr/region_mass']['mean'] > oracle['corr/region_chance']['mean'] + 0.3
    # a run scores the mean of its last validations
    run = next(r for r in data['runs'] if r['arm'] == 'sga')
    assert run['scored_iters'] == [10, 20]
    assert run['score']['delta_e'] == pytest.approx(sum(
        v['random_ref/delta_e'] for v in run['validations']) / 2)
    with open(assets / 'results.csv') as f:
        assert [r['label'] for r in csv.DictReader(f)] == QUICK_LABELS

    # a second call reuses the finished runs and keeps text written outside the markers
    out.write_text(text + '\nHand-written discussion.\n')
    out_again = run_quick(tmp_path)
    assert 'Hand-written discussion.' in out_again.read_text()
    assert out_again.read_text().count('<!-- run_study:begin -->') == 1


def test_pairs_name_learning_rates_as_written(tool):
    # PAIRS says 'sga@1e-4'; the arm parsed from '--arms sga@1e-4' is keyed 'sga@0.0001', and the
    # 1e-4 comparisons were silently dropped from the report.
    study = tool('run_study')
    arms = [study.parse_arm(text, 1e-3) for text in ('sga', 'scft', 'sga@1e-4', 'scft@1e-4')]
    records = [dict(arm=arm.key, seed=seed, status='done',
                    score={'delta_e': 20.0 + i + seed, 'corr/region_mass': 0.5})
               for i, arm in enumerate(arms) for seed in (0, 1)]
    pairs = {(row['a'], row['b']): row for row in study.paired(records, arms)}
    assert ('sga@0.0001', 'scft@0.0001') in pairs
    assert pairs[('sga', 'sga@0.0001')]['delta_e']['diffs'] == [-2.0, -2.0]
