"""Small-scale reproduction study on the embedded SyntheticToonDataset (paper Tables 1-3,
Figs. 4, 10 and 13).

Trains every chosen method with the same small model, data, iteration budget and
hyper-parameters (only the attention module differs: the ``configs/*/*_demo.py`` configs) over
several seeds (``randomness.seed``), evaluates each final checkpoint with ``tools/test.py`` on the
test split under the random-reference protocol (region colour error ΔE, region accuracy, SSIM
windowed and global, PSNR; FID only when pytorch-fid's Inception weights file exists), records
the gradient cosines of SCFT and SGA w/o stop-gradient with ``GradientCosineHook``, and writes:

- a markdown section into ``--out`` (between ``<!-- run_study:begin -->`` and
  ``<!-- run_study:end -->``; text outside the markers, e.g. a discussion, is kept),
- ``results.json`` / ``results.csv`` (per-run values and mean ± std per method) and the PNGs
  (metric bars, gradient-cosine histograms and share curves via ``plot_gradient_cosine.py``, the
  L_rec curves via ``plot_losses.py``) in ``--assets`` (default ``<out dir>/figures/study``).

A run whose ``results.json`` exists is not repeated, so an interrupted study continues where it
stopped; ``--report-only`` only rewrites the tables and figures from the finished runs.

Examples::

    python tools/analysis_tools/run_study.py --iters 800 --seeds 0 1 2 --jobs 2
    python tools/analysis_tools/run_study.py --quick --work-root /tmp/study --out /tmp/study/r.md
    python tools/analysis_tools/run_study.py --methods sga scft spade cmft --seeds 0
    python tools/analysis_tools/run_study.py --report-only
"""
import argparse
import csv
import glob
import importlib.util
import json
import os
import os.path as osp
import pprint
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
BEGIN, END = '<!-- run_study:begin -->', '<!-- run_study:end -->'


#: The pairs of the paper's gradient-cosine figures: Fig. 4 (SCFT) and Fig. 10 (SGA w/o
#: stop-gradient); see colorizer/engine/hooks/gradient_cosine_hook.py for the keys.
SCFT_PAIRS = ('x_skip~x_total', 'x_q~x_total', 'y_v~y_total', 'y_k~y_total')
SGA_PAIRS = ('x_kept~x_total', 'y_proj~y_total', 'x_kept~x_att', 'y_kept~y_att')


class Method(NamedTuple):
    """One row of the study: a demo config, the paper's name for it and, for the methods whose
    gradient cosines are recorded, the pairs to report."""
    key: str
    config: str
    label: str
    cosine_pairs: Tuple[str, ...] = ()


METHODS = {m.key: m for m in (
    Method('sga', 'configs/sga/sga_demo.py', 'SGA'),
    Method('scft', 'configs/scft/scft_demo.py', 'SCFT', SCFT_PAIRS),
    Method('sga_wo_stopgrad', 'configs/sga/sga_wo_stopgrad_demo.py', 'SGA w/o stop-gradient',
           SGA_PAIRS),
    Method('sga_wo_doublenorm', 'configs/sga/sga_wo_doublenorm_demo.py', 'SGA w/o double-norm'),
    Method('sga_wo_selfsga', 'configs/sga/sga_wo_selfsga_demo.py', 'SGA w/o self-SGA'),
    Method('scft_sg_q', 'configs/scft/scft_sg_q_demo.py', 'SCFT stop-grad W_q'),
    Method('scft_sg_k', 'configs/scft/scft_sg_k_demo.py', 'SCFT stop-grad W_k'),
    Method('scft_sg_qk', 'configs/scft/scft_sg_qk_demo.py', 'SCFT stop-grad W_q & W_k'),
    Method('spade', 'configs/spade/spade_demo.py', 'SPADE'),
    Method('cocosnet', 'configs/cocosnet/cocosnet_demo.py', 'CoCosNet'),
    Method('unite', 'configs/unite/unite_demo.py', 'UNITE'),
    Method('cmft', 'configs/cmft/cmft_demo.py', 'CMFT'),
)}
#: The attention variants of Tables 1 and 3; the four other baselines are 3-7x slower per
#: iteration on a CPU, so they run only when --methods names them.
DEFAULT_METHODS = ['sga', 'scft', 'sga_wo_stopgrad', 'sga_wo_doublenorm', 'sga_wo_selfsga',
                   'scft_sg_q', 'scft_sg_k', 'scft_sg_qk']
