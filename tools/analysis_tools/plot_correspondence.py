"""Correspondence diagnostics over training beside the ΔE curve (correspondence study).

Each ``--run LABEL WORK_DIR [WORK_DIR ...]`` is one curve: the mean over its work dirs (seeds),
with their range shaded. Panels: validation ΔE (``random_ref/delta_e`` in
``<WORK_DIR>/<timestamp>/vis_data/scalars.json``, logged with ``step`` = iteration), and from
``<WORK_DIR>/correspondence.jsonl`` (``CorrespondenceHook``): same-region mass (dashed: its
chance level), diagonal mass, row entropy / log N', row max and the Spearman correlation of
received mass with token norm.

Example::

    python tools/analysis_tools/plot_correspondence.py --out curves.png \\
        --run SGA work_dirs/study/sga/seed0 work_dirs/study/sga/seed1 \\
        --run SCFT work_dirs/study/scft/seed0
"""
import argparse
import glob
import json
import os
import os.path as osp
import sys
from typing import Dict, List, Tuple

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

PANELS = [
    ('delta_e', 'validation ΔE (lower is better)'),
    ('region_mass', 'same-region mass (train batch; dashed: chance)'),
    ('diagonal_mass', 'diagonal mass, own image as reference'),
    ('entropy_ratio', 'row entropy / log N\''),
    ('row_max', 'row max'),
    ('mass_norm_spearman', 'Spearman(received mass, token norm)'),
]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Correspondence diagnostics over training')
    parser.add_argument('--run', nargs='+', action='append', required=True,
                        metavar=('LABEL', 'WORK_DIR'),
                        help='a curve: its legend label, then one or more work dirs (seeds)')
    parser.add_argument('--out', required=True, help='PNG file')
    args = parser.parse_args(argv)
    for run in args.run:
        if len(run) < 2:
            parser.error(f'--run {run[0]!r} names no work dir')
    return args


def _jsonl(path: str) -> List[dict]:
    out = []
    with open(path) as f:
        for line in f:
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return out


def series(work_dir: str) -> Dict[str, Tuple[np.ndarray, np.ndarray]]:
    """key -> (iterations, values) of one run.

    Raises:
        FileNotFoundError: the work dir has neither a training log nor diagnostics.
    """
    out: Dict[str, Tuple[list, list]] = {}
    logs = sorted(glob.glob(osp.join(work_dir, '2*', 'vis_data', 'scalars.json')))
    diag = osp.join(work_dir, 'correspondence.jsonl')
    if not logs and not osp.isfile(diag):
        raise FileNotFoundError(f'{work_dir} has no vis_data/scalars.json and no '
                                'correspondence.jsonl')
    for path in logs:
        for record in _jsonl(path):
            if 'random_ref/delta_e' in record and 'step' in record:
                xs, ys = out.setdefault('delta_e', ([], []))
                xs.append(record['step'])
                ys.append(record['random_ref/delta_e'])
    if osp.isfile(diag):
        for record in _jsonl(diag):
            if record.get('entropy_max') and record.get('entropy') is not None:
                record['entropy_ratio'] = record['entropy'] / record['entropy_max']
            for key, value in record.items():
                if key in ('iter', 'seconds') or value is None:
                    continue
                xs, ys = out.setdefault(key, ([], []))
                xs.append(record['iter'])
                ys.append(value)
    return {k: (np.asarray(x), np.asarray(y, dtype=float)) for k, (x, y) in out.items()}


def _combine(runs: List[Dict], key: str):
    """Mean, min and max over runs at the iterations they share."""
    curves = [r[key] for r in runs if key in r]
    if not curves:
        return None
    steps = sorted(set.intersection(*[set(c[0].tolist()) for c in curves]))
    if not steps:
        return None
    values = np.stack([np.array([dict(zip(c[0].tolist(), c[1]))[s] for s in steps])
                       for c in curves])
    return (np.asarray(steps), np.nanmean(values, 0), np.nanmin(values, 0),
            np.nanmax(values, 0))


def main(argv=None) -> str:
    args = parse_args(argv)
    fig, axes = plt.subplots(2, 3, figsize=(14, 7))
    colors = plt.rcParams['axes.prop_cycle'].by_key()['color']
    for i, (label, *dirs) in enumerate(args.run):
        runs = [series(d) for d in dirs]
        color = colors[i % len(colors)]
        for ax, (key, title) in zip(axes.flat, PANELS):
            combined = _combine(runs, key)
            if combined is None:
                continue
            steps, mean, low, high = combined
            ax.plot(steps, mean, color=color, label=f'{label} ({len(dirs)})',
                    marker='o' if key == 'delta_e' else None, ms=3)
            if len(dirs) > 1:
                ax.fill_between(steps, low, high, color=color, alpha=0.15, lw=0)
            if key == 'region_mass':
                chance = _combine(runs, 'region_chance')
                if chance is not None:
                    ax.plot(chance[0], chance[1], '--', color=color, lw=0.8)
            ax.set_title(title, fontsize=9)
            ax.set_xlabel('iteration', fontsize=8)
            ax.grid(alpha=0.3)
    axes.flat[0].legend(fontsize=7)
    fig.tight_layout()
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    fig.savefig(args.out, dpi=100)
    plt.close(fig)
    return args.out


if __name__ == '__main__':
    print(main())
    sys.exit(0)
