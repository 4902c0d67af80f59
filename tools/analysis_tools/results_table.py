"""Print the results of several runs as a table shaped like the paper's Table 2.

Rows are methods, columns FID↓ and SSIM↑ per dataset, under the random-reference protocol by
default. With ``--paper`` each cell shows the published number in parentheses (CSV: a ``_paper``
column), and the rows of every Table 2 method and the four paper datasets are always shown.

Each WORK_DIR is read as follows:

1. ``WORK_DIR/results_<checkpoint>.json`` (written by ``tools/test.py``; the newest): a flat
   dict of metric name -> value
   with ``method`` and ``dataset`` (and ``config``) keys;
2. else the newest MMEngine log of the work dir: ``<timestamp>/<timestamp>.json`` (what
   ``Runner.test`` dumps) or the last record with metrics in ``<timestamp>/vis_data/scalars.json``
   (validation during training);
3. a path to a ``.json`` file is read directly (a dict, or JSON lines).

Without ``method`` / ``dataset`` keys both are guessed from the config file name or the work dir
name (``work_dirs/sga_afhq_dog`` -> SGA on dog).

Examples::

    python tools/analysis_tools/results_table.py work_dirs/sga_afhq_* work_dirs/scft_afhq_* --paper
    python tools/analysis_tools/results_table.py work_dirs/* --format csv --out table.csv
"""
import argparse
import glob
import json
import os.path as osp
import re
import sys
from typing import Dict, List, Optional, Tuple

from colorizer.evaluation.paper_results import (PAPER_DATASETS, PAPER_RESULTS, canonical_dataset,
                                                canonical_method, paper_result)

#: Table 2's methods, in the paper's row order.
TABLE2_METHODS = [m for m, row in PAPER_RESULTS.items()
                  if next(iter(row.values())).table == 'Table 2']
#: Work-dir name tokens that name neither a method nor a dataset.
NOISE_TOKENS = {'afhq', 'demo', 'paper', 'val', 'test', 'eval'}
#: Names colorizer's metrics log (after the protocol prefix).
METRIC_NAMES = {'fid', 'ssim', 'ssim_global', 'psnr', 'delta_e', 'region_accuracy'}
#: SSIM variant -> logged metric name.
SSIM_NAMES = {'windowed': 'ssim', 'global': 'ssim_global'}


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Results of several runs as a paper-style table')
    parser.add_argument('work_dirs', nargs='+', metavar='WORK_DIR',
                        help='work dirs (or results JSON files) of test or training runs')
    parser.add_argument('--format', choices=['markdown', 'csv'], default='markdown')
    parser.add_argument('--paper', action='store_true',
                        help="show the paper's numbers beside ours")
    parser.add_argument('--ssim', choices=sorted(SSIM_NAMES), default='windowed',
                        help='which SSIM to show: windowed (ssim, the default metric) or global '
                             "(ssim_global, the authors' single-window SSIM)")
    parser.add_argument('--protocol', default='random',
                        help='protocol prefix of the metrics to show (random -> random_ref/...)')
    parser.add_argument('--out', help='write the table to this file instead of stdout')
    return parser.parse_args(argv)


def read_json_records(path: str) -> List[dict]:
    """A JSON file as a list of dicts: one dict, or one per line (MMEngine's scalars.json)."""
    with open(path) as f:
        text = f.read().strip()
    if not text:
        return []
    try:
        data = json.loads(text)
        return [data] if isinstance(data, dict) else [d for d in data if isinstance(d, dict)]
    except json.JSONDecodeError:
        return [json.loads(line) for line in text.splitlines() if line.strip()]


def has_metrics(record: dict) -> bool:
    """Whether a log record holds evaluation metrics (training records hold losses)."""
    return any(key.rsplit('/', 1)[-1] in METRIC_NAMES for key in record)


def newest_mmengine_record(work_dir: str) -> Tuple[Optional[dict], Optional[str]]:
    """The last metrics record of the newest MMEngine run in ``work_dir``."""
    for run_dir in sorted(glob.glob(osp.join(work_dir, '*', '')), reverse=True):
        stamp = osp.basename(osp.normpath(run_dir))
        for path in (osp.join(run_dir, f'{stamp}.json'),
                     osp.join(run_dir, 'vis_data', 'scalars.json')):
            if osp.isfile(path):
                records = [r for r in read_json_records(path) if has_metrics(r)]
                if records:
                    return records[-1], path
    return None, None


