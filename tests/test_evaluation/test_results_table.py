"""tools/analysis_tools/results_table.py and the paper's numbers."""
import importlib.util
import json
import os.path as osp
import subprocess
import sys

import pytest

from colorizer.evaluation.paper_results import (PAPER_RESULTS, canonical_dataset,
                                                canonical_method, paper_result)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(ROOT, 'tools', 'analysis_tools', 'results_table.py')


def load_tool():
    spec = importlib.util.spec_from_file_location('results_table', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def make_work_dirs(root):
    """A test-tool results.json, a training log and a Runner.test dump."""
    sga = root / 'sga_afhq_cat'
    sga.mkdir()
    (sga / 'results.json').write_text(json.dumps({
        'config': 'configs/sga/sga_afhq_cat.py', 'method': 'SGA', 'dataset': 'afhq_cat',
        'random_ref/fid': 35.5, 'random_ref/ssim': 0.7012, 'random_ref/ssim_global': 0.8501}))
    scft = root / 'scft_afhq_dog' / '20240101_000000' / 'vis_data'
    scft.mkdir(parents=True)
    lines = [{'loss': 1.0, 'G/loss_recon': 0.5, 'step': 1},
             {'random_ref/fid': 90.0, 'random_ref/ssim': 0.5, 'step': 1},
             {'random_ref/fid': 80.25, 'random_ref/ssim': 0.6, 'step': 2},
             {'loss': 0.5, 'G/loss_recon': 0.25, 'step': 3}]  # training goes on after val
    (scft / 'scalars.json').write_text('\n'.join(json.dumps(line) for line in lines))
    toon = root / 'sga_toon' / '20240202_000000'
    toon.mkdir(parents=True)
    (toon / '20240202_000000.json').write_text(json.dumps(
        {'random_ref/fid': 12.0, 'random_ref/ssim': 0.9, 'random_ref/delta_e': 3.0}))
    return [str(root / name) for name in ('sga_afhq_cat', 'scft_afhq_dog', 'sga_toon')]


def test_paper_table2_rows():
    assert paper_result('SGA', 'anime') == (29.65, 0.912, 'Table 2')
    assert paper_result('scft', 'wild')[:2] == (24.93, 0.633)
    assert paper_result('CMFT', 'afhq_dog')[:2] == (73.18, 0.809)
    assert paper_result('sga_wo_self_sga', 'cat')[:2] == (34.26, 0.842)
    assert paper_result('SCFT stop-grad W_q & W_k', 'anime')[:2] == (36.78, 0.841)
    assert paper_result('SGA', 'toon') is None
    assert [m for m, r in PAPER_RESULTS.items() if r['anime'].table == 'Table 2'] == [
        'SPADE', 'CoCosNet', 'SCFT', 'UNITE', 'CMFT', 'SGA']
    assert canonical_method('sga_no_stopgrad') == 'SGA w/o stop-gradient'
    assert canonical_dataset('afhq_wild') == 'wild'


def test_markdown_table_with_paper_numbers(tmp_path):
    tool = load_tool()
    text = tool.main(make_work_dirs(tmp_path) + ['--paper'])
    lines = text.splitlines()
    assert lines[0].startswith('| method | anime FID↓ | anime SSIM↑ | cat FID↓')
    rows = {line.split(' | ')[0].strip('| '): line for line in lines[2:] if line.startswith('|')}
    assert list(rows)[:6] == ['SPADE', 'CoCosNet', 'SCFT', 'UNITE', 'CMFT', 'SGA']
    assert '35.50 (34.35) | 0.701 (0.843)' in rows['SGA']
    assert '80.25 (79.08) | 0.600 (0.683)' in rows['SCFT']
    assert rows['SGA'].endswith('| 12.00 (–) | 0.900 (–) |')  # toon: no paper numbers
    assert lines[0].endswith('| toon FID↓ | toon SSIM↑ |')
    assert '– (57.55)' in rows['SPADE']
    assert 'windowed' in text


def test_csv_global_ssim_to_file(tmp_path):
    work_dirs = make_work_dirs(tmp_path)
    out = tmp_path / 'table.csv'
    subprocess.run([sys.executable, TOOL, work_dirs[0], '--format', 'csv', '--paper',
                    '--ssim', 'global', '--out', str(out)], check=True, cwd=ROOT)
    header, *rows = out.read_text().splitlines()
    assert header.split(',')[:5] == ['method', 'anime_fid', 'anime_fid_paper', 'anime_ssim',
                                     'anime_ssim_paper']
    sga = dict(zip(header.split(','), [r for r in rows if r.startswith('SGA,')][0].split(',')))
    assert (sga['cat_fid'], sga['cat_fid_paper']) == ('35.50', '34.35')
    assert (sga['cat_ssim'], sga['cat_ssim_paper']) == ('0.850', '0.843')


def test_missing_results_are_reported(tmp_path):
    tool = load_tool()
    with pytest.raises(SystemExit, match='error: .*no results_'):
        tool.main([str(tmp_path)])


def test_non_run_entries_are_skipped_with_a_note(tmp_path, capsys):
    # `results_table.py work_dirs/* --paper` (README) matched the tracked work_dirs/README.md
    # and crashed with a JSONDecodeError
    tool = load_tool()
    make_work_dirs(tmp_path)
    (tmp_path / 'README.md').write_text('Training outputs land here.\n')
    (tmp_path / 'in_progress').mkdir()  # a run without metrics yet
    text = tool.main(sorted(str(p) for p in tmp_path.iterdir()) + ['--paper'])
    assert '35.50 (34.35)' in text  # the runs are still tabled
    assert 'README.md: not a run' in text and 'in_progress' in text
    err = capsys.readouterr().err
    assert 'note: skipping' in err and 'README.md' in err


def test_tracked_work_dirs_readme_alone_is_an_error_not_a_crash(tmp_path):
    tool = load_tool()
    readme = tmp_path / 'README.md'
    readme.write_text('# not json\n')
    # One line naming why, what to do, and no traceback (SystemExit with the message).
    with pytest.raises(SystemExit, match=r'error: no run with metrics.*README.md: not a run.*'
                       r'tools/train.py'):
        tool.main([str(readme)])
