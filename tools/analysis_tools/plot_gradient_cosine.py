"""Plot what GradientCosineHook recorded: histograms like the paper's Figs. 4 / 10 and the
share of negative cosines over training.

Reads ``WORK_DIR/gradient_cosine/summary.json`` (``WORK_DIR`` may also be that folder or the
file itself) and writes, per analysed module and per ``pixel`` / ``instance``:

- ``hist_<module>_<per>.png``: one panel per branch pair (titled with the paper's name, e.g.
  ``cos(g_Q, g_skip+g_Q)``), the chosen periods (epochs, or iteration windows for
  iteration-based runs) overlaid, each as the fraction of cosines per bin; the legend gives the
  share of negative cosines and of cosines above 0.935 of each period. ``--layout side`` puts
  the periods in rows instead.
- ``shares_<module>_<per>.png``: share of negative cosines (left) and of cosines above the
  threshold (right) per pair against the training iteration.

Examples::

    python tools/analysis_tools/plot_gradient_cosine.py work_dirs/scft_demo --out figs/
    python tools/analysis_tools/plot_gradient_cosine.py work_dirs/scft_anime --out figs/ \\
        --periods 20 40 --per pixel
"""
import argparse
import json
import os
import os.path as osp
import re
import sys
from typing import Dict, List, Optional, Sequence

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Plot gradient-cosine histograms (Figs. 4/10)')
    parser.add_argument('work_dir', help='work dir of a run with GradientCosineHook, its '
                        'gradient_cosine/ folder, or a summary.json')
    parser.add_argument('--out', required=True, help='folder for the PNGs')
    parser.add_argument('--periods', nargs='+', type=int,
                        help='periods to show: epochs for epoch-based runs, else period numbers '
                        '(1-based; -1 = last). Default: up to 4, evenly spaced, last included')
    parser.add_argument('--per', nargs='+', choices=['pixel', 'instance'],
                        help='which cosines (default: all recorded)')
    parser.add_argument('--modules', nargs='+', help='module names (default: all recorded)')
    parser.add_argument('--pairs', nargs='+', help='pair keys to show (default: all), e.g. '
                        'x_skip~x_total x_q~x_total y_v~y_total y_k~y_total')
    parser.add_argument('--layout', choices=['overlay', 'side'], default='overlay',
                        help='periods overlaid in one panel per pair, or side by side (rows)')
    return parser.parse_args(argv)


def find_summary(path: str) -> str:
    """The summary.json of a work dir, a gradient_cosine folder or the file itself."""
    for candidate in (path, osp.join(path, 'summary.json'),
                      osp.join(path, 'gradient_cosine', 'summary.json')):
        if osp.isfile(candidate):
            return candidate
    raise FileNotFoundError(f'no gradient-cosine summary under {path} (expected '
                            f'{osp.join(path, "gradient_cosine", "summary.json")}; was '
                            'GradientCosineHook in custom_hooks?)')


def load_summary(path: str) -> dict:
    with open(find_summary(path)) as f:
        return json.load(f)


def slug(name: str) -> str:
    return re.sub(r'[^A-Za-z0-9_.-]+', '_', name) or 'model'


def period_name(period: dict) -> str:
    if period.get('epoch') is not None:
        return f'epoch {period["epoch"]}'
    return f'iter {period["iter_start"]}-{period["iter_end"]}'


def choose_periods(periods: List[dict], wanted: Optional[Sequence[int]], max_auto: int = 4):
    """Periods by epoch (epoch runs) or 1-based index (-1 = last); default evenly spaced."""
    if not periods:
        return []
    if wanted:
        chosen = []
        for w in wanted:
            by_epoch = [p for p in periods if p.get('epoch') == w]
            if by_epoch:
                chosen.append(by_epoch[0])
            elif w == -1:
                chosen.append(periods[-1])
            elif 1 <= w <= len(periods):
                chosen.append(periods[w - 1])
            else:
                raise ValueError(f'no period {w}: the summary has {len(periods)} periods '
                                 f'({", ".join(period_name(p) for p in periods)})')
        return chosen
    idx = np.unique(np.linspace(0, len(periods) - 1, min(max_auto, len(periods))).round())
    return [periods[int(i)] for i in idx]


def pct(value: Optional[float]) -> str:
    return 'n/a' if value is None else f'{100 * value:.1f}%'