class NotARun(ValueError):
    """A WORK_DIR argument that holds no run's metrics (e.g. ``work_dirs/README.md`` matched by
    ``work_dirs/*``): skipped with a note, never a crash."""


def load_record(path: str) -> Tuple[dict, str, str]:
    """The metrics record of one WORK_DIR argument, the file it came from, and the name to
    guess method and dataset from when the record does not say (the work dir's or file's).

    Raises:
        NotARun: A file that is no metrics JSON, or a folder without results or metric logs.
        FileNotFoundError: The path does not exist.
    """
    if osp.isfile(path):
        try:
            records = [r for r in read_json_records(path) if has_metrics(r)]
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise NotARun(f'{path}: not a run (neither a work dir nor a metrics JSON file)')
        if not records:
            raise NotARun(f'{path} holds no metrics')
        return records[-1], path, osp.splitext(osp.basename(path))[0]
    if not osp.isdir(path):
        raise FileNotFoundError(f'{path} does not exist')
    name = osp.basename(osp.normpath(path))
    # tools/test.py writes results_<checkpoint>.json (results.json before): the newest one
    written = sorted(glob.glob(osp.join(path, 'results_*.json')) +
                     glob.glob(osp.join(path, 'results.json')), key=osp.getmtime)
    if written:
        return read_json_records(written[-1])[0], written[-1], name
    record, source = newest_mmengine_record(path)
    if record is None:
        raise NotARun(f'{path}: no results_*.json / results.json and no MMEngine log with '
                      'metrics')
    return record, source, name


def guess_names(record: dict, fallback: str) -> Tuple[str, str]:
    """Method and dataset of a record: its own keys, else read from the config file name (its
    ``config`` key) or ``fallback``: the longest leading run of name tokens that names a known
    method, the rest the dataset (``sga_wo_stopgrad_afhq_dog`` -> SGA w/o stop-gradient, dog;
    ``sga_toon`` -> SGA, toon; ``mine_toon`` -> mine, toon)."""
    stem = osp.splitext(osp.basename(str(record.get('config') or fallback)))[0]
    tokens = [t for t in re.split(r'[^A-Za-z0-9]+', stem)
              if t and t.lower() not in NOISE_TOKENS] or [stem]
    split = next((k for k in range(len(tokens), 0, -1)
                  if canonical_method('_'.join(tokens[:k]))), 1)
    method, rest = '_'.join(tokens[:split]), tokens[split:]
    dataset = next((t for t in rest if canonical_dataset(t)), None) or '_'.join(rest) or stem
    return str(record.get('method') or method), str(record.get('dataset') or dataset)


def metric_value(record: dict, name: str, protocol: str) -> Optional[float]:
    """``<protocol>_ref/<name>`` from a record, else the bare ``name``."""
    for key in (f'{protocol}_ref/{name}', name):
        if record.get(key) is not None:
            return float(record[key])
    return None


def collect(paths: List[str], ssim_name: str, protocol: str,
            skipped: Optional[List[str]] = None) -> Dict[Tuple[str, str], dict]:
    """(method row, dataset column) -> {'fid': value, 'ssim': value} for every WORK_DIR.

    Arguments that are no run are noted on stderr and in ``skipped``.

    Raises:
        FileNotFoundError: No argument held a run (the reasons are listed).
    """
    cells: Dict[Tuple[str, str], dict] = {}
    notes = [] if skipped is None else skipped
    for path in paths:
        try:
            record, source, fallback = load_record(path)
        except NotARun as reason:
            notes.append(str(reason))
            print(f'note: skipping {reason}', file=sys.stderr)
            continue
        method, dataset = guess_names(record, fallback)
        key = (canonical_method(method) or method, canonical_dataset(dataset) or dataset)
        if key in cells:
            print(f'warning: {source} replaces an earlier result of {key[0]} on {key[1]}',
                  file=sys.stderr)
        cells[key] = dict(fid=metric_value(record, 'fid', protocol),
                          ssim=metric_value(record, ssim_name, protocol))
    if not cells:
        raise FileNotFoundError('no run with metrics among the arguments: ' + '; '.join(notes))
    return cells