QUICK_METHODS = ['sga', 'scft', 'sga_wo_stopgrad']


class Metric(NamedTuple):
    name: str  # logged as random_ref/<name>
    header: str
    digits: int
    higher_is_better: bool


METRICS = [
    Metric('delta_e', 'ΔE↓', 2, False),
    Metric('region_accuracy', 'region acc.↑', 3, True),
    Metric('ssim', 'SSIM↑', 3, True),
    Metric('ssim_global', 'SSIM (global)↑', 3, True),
    Metric('psnr', 'PSNR↑', 2, True),
    Metric('fid', 'FID↓', 2, False),
]
#: Fig. 4's numbers for SCFT at epoch 40 (§3.3): share of negative cosines, share above 0.935.
PAPER_SCFT_SHARES = {
    'x_skip~x_total': (None, 0.7809), 'x_q~x_total': (0.3057, None),
    'y_v~y_total': (None, 0.5239), 'y_k~y_total': (0.1077, None),
}
#: Shrinks the demo to seconds (like tests/test_tools/tool_runner.TINY): 32 px, base width 2.
QUICK_SHRINK = dict(
    train_dataloader=dict(batch_size=4, num_workers=0, persistent_workers=False,
                          dataset=dict(img_size=32)),
    val_dataloader=dict(batch_size=4, num_workers=0, persistent_workers=False,
                        dataset=dict(img_size=32, length=4)),
    test_dataloader=dict(batch_size=4, num_workers=0, persistent_workers=False,
                         dataset=dict(img_size=32, length=8)),
    model=dict(generator=dict(base_channels=2), discriminator=dict(base_channels=4)),
)


@dataclass
class Run:
    """One (method, seed) training + test."""
    method: Method
    seed: int
    work_dir: str

    @property
    def name(self) -> str:
        return f'{self.method.key}/seed{self.seed}'

    @property
    def results_path(self) -> str:
        return osp.join(self.work_dir, 'results.json')