def histogram_figure(series: List[tuple], pairs: List[str], labels: Dict[str, str],
                     edges: Sequence[float], out: str, title: str = '', high: float = 0.935,
                     layout: str = 'overlay') -> str:
    """One panel per pair with one histogram per series.

    Args:
        series: ``(legend, {pair: stats})`` with stats as in the summary (``hist``,
            ``share_negative``, ``share_above``, ``count``).
        pairs: pair keys, one panel each.
        labels: pair key -> panel title.
        edges: histogram bin edges.
        out: PNG path.
        title: figure title.
        high: the "share above" threshold, for the legend.
        layout: ``'overlay'`` (series overlaid per panel) or ``'side'`` (one row per series).

    Returns:
        ``out``.
    """
    edges = np.asarray(edges, dtype=float)
    centers = (edges[:-1] + edges[1:]) / 2
    ncols = min(len(pairs), 4)
    nrows_pairs = int(np.ceil(len(pairs) / ncols))
    rows = nrows_pairs if layout == 'overlay' else len(series) * nrows_pairs
    fig, axes = plt.subplots(rows, ncols, figsize=(4.2 * ncols, 3.2 * rows), squeeze=False)
    colors = plt.cm.viridis(np.linspace(0.1, 0.9, max(len(series), 1)))
    for k, pair in enumerate(pairs):
        for s, (legend, stats_by_pair) in enumerate(series):
            r, c = divmod(k, ncols)
            if layout == 'side':
                r = s * nrows_pairs + r
            ax = axes[r][c]
            stats = stats_by_pair.get(pair)
            if not stats or not stats.get('count'):
                continue
            frac = np.asarray(stats['hist'], dtype=float) / max(stats['count'], 1)
            ax.step(centers, frac, where='mid', color=colors[s], lw=1.4,
                    label=f'{legend}: <0 {pct(stats["share_negative"])}, '
                    f'>{high} {pct(stats["share_above"])}')
            ax.fill_between(centers, frac, step='mid', color=colors[s], alpha=0.15)
            ax.axvline(0, color='0.6', lw=0.8, ls=':')
            ax.set_title(labels.get(pair, pair) + ('' if layout == 'overlay' else f'\n{legend}'),
                         fontsize=9)
            ax.set_xlim(edges[0], edges[-1])
            ax.set_xlabel('cosine', fontsize=8)
            ax.set_ylabel('fraction', fontsize=8)
            ax.tick_params(labelsize=7)
            ax.legend(fontsize=6, loc='best')
    for r in range(rows):
        for c in range(ncols):
            if not axes[r][c].has_data():
                axes[r][c].axis('off')
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def shares_figure(periods: List[dict], module: str, per: str, pairs: List[str],
                  labels: Dict[str, str], out: str, high: float = 0.935) -> str:
    """Share of negative cosines and of cosines above ``high`` against the iteration."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    x = [p['iter_end'] for p in periods]
    for pair in pairs:
        neg, above = [], []
        for p in periods:
            stats = p['modules'].get(module, {}).get('pairs', {}).get(pair, {}).get(per)
            neg.append(np.nan if not stats or stats['share_negative'] is None
                       else 100 * stats['share_negative'])
            above.append(np.nan if not stats or stats['share_above'] is None
                         else 100 * stats['share_above'])
        label = labels.get(pair, pair)
        axes[0].plot(x, neg, marker='o', ms=3, label=label)
        axes[1].plot(x, above, marker='o', ms=3, label=label)
    axes[0].set_title(f'share of negative cosines ({per})', fontsize=10)
    axes[1].set_title(f'share of cosines > {high} ({per})', fontsize=10)
    for ax in axes:
        ax.set_xlabel('iteration')
        ax.set_ylabel('%')
        ax.set_ylim(-2, 102)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6)
    fig.suptitle(module, fontsize=10)
    fig.tight_layout()
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def main(argv=None) -> List[str]:
    args = parse_args(argv)
    summary = load_summary(args.work_dir)
    periods = summary.get('periods', [])
    if not periods:
        sys.exit(f'error: {find_summary(args.work_dir)} has no summarised period yet')
    chosen = choose_periods(periods, args.periods)
    modules = args.modules or list(summary['modules'])
    pers = args.per or summary.get('per', ['pixel', 'instance'])
    high = summary.get('high', 0.935)
    written = []
    for module in modules:
        if module not in summary['modules']:
            sys.exit(f'error: no module {module!r}; recorded: {list(summary["modules"])}')
        labels = dict(summary['modules'][module].get('labels', {}))
        pairs = []
        for p in periods:
            for pair, entry in p['modules'].get(module, {}).get('pairs', {}).items():
                labels.setdefault(pair, entry.get('label', pair))
                if pair not in pairs:
                    pairs.append(pair)
        if args.pairs:
            pairs = [p for p in args.pairs if p in pairs]
        if not pairs:
            print(f'{module}: no branch pair recorded (single-branch inputs only)')
            continue
        absent = sorted({b for p in chosen for b in p['modules'][module]['absent_branches']})
        note = f' (no gradient in {", ".join(absent)}: stop-gradient)' if absent else ''
        for per in pers:
            series = [(period_name(p), {pair: e.get(per) for pair, e in
                                        p['modules'][module]['pairs'].items()}) for p in chosen]
            title = (f'{module} [{summary["modules"][module]["type"]}], per {per}{note}')
            written.append(histogram_figure(
                series, pairs, labels, summary['bin_edges'],
                osp.join(args.out, f'hist_{slug(module)}_{per}.png'), title, high, args.layout))
            written.append(shares_figure(
                periods, module, per, pairs, labels,
                osp.join(args.out, f'shares_{slug(module)}_{per}.png'), high))
    for path in written:
        print(path)
    return written


if __name__ == '__main__':
    main()