def table_layout(cells: dict, paper: bool) -> Tuple[List[str], List[str]]:
    """Row and column order: the paper's first, then others in order of appearance."""
    methods = [m for m, _ in cells]
    datasets = [d for _, d in cells]
    if paper:
        methods = TABLE2_METHODS + methods
        datasets = list(PAPER_DATASETS) + datasets
    order = list(PAPER_RESULTS)
    rows = sorted(dict.fromkeys(methods),
                  key=lambda m: (order.index(m) if m in order else len(order) + methods.index(m)))
    columns = sorted(dict.fromkeys(datasets), key=lambda d: (
        PAPER_DATASETS.index(d) if d in PAPER_DATASETS else len(PAPER_DATASETS)
        + datasets.index(d)))
    return rows, columns


def fmt(value: Optional[float], metric: str) -> str:
    if value is None:
        return '–'
    return f'{value:.2f}' if metric == 'fid' else f'{value:.3f}'


def table_rows(cells: dict, rows: List[str], columns: List[str], paper: bool,
               csv: bool) -> List[List[str]]:
    """Header and body cells. CSV keeps published numbers in their own columns."""
    header = ['method']
    for dataset in columns:
        for metric, label in (('fid', 'FID↓'), ('ssim', 'SSIM↑')):
            header.append(f'{dataset}_{metric}' if csv else f'{dataset} {label}')
            if paper and csv:
                header.append(f'{dataset}_{metric}_paper')
    body = []
    for method in rows:
        line = [method]
        for dataset in columns:
            ours = cells.get((method, dataset), {})
            published = paper_result(method, dataset) if paper else None
            for metric in ('fid', 'ssim'):
                text = fmt(ours.get(metric), metric)
                theirs = fmt(getattr(published, metric), metric) if published else '–'
                if paper and csv:
                    line += [text, theirs]
                elif paper:
                    line.append(f'{text} ({theirs})')
                else:
                    line.append(text)
        body.append(line)
    return [header] + body


def render(lines: List[List[str]], fmt_name: str, notes: List[str]) -> str:
    """Markdown (with notes below) or CSV text."""
    if fmt_name == 'csv':
        quote = (lambda s: f'"{s}"' if ',' in s or '"' in s else s)
        return '\n'.join(','.join(quote(c) for c in line) for line in lines) + '\n'
    out = ['| ' + ' | '.join(lines[0]) + ' |', '|' + '|'.join(['---'] * len(lines[0])) + '|']
    out += ['| ' + ' | '.join(line) + ' |' for line in lines[1:]]
    return '\n'.join(out + [''] + notes) + '\n'


def main(argv=None) -> str:
    args = parse_args(argv)
    ssim_name = SSIM_NAMES[args.ssim]
    skipped: List[str] = []
    try:
        cells = collect(args.work_dirs, ssim_name, args.protocol, skipped)
    except FileNotFoundError as error:  # nothing to tabulate: say why in one line
        sys.exit(f'error: {error}. Train and test a model first, e.g. python tools/train.py '
                 'configs/sga/sga_demo.py, then tools/test.py CONFIG CHECKPOINT.')
    rows, columns = table_layout(cells, args.paper)
    lines = table_rows(cells, rows, columns, args.paper, args.format == 'csv')
    notes = [f'Protocol: {args.protocol}-reference (metrics `{args.protocol}_ref/fid`, '
             f'`{args.protocol}_ref/{ssim_name}`). SSIM: {args.ssim} '
             + ('(Gaussian window σ=1.5, 11×11, RGB).' if args.ssim == 'windowed'
                else '(single window, grayscale, as the authors\' script).')]
    if args.paper:
        notes.append("Paper numbers in parentheses (Tables 1-3 of Li et al., ECCV 2022); the "
                     "paper's SSIM is the authors' single-window grayscale SSIM.")
    if skipped:
        notes.append(f'Skipped {len(skipped)} argument(s) that are no run: '
                     + '; '.join(skipped) + '.')
    text = render(lines, args.format, notes)
    if args.out:
        with open(args.out, 'w') as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    return text


if __name__ == '__main__':
    main()