# --------------------------------------------------------------------------- arguments
def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Small-scale reproduction study (Tables 1-3)')
    parser.add_argument('--quick', action='store_true',
                        help='CI smoke run: 1 seed, SGA / SCFT / SGA w/o stop-grad, 32 px, '
                        'base width 2, 20 iterations')
    parser.add_argument('--seeds', nargs='+', type=int, help='randomness.seed values '
                        '(default: 0 1 2; --quick: 0)')
    parser.add_argument('--iters', type=int, help='training iterations per run '
                        '(default: 800; --quick: 20)')
    parser.add_argument('--methods', nargs='+', choices=sorted(METHODS),
                        help=f'default: {" ".join(DEFAULT_METHODS)} '
                        f'(--quick: {" ".join(QUICK_METHODS)})')
    parser.add_argument('--work-root', default='work_dirs/study',
                        help='where the generated configs and the run folders go')
    parser.add_argument('--out', default='docs/results.md', help='markdown file to write into')
    parser.add_argument('--assets', help='folder for the PNGs, JSON and CSV '
                        '(default: <dir of --out>/figures/study)')
    parser.add_argument('--jobs', type=int, default=1, help='runs in parallel')
    parser.add_argument('--threads', type=int,
                        help='torch threads per run (default: CPU count / jobs)')
    parser.add_argument('--cosine-interval', type=int,
                        help='GradientCosineHook capture interval (default: 10; --quick: 5)')
    parser.add_argument('--cosine-periods', type=int, default=8,
                        help='histogram periods over training (summary_interval = iters / this)')
    parser.add_argument('--report-only', action='store_true',
                        help='train nothing: tables and figures from the finished runs')
    parser.add_argument('--rerun', action='store_true',
                        help='repeat runs whose results.json already exists')
    args = parser.parse_args(argv)
    args.seeds = args.seeds if args.seeds is not None else ([0] if args.quick else [0, 1, 2])
    args.iters = args.iters or (20 if args.quick else 800)
    args.methods = args.methods or (QUICK_METHODS if args.quick else DEFAULT_METHODS)
    args.cosine_interval = args.cosine_interval or (5 if args.quick else 10)
    args.threads = args.threads or max(1, (os.cpu_count() or 1) // max(1, args.jobs))
    args.assets = args.assets or osp.join(osp.dirname(osp.abspath(args.out)), 'figures', 'study')
    return args


# --------------------------------------------------------------------------- configs
def fid_available() -> bool:
    """Whether pytorch-fid's Inception weights file is where the FID metric looks."""
    from colorizer.evaluation.metrics import resolve_inception_weights
    try:
        resolve_inception_weights('auto')
    except FileNotFoundError:
        return False
    return True


def test_evaluators(with_fid: bool) -> List[dict]:
    # Both SSIMs: the windowed one is colorizer's default, the global one is the authors'.
    evaluators = [dict(type='RegionColorError'), dict(type='SSIM'),
                  dict(type='SSIM', mode='global'), dict(type='PSNR')]
    return evaluators + ([dict(type='FID')] if with_fid else [])


def run_overrides(run: Run, args, with_fid: bool) -> dict:
    """What the generated config changes in the method's demo config: the same for every method."""
    hooks = [dict(type='SafeCheckpointHook'),
             dict(type='SampleGridHook', interval=args.iters, num_samples=8)]
    if run.method.cosine_pairs:
        # a whole number of capture intervals per histogram period
        captures = max(1, args.iters // args.cosine_periods // args.cosine_interval)
        hooks.append(dict(type='GradientCosineHook', interval=args.cosine_interval,
                          summary_interval=captures * args.cosine_interval))
    overrides = dict(
        randomness=dict(seed=run.seed, deterministic=False),
        train_cfg=dict(max_iters=args.iters, val_interval=args.iters),
        # The final checkpoint is the one tested: no best-checkpoint selection.
        default_hooks=dict(
            logger=dict(interval=max(1, min(10, args.iters // 20))),
            checkpoint=dict(interval=args.iters, max_keep_ckpts=1, save_best=None)),
        custom_hooks=hooks,
        test_evaluator=test_evaluators(with_fid),
    )
    if args.quick:
        overrides.update(QUICK_SHRINK)
    return overrides


def write_config(run: Run, args, with_fid: bool) -> str:
    """A config with ``_base_`` = the method's demo config and the study's overrides."""
    path = osp.join(args.work_root, 'configs', f'{run.method.key}_seed{run.seed}.py')
    lines = [f'# Generated by tools/analysis_tools/run_study.py: {run.method.label}, '
             f'seed {run.seed}.',
             f'_base_ = [{osp.join(ROOT, run.method.config)!r}]']
    for key, value in run_overrides(run, args, with_fid).items():
        lines.append(f'{key} = {pprint.pformat(value, width=96, sort_dicts=False)}')
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return path


# --------------------------------------------------------------------------- running
def call(cmd: List[str], log_path: str, threads: int) -> int:
    """Run a tool from the repository root, its output into ``log_path``."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    with open(log_path, 'a') as log:
        log.write(f'$ {" ".join(cmd)}\n')
        log.flush()
        return subprocess.call(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def final_checkpoint(work_dir: str) -> Optional[str]:
    """The complete checkpoint ``last_checkpoint`` names, else None (tested as it is: the
    study trains to the end, so no fallback to an older checkpoint)."""
    from colorizer.engine.checkpoint_directory import CheckpointDirectory
    return CheckpointDirectory(work_dir).read_pointer()[0]


def execute(run: Run, args, with_fid: bool) -> dict:
    """Train and test one run (or reuse its finished results); return its record."""
    if osp.isfile(run.results_path) and not args.rerun:
        return load_run(run)
    if args.report_only:
        return dict(run=run.name, status='missing')
    shutil.rmtree(run.work_dir, ignore_errors=True)  # no stale logs or cosines of a dead run
    os.makedirs(run.work_dir)
    config = write_config(run, args, with_fid)
    log = osp.join(run.work_dir, 'study.log')
    print(f'[{time.strftime("%H:%M:%S")}] start {run.name}', flush=True)
    start = time.time()
    code = call([sys.executable, 'tools/train.py', config, '--work-dir', run.work_dir],
                log, args.threads)
    train_seconds = time.time() - start
    checkpoint = final_checkpoint(run.work_dir)
    if code or checkpoint is None:
        print(f'  {run.name}: training failed ({code}), see {log}', flush=True)
        return dict(run=run.name, status='failed', log=log)
    code = call([sys.executable, 'tools/test.py', config, checkpoint, '--work-dir',
                 osp.join(run.work_dir, 'test'), '--out', run.results_path], log, args.threads)
    if code:
        print(f'  {run.name}: test failed ({code}), see {log}', flush=True)
        return dict(run=run.name, status='failed', log=log)
    with open(osp.join(run.work_dir, 'timing.json'), 'w') as f:
        json.dump(dict(train_seconds=train_seconds, iters=args.iters, threads=args.threads), f)
    print(f'[{time.strftime("%H:%M:%S")}] done {run.name}: train {train_seconds:.0f} s',
          flush=True)
    return load_run(run)


def final_loss(work_dir: str, key: str = 'loss_rec', tail: float = 0.1) -> Optional[float]:
    """Mean of ``key`` over the last ``tail`` of the logged training iterations."""
    values = []
    for path in sorted(glob_scalars(work_dir)):
        with open(path) as f:
            for line in f:
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if key in record:
                    values.append(float(record[key]))
    if not values:
        return None
    return float(np.mean(values[-max(1, int(len(values) * tail)):]))


def glob_scalars(work_dir: str) -> List[str]:
    """The training logs of a run (one per timestamp folder)."""
    return glob.glob(osp.join(work_dir, '2*', 'vis_data', 'scalars.json'))


def load_run(run: Run) -> dict:
    """A finished run's metrics, final L_rec, timing and last gradient-cosine period."""
    with open(run.results_path) as f:
        results = json.load(f)
    timing_path = osp.join(run.work_dir, 'timing.json')
    timing = {}
    if osp.isfile(timing_path):
        with open(timing_path) as f:
            timing = json.load(f)
    metrics = {m.name: results.get(f'random_ref/{m.name}') for m in METRICS}
    record = dict(run=run.name, status='done', method=run.method.key, seed=run.seed,
                  metrics={k: v for k, v in metrics.items() if v is not None},
                  loss_rec=final_loss(run.work_dir), **timing)
    summary = osp.join(run.work_dir, 'gradient_cosine', 'summary.json')
    if osp.isfile(summary):
        with open(summary) as f:
            record['gradient_cosine'] = cosine_shares(json.load(f))
    return record


def cosine_shares(summary: dict) -> dict:
    """pair -> per -> share negative (first and last period), share above (last period)."""
    periods = summary.get('periods', [])
    if not periods:
        return {}
    out = {}
    for module, entry in periods[-1]['modules'].items():
        first = periods[0]['modules'].get(module, {}).get('pairs', {})
        for pair, stats in entry['pairs'].items():
            for per in ('pixel', 'instance'):
                if per not in stats:
                    continue
                start = first.get(pair, {}).get(per) or {}
                out.setdefault(module, {}).setdefault(pair, {})[per] = dict(
                    label=stats.get('label', pair),
                    negative_first=start.get('share_negative'),
                    negative_last=stats[per]['share_negative'],
                    above_last=stats[per]['share_above'],
                    first_iter=periods[0]['iter_end'], last_iter=periods[-1]['iter_end'])
    return out


# --------------------------------------------------------------------------- aggregation
def mean_std(values: Sequence[float]) -> dict:
    """Mean and sample standard deviation (0 for one value)."""
    arr = np.asarray([v for v in values if v is not None], dtype=float)
    if arr.size == 0:
        return dict(mean=None, std=None, n=0)
    std = float(arr.std(ddof=1)) if arr.size > 1 else 0.0
    return dict(mean=float(arr.mean()), std=std, n=int(arr.size))


def aggregate(records: List[dict], methods: List[str]) -> Dict[str, dict]:
    """method -> metric -> mean/std/n over the finished seeds."""
    table = {}
    for key in methods:
        done = [r for r in records if r.get('method') == key and r['status'] == 'done']
        row = {m.name: mean_std([r['metrics'].get(m.name) for r in done]) for m in METRICS}
        row['loss_rec'] = mean_std([r.get('loss_rec') for r in done])
        row['train_seconds'] = mean_std([r.get('train_seconds') for r in done])
        row['seeds'] = sorted(r['seed'] for r in done)
        table[key] = row
    return table


def cosine_rows(records: List[dict], methods: List[str]) -> List[dict]:
    """Gradient-cosine shares of the paper's pairs, mean/std over seeds, per method and per."""
    rows = []
    for key in methods:
        done = [r['gradient_cosine'] for r in records
                if r.get('method') == key and r.get('gradient_cosine')]
        if not done:
            continue
        for module, pairs in done[0].items():
            for pair in [p for p in METHODS[key].cosine_pairs if p in pairs] or list(pairs):
                for per in ('pixel', 'instance'):
                    runs = [d[module][pair][per] for d in done
                            if per in d.get(module, {}).get(pair, {})]
                    if not runs:
                        continue
                    rows.append(dict(
                        method=key, module=module, pair=pair, per=per, label=runs[0]['label'],
                        first_iter=runs[0]['first_iter'], last_iter=runs[0]['last_iter'],
                        **{stat: mean_std([r[stat] for r in runs])
                           for stat in ('negative_first', 'negative_last', 'above_last')}))
    return rows


# --------------------------------------------------------------------------- writing
def fmt(stats: dict, digits: int, scale: float = 1.0) -> str:
    if not stats or stats.get('mean') is None:
        return '–'
    text = f'{scale * stats["mean"]:.{digits}f}'
    return text + (f' ± {scale * stats["std"]:.{digits}f}' if stats['n'] > 1 else '')


def shown_metrics(table: Dict[str, dict]) -> List[Metric]:
    return [m for m in METRICS if any(row[m.name]['n'] for row in table.values())]


def metrics_markdown(table: Dict[str, dict]) -> List[str]:
    metrics = shown_metrics(table)
    header = (['method', 'seeds'] + [m.header for m in metrics]
              + ['final L_rec (train)', 'train s/run'])
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    best = {m.name: best_method(table, m) for m in metrics}
    for key, row in table.items():
        cells = [METHODS[key].label, ','.join(map(str, row['seeds'])) or 'none']
        for m in metrics:
            text = fmt(row[m.name], m.digits)
            cells.append(f'**{text}**' if best[m.name] == key else text)
        cells += [fmt(row['loss_rec'], 2), fmt(row['train_seconds'], 0)]
        lines.append('| ' + ' | '.join(cells) + ' |')
    return lines


def per_seed_markdown(records: List[dict], methods: List[str], seeds: List[int]) -> List[str]:
    """ΔE and region accuracy of every run: whether a gap between means holds seed by seed."""
    header = (['method'] + [f'ΔE seed {s}' for s in seeds]
              + [f'region acc. seed {s}' for s in seeds])
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    by_run = {(r['method'], r['seed']): r for r in records if r['status'] == 'done'}
    for key in methods:
        cells = [METHODS[key].label]
        for name, digits in (('delta_e', 2), ('region_accuracy', 3)):
            for seed in seeds:
                value = by_run.get((key, seed), {}).get('metrics', {}).get(name)
                cells.append('–' if value is None else f'{value:.{digits}f}')
        lines.append('| ' + ' | '.join(cells) + ' |')
    return lines


def best_method(table: Dict[str, dict], metric: Metric) -> Optional[str]:
    scored = {k: r[metric.name]['mean'] for k, r in table.items()
              if r[metric.name]['mean'] is not None}
    if not scored:
        return None
    pick = max if metric.higher_is_better else min
    return pick(scored, key=scored.get)


def cosine_markdown(rows: List[dict]) -> List[str]:
    header = ['method', 'pair', 'per', 'share < 0 (first period)', 'share < 0 (last period)',
              'share > 0.935 (last period)', 'paper, epoch 40 (< 0 / > 0.935)']
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    for row in rows:
        paper = '–'
        if row['method'] == 'scft' and row['pair'] in PAPER_SCFT_SHARES:
            paper = ' / '.join('–' if v is None else f'{100 * v:.2f}%'
                               for v in PAPER_SCFT_SHARES[row['pair']])
        lines.append('| ' + ' | '.join([
            METHODS[row['method']].label, row['label'].replace('|', '\\|'), row['per'],
            f'{fmt(row["negative_first"], 1, 100)}% (iter {row["first_iter"]})',
            f'{fmt(row["negative_last"], 1, 100)}% (iter {row["last_iter"]})',
            f'{fmt(row["above_last"], 1, 100)}%', paper]) + ' |')
    return lines


def write_data(records: List[dict], table: Dict[str, dict], cos_rows: List[dict], args) -> None:
    """results.json (everything) and results.csv (one row per method) in the assets folder."""
    os.makedirs(args.assets, exist_ok=True)
    with open(osp.join(args.assets, 'results.json'), 'w') as f:
        json.dump(dict(settings=settings(args), methods=table, gradient_cosine=cos_rows,
                       runs=records), f, indent=1)
    with open(osp.join(args.assets, 'results.csv'), 'w', newline='') as f:
        writer = csv.writer(f)
        names = [m.name for m in METRICS] + ['loss_rec', 'train_seconds']
        writer.writerow(['method', 'label', 'seeds'] + [f'{n}_{s}' for n in names
                                                        for s in ('mean', 'std')])
        for key, row in table.items():
            writer.writerow([key, METHODS[key].label, ' '.join(map(str, row['seeds']))]
                            + [row[n][s] for n in names for s in ('mean', 'std')])


def settings(args) -> dict:
    return dict(iters=args.iters, seeds=args.seeds, methods=args.methods, quick=args.quick,
                img_size=32 if args.quick else 64, batch_size=4 if args.quick else 16,
                base_channels=2 if args.quick else 4, cosine_interval=args.cosine_interval,
                jobs=args.jobs, threads=args.threads)


# --------------------------------------------------------------------------- figures
def load_tool(name: str):
    """tools/analysis_tools/<name>.py as a module (the tools folder is no package)."""
    path = osp.join(ROOT, 'tools', 'analysis_tools', f'{name}.py')
    spec = importlib.util.spec_from_file_location(f'_study_tool_{name}', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def metrics_figure(table: Dict[str, dict], out: str) -> Optional[str]:
    """ΔE and region accuracy per method: mean (dot) ± std over seeds (bar)."""
    keys = [k for k, r in table.items() if r['delta_e']['n']]
    if not keys:
        return None
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    colors = ['tab:green' if k.startswith('sga') else 'tab:blue' if k.startswith('scft')
              else 'tab:gray' for k in keys]
    for ax, name, title in zip(axes, ('delta_e', 'region_accuracy'),
                               ('region colour error ΔE (lower is better)',
                                'region accuracy (higher is better)')):
        for i, (key, color) in enumerate(zip(keys, colors)):
            stats = table[key][name]
            ax.errorbar(i, stats['mean'], yerr=stats['std'], fmt='o', color=color, capsize=4)
        ax.set_xticks(range(len(keys)))
        ax.set_xlim(-0.5, len(keys) - 0.5)
        ax.set_xticklabels([METHODS[k].label for k in keys], rotation=35, ha='right', fontsize=7)
        ax.set_title(title, fontsize=9)
        ax.grid(axis='y', alpha=0.3)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def cosine_figures(runs: List[Run], args) -> List[str]:
    """Histograms and share curves (pixel cosines, paper pairs) of the first seed's run."""
    tool = load_tool('plot_gradient_cosine')
    written = []
    for run in runs:
        if not osp.isfile(osp.join(run.work_dir, 'gradient_cosine', 'summary.json')):
            continue
        pairs = [p for p in run.method.cosine_pairs if p in pairs_of(run)]
        argv = [run.work_dir, '--out', osp.join(args.assets, run.method.key), '--per', 'pixel']
        written += tool.main(argv + (['--pairs', *pairs] if pairs else []))
    return written


def pairs_of(run: Run) -> List[str]:
    with open(osp.join(run.work_dir, 'gradient_cosine', 'summary.json')) as f:
        summary = json.load(f)
    return [p for period in summary['periods'] for entry in period['modules'].values()
            for p in entry['pairs']]


def loss_figure(runs: List[Run], args) -> Optional[str]:
    """L_rec of SGA vs SCFT over training (Fig. 13), every finished seed."""
    runs = [r for r in runs if r.method.key in ('sga', 'scft') and glob_scalars(r.work_dir)]
    if not runs:
        return None
    out = osp.join(args.assets, 'loss_rec_sga_vs_scft.png')
    load_tool('plot_losses').main(
        [r.work_dir for r in runs] + ['--out', out, '--keys', 'loss_rec', '--smooth', '5',
                                      '--labels'] + [f'{r.method.label} seed {r.seed}'
                                                     for r in runs])
    return out


# --------------------------------------------------------------------------- report
def report_section(table, cos_rows, figures: List[str], records, args, with_fid) -> str:
    rel = (lambda p: osp.relpath(p, osp.dirname(osp.abspath(args.out))))
    done = [r['run'] for r in records if r['status'] == 'done']
    missing = [r['run'] for r in records if r['status'] != 'done']
    s = settings(args)
    lines = [
        BEGIN,
        '## Study results (generated by `tools/analysis_tools/run_study.py`)',
        '',
        f'Scale: SyntheticToonDataset (2000 training images), {s["img_size"]} px, batch '
        f'{s["batch_size"]}, {args.iters} iterations per run, generator base width '
        f'{s["base_channels"]} (the demo model), L1 + LSGAN losses, identical hyper-parameters '
        f'for every method; seeds {", ".join(map(str, args.seeds))}. Final checkpoint of each '
        'run evaluated by `tools/test.py` on the test split (64 images of other characters), '
        'random-reference protocol; ΔE is CIE76 to the oracle rendering. '
        + ('FID computed with pytorch-fid\'s Inception weights.' if with_fid else
           'FID was not computed: pytorch-fid\'s Inception weights file is not on this machine.'),
        '',
        f'Finished runs: {len(done)} of {len(records)}'
        + (f' (not finished: {", ".join(missing)})' if missing else '') + '.',
        '',
        '### Colourisation metrics (mean ± std over seeds; best in bold)',
        '',
        *metrics_markdown(table),
        '',
        'SSIM: windowed (Gaussian σ = 1.5, 11×11); SSIM (global): the authors\' single-window '
        'grayscale SSIM, the one the paper\'s tables use. L_rec: mean of the last 10% of the '
        'logged training iterations (weighted L1, weight 30).',
        '',
    ]
    if len(args.seeds) > 1:
        lines += ['Per seed (test split):', '',
                  *per_seed_markdown(records, args.methods, args.seeds), '']
    if cos_rows:
        lines += ['### Gradient cosine (GradientCosineHook, every '
                  f'{args.cosine_interval}th iteration; mean ± std over seeds)', '',
                  *cosine_markdown(cos_rows), '']
    for path in figures:
        lines += [f'![{osp.splitext(osp.basename(path))[0]}]({rel(path)})', '']
    lines.append(END)
    return '\n'.join(lines) + '\n'


def write_markdown(section: str, path: str) -> None:
    """Put ``section`` between the markers of ``path``, keeping the rest of the file."""
    text = open(path).read() if osp.isfile(path) else ''
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + section.rstrip('\n') + rest.split(END, 1)[1]
    else:
        text = (text.rstrip('\n') + '\n\n' if text else '# Results\n\n') + section
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path, 'w') as f:
        f.write(text)


def main(argv=None) -> int:
    args = parse_args(argv)
    args.work_root = osp.abspath(args.work_root)
    with_fid = fid_available()
    # Seed-major order: whole seeds finish first if the study is stopped early.
    runs = [Run(METHODS[key], seed, osp.join(args.work_root, key, f'seed{seed}'))
            for seed in args.seeds for key in args.methods]
    start = time.time()
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        records = list(pool.map(lambda run: execute(run, args, with_fid), runs))
    for record, run in zip(records, runs):
        record.setdefault('method', run.method.key)
        record.setdefault('seed', run.seed)
    table = aggregate(records, args.methods)
    cos_rows = cosine_rows(records, args.methods)
    write_data(records, table, cos_rows, args)
    first_seed = [r for r in runs if r.seed == args.seeds[0]]
    figures = [f for f in [metrics_figure(table, osp.join(args.assets, 'metrics.png'))] if f]
    figures += cosine_figures(first_seed, args)
    figures += [f for f in [loss_figure(runs, args)] if f]
    write_markdown(report_section(table, cos_rows, figures, records, args, with_fid), args.out)
    print(f'study: {sum(r["status"] == "done" for r in records)}/{len(records)} runs finished '
          f'({time.time() - start:.0f} s); wrote {args.out} and {args.assets}/')
    return 0 if all(r['status'] == 'done' for r in records) else 1


if __name__ == '__main__':
    sys.exit(main())
