"""tools/analysis_tools/run_study.py --quick end to end: runs train and test, writes the tables
and the figures it links."""
import csv
import json
import re
import subprocess
import sys

from conftest import ROOT

QUICK_LABELS = ['SGA', 'SCFT', 'SGA w/o stop-gradient']


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
    for label in QUICK_LABELS:  # seeds '0', then the ΔE cell (bold when best)
        pattern = re.compile(rf'\| {re.escape(label)} \| 0 \| (\*\*)?\d')
        assert any(pattern.match(line) for line in rows), label
    # one row per pair and per (pixel, instance) for each of the two recorded methods
    assert sum(row.startswith('| SCFT | cos(') for row in rows) == 8
    assert sum(row.startswith('| SGA w/o stop-gradient | cos(') for row in rows) == 8

    links = re.findall(r'!\[[^\]]*\]\(([^)]+)\)', text)
    assert len(links) == 6, links  # metrics, 2 x (histogram, shares), L_rec curves
    for link in links:
        png = out.parent / link
        assert png.suffix == '.png' and png.stat().st_size > 1024, png

    assets = tmp_path / 'figures' / 'study'
    data = json.loads((assets / 'results.json').read_text())
    assert set(data['methods']) == {'sga', 'scft', 'sga_wo_stopgrad'}
    for row in data['methods'].values():
        assert row['seeds'] == [0]
        assert row['delta_e']['mean'] > 0 and 0 <= row['region_accuracy']['mean'] <= 1
    with open(assets / 'results.csv') as f:
        assert [r['label'] for r in csv.DictReader(f)] == QUICK_LABELS

    # a second call reuses the finished runs and keeps text written outside the markers
    out.write_text(text + '\nHand-written discussion.\n')
    out_again = run_quick(tmp_path)
    assert 'Hand-written discussion.' in out_again.read_text()
    assert out_again.read_text().count('<!-- run_study:begin -->') == 1
