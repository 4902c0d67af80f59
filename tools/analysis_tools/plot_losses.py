"""Loss curves of several runs on one figure (paper Fig. 13: L_rec of SGA vs SCFT).

Reads MMEngine's training log of each WORK_DIR: ``<WORK_DIR>/<timestamp>/vis_data/scalars.json``
(JSON lines, one record per logged iteration with ``step`` = iteration). Every timestamp folder
is read in order, so a resumed run continues its curve (a later run overrides the same steps).
Records without the requested key (validation metrics, gradient-cosine summaries) are skipped.
A WORK_DIR may also be a ``scalars.json`` file.

Examples::

    python tools/analysis_tools/plot_losses.py work_dirs/sga_anime work_dirs/scft_anime \\
        --out figs/loss_rec.png
    python tools/analysis_tools/plot_losses.py work_dirs/* --out losses.png \\
        --keys loss_rec loss_g_adv --labels SGA SCFT --smooth 20
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


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Plot loss curves of several runs (Fig. 13)')
    parser.add_argument('work_dirs', nargs='+', help='work dirs (or scalars.json files)')
    parser.add_argument('--out', required=True, help='PNG file')
    parser.add_argument('--keys', nargs='+', default=['loss_rec'],
                        help='logged keys, one panel each (default: loss_rec)')
    parser.add_argument('--labels', nargs='+', help='legend names, one per work dir '
                        '(default: the work dir names)')
    parser.add_argument('--smooth', type=int, default=1,
                        help='moving-average window over logged points (default: 1, none)')
    parser.add_argument('--logy', action='store_true', help='logarithmic y axis')
    return parser.parse_args(argv)


def scalar_files(path: str) -> List[str]:
    """The scalars.json files of a work dir, oldest run first."""
    if osp.isfile(path):
        return [path]
    files = sorted(glob.glob(osp.join(path, '*', 'vis_data', 'scalars.json')))
    if not files:
        raise FileNotFoundError(f'no <timestamp>/vis_data/scalars.json under {path}')
    return files


def read_curves(path: str, keys: List[str]) -> Dict[str, Tuple[np.ndarray, np.ndarray]]:
    """key -> (steps, values) of one run, steps ascending."""
    points: Dict[str, Dict[int, float]] = {k: {} for k in keys}
    for file in scalar_files(path):
        with open(file) as f:
            for line in f:
                line = line.strip()
                if not line:
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a line cut by a crash
                step = record.get('iter', record.get('step'))
                for key in keys:
                    if key in record and step is not None:
                        points[key][int(step)] = float(record[key])
    return {k: (np.array(sorted(v)), np.array([v[s] for s in sorted(v)]))
            for k, v in points.items()}


def smooth(values: np.ndarray, window: int) -> np.ndarray:
    if window <= 1 or values.size < 2:
        return values
    window = min(window, values.size)
    kernel = np.ones(window) / window
    padded = np.concatenate([np.full(window - 1, values[0]), values])
    return np.convolve(padded, kernel, mode='valid')


def main(argv=None) -> str:
    args = parse_args(argv)
    if args.labels and len(args.labels) != len(args.work_dirs):
        sys.exit(f'error: {len(args.labels)} labels for {len(args.work_dirs)} work dirs')
    labels = args.labels or [osp.basename(osp.normpath(w)) for w in args.work_dirs]
    try:
        runs = [read_curves(w, args.keys) for w in args.work_dirs]
    except FileNotFoundError as error:
        sys.exit(f'error: {error}')
    fig, axes = plt.subplots(1, len(args.keys), figsize=(5.5 * len(args.keys), 3.8),
                             squeeze=False)
    plotted = 0
    for ax, key in zip(axes[0], args.keys):
        for label, curves in zip(labels, runs):
            steps, values = curves[key]
            if steps.size == 0:
                print(f'{label}: no {key!r} in the log')
                continue
            ax.plot(steps, smooth(values, args.smooth), label=label, lw=1.2)
            plotted += 1
        ax.set_title(key)
        ax.set_xlabel('iteration')
        ax.grid(alpha=0.3)
        if args.logy:
            ax.set_yscale('log')
        ax.legend(fontsize=8)
    if not plotted:
        sys.exit(f'error: none of {args.keys} was found in the logs')
    fig.tight_layout()
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    fig.savefig(args.out, dpi=110)
    plt.close(fig)
    print(args.out)
    return args.out


if __name__ == '__main__':
    main()
