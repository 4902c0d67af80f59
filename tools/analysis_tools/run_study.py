"""Correspondence study on the embedded SyntheticToonDataset (issue #17; paper Tables 1-3).

Does the cross-attention find correspondences, and does that decide the colourisation? Trains
every arm (an attention module and a learning rate; only these differ: the
``configs/*/*_demo.py`` configs) over several seeds (``randomness.seed``) with:

- ``CorrespondenceHook`` every ``--diag-interval`` iterations on the training batch (region
  mass against chance, diagonal mass, row entropy / max, top-k mass, mass-vs-norm Spearman),
- a checkpoint and a validation every ``--interval`` iterations on the validation split
  (64 other characters, random-reference protocol): region colour error ΔE, region accuracy,
  SSIM, PSNR and ``CorrespondenceMetric``,

and scores each run as the mean of its last ``--last`` validations (single checkpoints of one
run move by several ΔE; no checkpoint is selected, so the validation split is not used to pick
anything). It writes:

- a markdown section into ``--out`` (between ``<!-- run_study:begin -->`` and
  ``<!-- run_study:end -->``; text outside the markers, e.g. a discussion, is kept): mean ± std
  per arm, every run, paired per-seed comparisons, the diagnostics' cost, and the initial-map
  table of ``initial_map.py`` when its JSON is in the assets folder,
- ``results.json`` / ``results.csv`` and PNGs (scores per arm; diagnostics over training beside
  the ΔE curve, via ``plot_correspondence.py``; gradient-cosine figures when recorded) in
  ``--assets`` (default ``<out dir>/figures/study``).

Arms are ``METHOD`` (learning rate ``--lr``) or ``METHOD@LR`` (generator LR; the discriminator
gets twice it, as in the demo and the paper). A run whose ``results.json`` exists is not
repeated, so an interrupted study continues where it stopped; ``--report-only`` only rewrites
the tables and figures from the finished runs. A run whose training finished but whose
``results.json`` is missing (the study was stopped in between) is collected, not repeated.
``--order arm`` runs arm by arm in the given order (a study stopped early misses whole arms, the
last ones); ``--order seed`` (default) runs seed by seed (it misses the last seeds).

Examples::

    python tools/analysis_tools/run_study.py --seeds 0 1 2 --jobs 2
    python tools/analysis_tools/run_study.py --quick --work-root /tmp/study --out /tmp/study/r.md
    python tools/analysis_tools/run_study.py --arms sga scft sga@1e-4 --seeds 0
    python tools/analysis_tools/run_study.py --report-only
"""
import argparse
import csv
import glob
import importlib.util
import json
import math
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
    """An attention module: its demo config, its name and, for the methods whose gradient
    cosines can be recorded, the pairs to report."""
    key: str
    config: str
    label: str
    cosine_pairs: Tuple[str, ...] = ()


METHODS = {m.key: m for m in (
    Method('sga', 'configs/sga/sga_demo.py', 'SGA'),
    Method('scft', 'configs/scft/scft_demo.py', 'SCFT', SCFT_PAIRS),
    Method('uniform', 'configs/uniform/uniform_demo.py', 'uniform map (control)'),
    Method('oracle', 'configs/oracle/oracle_demo.py', 'oracle map (control)'),
    Method('line_art_sga', 'configs/line_art_sga/line_art_sga_demo.py', 'SGA, line-art map'),
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
#: Issue #17's study, most informative arms first (a study stopped early misses the last).
DEFAULT_ARMS = ['sga', 'scft', 'uniform', 'oracle', 'line_art_sga', 'sga@1e-4', 'scft@1e-4']
QUICK_ARMS = ['sga', 'scft', 'oracle']
#: Paired comparisons (A, B): per seed, A's score minus B's.
PAIRS = [('sga', 'scft'), ('sga@1e-4', 'scft@1e-4'), ('sga', 'uniform'), ('scft', 'uniform'),
         ('oracle', 'scft'), ('line_art_sga', 'sga'), ('line_art_sga', 'uniform'),
         ('sga', 'sga@1e-4'), ('scft', 'scft@1e-4')]


class Arm(NamedTuple):
    """One row of the study: a method at one generator learning rate."""
    key: str
    method: Method
    lr: float

    @property
    def label(self) -> str:
        return f'{self.method.label}, lr {self.lr:g}'


def parse_arm(text: str, default_lr: float) -> Arm:
    """``'sga'`` or ``'sga@1e-4'`` -> :class:`Arm`."""
    name, _, lr = text.partition('@')
    if name not in METHODS:
        raise argparse.ArgumentTypeError(
            f'unknown method {name!r} in arm {text!r}; known: {", ".join(sorted(METHODS))}')
    try:
        rate = float(lr) if lr else default_lr
    except ValueError:
        raise argparse.ArgumentTypeError(f'bad learning rate {lr!r} in arm {text!r}') from None
    if rate <= 0:
        raise argparse.ArgumentTypeError(f'learning rate must be positive in arm {text!r}')
    key = name if rate == default_lr else f'{name}@{rate:g}'
    return Arm(key, METHODS[name], rate)


class Metric(NamedTuple):
    name: str  # logged as random_ref/<name>
    header: str
    digits: int
    higher_is_better: Optional[bool]


METRICS = [
    Metric('delta_e', 'ΔE↓', 2, False),
    Metric('region_accuracy', 'region acc.↑', 3, True),
    Metric('ssim', 'SSIM↑', 3, True),
    Metric('psnr', 'PSNR↑', 2, True),
    Metric('corr/region_mass', 'region mass↑', 3, True),
    Metric('corr/region_chance', 'region chance', 3, None),
    Metric('corr/diagonal_mass', 'diagonal mass↑', 3, True),
    Metric('corr/entropy', 'row entropy (nats)', 2, None),
    Metric('corr/row_max', 'row max', 3, None),
    Metric('corr/topk_mass', 'top-4 mass', 3, None),
    Metric('corr/mass_norm_spearman', 'Spearman mass~norm', 2, None),
]
SCORE_METRICS = [m for m in METRICS if not m.name.startswith('corr/')]
DIAG_METRICS = [m for m in METRICS if m.name.startswith('corr/')]
#: Shrinks the demo to seconds (like tests/test_tools/tool_runner.TINY): 32 px, base width 2.
QUICK_SHRINK = dict(
    train_dataloader=dict(dataset=dict(img_size=32)),
    val_dataloader=dict(batch_size=4, dataset=dict(img_size=32, length=4)),
    test_dataloader=dict(batch_size=4, num_workers=0, persistent_workers=False,
                         dataset=dict(img_size=32, length=8)),
    model=dict(generator=dict(base_channels=2), discriminator=dict(base_channels=4)),
)


@dataclass
class Run:
    """One (arm, seed) training."""
    arm: Arm
    seed: int
    work_dir: str

    @property
    def name(self) -> str:
        return f'{self.arm.key}/seed{self.seed}'

    @property
    def results_path(self) -> str:
        return osp.join(self.work_dir, 'results.json')


# --------------------------------------------------------------------------- arguments
def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Correspondence study (issue #17)')
    parser.add_argument('--quick', action='store_true',
                        help='CI smoke run: 1 seed, SGA / SCFT / oracle, 32 px, base width 2, '
                        '20 iterations')
    parser.add_argument('--seeds', nargs='+', type=int, help='randomness.seed values '
                        '(default: 0 1 2; --quick: 0)')
    parser.add_argument('--iters', type=int, help='training iterations per run '
                        '(default: 1800; --quick: 20)')
    parser.add_argument('--interval', type=int, help='iterations between checkpoints and '
                        'validations (default: 300; --quick: 10)')
    parser.add_argument('--last', type=int, help='a run scores the mean of its last LAST '
                        'validations (default: 3; --quick: 2)')
    parser.add_argument('--diag-interval', type=int, help='CorrespondenceHook interval '
                        '(default: 50; --quick: 5)')
    parser.add_argument('--batch-size', type=int, help='training batch (default: 8; --quick: 4)')
    parser.add_argument('--lr', type=float, default=1e-3,
                        help='generator learning rate of arms without @LR (default: 1e-3, the '
                        "demo's; the discriminator gets twice it)")
    parser.add_argument('--arms', nargs='+', help=f'METHOD or METHOD@LR; methods: '
                        f'{" ".join(sorted(METHODS))} (default: {" ".join(DEFAULT_ARMS)}; '
                        f'--quick: {" ".join(QUICK_ARMS)})')
    parser.add_argument('--work-root', default='work_dirs/study',
                        help='where the generated configs and the run folders go')
    parser.add_argument('--out', default='docs/results.md', help='markdown file to write into')
    parser.add_argument('--assets', help='folder for the PNGs, JSON and CSV '
                        '(default: <dir of --out>/figures/study)')
    parser.add_argument('--jobs', type=int, default=1, help='runs in parallel')
    parser.add_argument('--threads', type=int,
                        help='torch threads per run (default: CPU count / jobs)')
    parser.add_argument('--cosine-interval', type=int,
                        help='GradientCosineHook capture interval for the methods that have '
                        'cosine pairs (default: 0, off; --quick: 5)')
    parser.add_argument('--cosine-periods', type=int, default=8,
                        help='histogram periods over training (summary_interval = iters / this)')
    parser.add_argument('--order', choices=('seed', 'arm'), default='seed',
                        help='seed: every arm of a seed before the next seed (default); arm: '
                        'every seed of an arm before the next arm')
    parser.add_argument('--report-only', action='store_true',
                        help='train nothing: tables and figures from the finished runs')
    parser.add_argument('--rerun', action='store_true',
                        help='repeat runs whose results.json already exists')
    args = parser.parse_args(argv)
    quick = args.quick
    args.seeds = args.seeds if args.seeds is not None else ([0] if quick else [0, 1, 2])
    args.iters = args.iters or (20 if quick else 1800)
    args.interval = args.interval or (10 if quick else 300)
    args.last = args.last or (2 if quick else 3)
    args.diag_interval = args.diag_interval or (5 if quick else 50)
    args.batch_size = args.batch_size or (4 if quick else 8)
    if args.cosine_interval is None:
        args.cosine_interval = 5 if quick else 0
    arms = [parse_arm(a, args.lr) for a in (args.arms or (QUICK_ARMS if quick else DEFAULT_ARMS))]
    if len({a.key for a in arms}) != len(arms):
        parser.error(f'an arm is given twice: {[a.key for a in arms]}')
    args.arms = arms
    if args.iters < args.interval * args.last:
        parser.error(f'--iters {args.iters} holds fewer than --last {args.last} validations '
                     f'every --interval {args.interval} iterations')
    args.threads = args.threads or max(1, (os.cpu_count() or 1) // max(1, args.jobs))
    args.assets = args.assets or osp.join(osp.dirname(osp.abspath(args.out)), 'figures', 'study')
    return args


# --------------------------------------------------------------------------- configs
def val_evaluators() -> List[dict]:
    return [dict(type='RegionColorError'), dict(type='SSIM'), dict(type='PSNR'),
            dict(type='CorrespondenceMetric')]


def run_overrides(run: Run, args) -> dict:
    """What the generated config changes in the method's demo config: the same for every arm
    but the learning rate."""
    hooks = [dict(type='SafeCheckpointHook'),
             dict(type='CorrespondenceHook', interval=args.diag_interval),
             dict(type='SampleGridHook', interval=args.iters, num_samples=8)]
    if run.arm.method.cosine_pairs and args.cosine_interval:
        # a whole number of capture intervals per histogram period
        captures = max(1, args.iters // args.cosine_periods // args.cosine_interval)
        hooks.append(dict(type='GradientCosineHook', interval=args.cosine_interval,
                          summary_interval=captures * args.cosine_interval))
    # one process per run: no dataloader workers competing with the other runs for the cores
    loader = dict(num_workers=0, persistent_workers=False)
    overrides = dict(
        randomness=dict(seed=run.seed, deterministic=False),
        model=dict(correspondence_outputs=True),
        optim_wrapper=dict(generator=dict(optimizer=dict(lr=run.arm.lr)),
                           discriminator=dict(optimizer=dict(lr=2 * run.arm.lr))),
        train_cfg=dict(max_iters=args.iters, val_interval=args.interval),
        train_dataloader=dict(batch_size=args.batch_size, **loader),
        val_dataloader=dict(loader),
        # No best-checkpoint selection: the last validations are averaged.
        default_hooks=dict(
            logger=dict(interval=args.diag_interval, log_metric_by_epoch=False),
            checkpoint=dict(interval=args.interval, max_keep_ckpts=args.last, save_best=None)),
        custom_hooks=hooks,
        val_evaluator=val_evaluators(),
    )
    if args.quick:
        for key, value in QUICK_SHRINK.items():
            overrides[key] = _merge(overrides.get(key, {}), value)
    return overrides


def _merge(base: dict, extra: dict) -> dict:
    out = dict(base)
    for key, value in extra.items():
        out[key] = _merge(out[key], value) if isinstance(out.get(key), dict) else value
    return out


def write_config(run: Run, args) -> str:
    """A config with ``_base_`` = the method's demo config and the study's overrides."""
    name = run.arm.key.replace('@', '_lr')
    path = osp.join(args.work_root, 'configs', f'{name}_seed{run.seed}.py')
    lines = [f'# Generated by tools/analysis_tools/run_study.py: {run.arm.label}, '
             f'seed {run.seed}.',
             f'_base_ = [{osp.join(ROOT, run.arm.method.config)!r}]']
    for key, value in run_overrides(run, args).items():
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


def execute(run: Run, args) -> dict:
    """Train one run (or reuse its finished results); return its record."""
    if osp.isfile(run.results_path) and not args.rerun:
        return load_run(run)
    finished = None if args.rerun else collect_run(run, args)
    if finished is not None:  # trained, then the study stopped before writing results.json
        with open(run.results_path, 'w') as f:
            json.dump(finished, f, indent=1)
        return load_run(run)
    if args.report_only:
        return dict(run=run.name, status='missing')
    shutil.rmtree(run.work_dir, ignore_errors=True)  # no stale logs of a dead run
    os.makedirs(run.work_dir)
    config = write_config(run, args)
    log = osp.join(run.work_dir, 'study.log')
    print(f'[{time.strftime("%H:%M:%S")}] start {run.name}', flush=True)
    start = time.time()
    code = call([sys.executable, 'tools/train.py', config, '--work-dir', run.work_dir],
                log, args.threads)
    train_seconds = time.time() - start
    record = collect_run(run, args)
    if code or record is None:
        print(f'  {run.name}: training failed ({code}), see {log}', flush=True)
        return dict(run=run.name, status='failed', log=log)
    record.update(train_seconds=train_seconds, threads=args.threads)
    with open(run.results_path, 'w') as f:
        json.dump(record, f, indent=1)
    print(f'[{time.strftime("%H:%M:%S")}] done {run.name}: {train_seconds:.0f} s', flush=True)
    return load_run(run)


def glob_scalars(work_dir: str) -> List[str]:
    """The training logs of a run (one per timestamp folder)."""
    return sorted(glob.glob(osp.join(work_dir, '2*', 'vis_data', 'scalars.json')))


def read_jsonl(path: str) -> List[dict]:
    records = []
    with open(path) as f:
        for line in f:
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # a line cut by a kill
    return records


def collect_run(run: Run, args) -> Optional[dict]:
    """The validations, training diagnostics and iteration times of a finished training.

    Returns None unless the log holds a validation at the last iteration.
    """
    if not osp.isdir(run.work_dir):
        return None
    vals, times, losses = [], [], []
    for path in glob_scalars(run.work_dir):
        for record in read_jsonl(path):
            if 'random_ref/delta_e' in record:
                vals.append({k: v for k, v in record.items()
                             if k == 'step' or k.startswith('random_ref/')})
            elif 'loss_rec' in record:
                times.append(record.get('time'))
                losses.append(record['loss_rec'])
    if not vals or vals[-1].get('step') != args.iters:
        return None
    diag_path = osp.join(run.work_dir, 'correspondence.jsonl')
    diagnostics = read_jsonl(diag_path) if osp.isfile(diag_path) else []
    times = [t for t in times if t is not None]
    return dict(run=run.name, arm=run.arm.key, seed=run.seed, iters=args.iters,
                interval=args.interval, last=args.last, diag_interval=args.diag_interval,
                batch_size=args.batch_size, validations=vals, diagnostics=diagnostics,
                iter_time=float(np.median(times)) if times else None,
                loss_rec=float(np.mean(losses[-max(1, len(losses) // 10):])) if losses else None)


def load_run(run: Run) -> dict:
    """A finished run's record with its score: the mean of its last validations."""
    with open(run.results_path) as f:
        record = json.load(f)
    last = record['validations'][-record['last']:]
    record['score'] = {m.name: float(np.mean([v[f'random_ref/{m.name}'] for v in last]))
                       for m in METRICS if all(f'random_ref/{m.name}' in v for v in last)}
    record['scored_iters'] = [v['step'] for v in last]
    seconds = [d['seconds'] for d in record['diagnostics'] if 'seconds' in d]
    if seconds and record.get('iter_time'):
        # the probe's cost spread over the iterations between two probes
        record['diag_overhead'] = float(np.median(seconds)) / (
            record['diag_interval'] * record['iter_time'])
    summary = osp.join(run.work_dir, 'gradient_cosine', 'summary.json')
    if osp.isfile(summary):
        with open(summary) as f:
            record['gradient_cosine'] = cosine_shares(json.load(f))
    record['status'] = 'done'
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
def mean_std(values: Sequence[Optional[float]]) -> dict:
    """Mean and sample standard deviation (0 for one value); None and NaN are left out."""
    arr = np.asarray([v for v in values if v is not None and not math.isnan(v)], dtype=float)
    if arr.size == 0:
        return dict(mean=None, std=None, n=0)
    std = float(arr.std(ddof=1)) if arr.size > 1 else 0.0
    return dict(mean=float(arr.mean()), std=std, n=int(arr.size))


def aggregate(records: List[dict], arms: List[Arm]) -> Dict[str, dict]:
    """arm -> metric -> mean/std/n of the runs' scores over the finished seeds."""
    table = {}
    for arm in arms:
        done = [r for r in records if r.get('arm') == arm.key and r['status'] == 'done']
        row = {m.name: mean_std([r['score'].get(m.name) for r in done]) for m in METRICS}
        for key in ('loss_rec', 'train_seconds', 'iter_time', 'diag_overhead'):
            row[key] = mean_std([r.get(key) for r in done])
        row['seeds'] = sorted(r['seed'] for r in done)
        table[arm.key] = row
    return table


def arm_key(text: str, arms: List[Arm]) -> Optional[str]:
    """The key of the arm ``text`` names among ``arms`` (``'sga@1e-4'`` is the arm keyed
    ``'sga@0.0001'``), or ``None`` when it was not run."""
    name, _, lr = text.partition('@')
    for arm in arms:
        if arm.key == text or (lr and arm.method.key == name and arm.lr == float(lr)):
            return arm.key
    return None


def paired(records: List[dict], arms: List[Arm]) -> List[dict]:
    """For each pair (A, B) of :data:`PAIRS` with both arms run: per-seed differences A - B."""
    by_run = {(r['arm'], r['seed']): r for r in records if r['status'] == 'done'}
    rows = []
    for pair in PAIRS:
        a, b = (arm_key(name, arms) for name in pair)
        if a is None or b is None:
            continue
        seeds = sorted(s for (k, s) in by_run if k == a and (b, s) in by_run)
        if not seeds:
            continue
        row = dict(a=a, b=b, seeds=seeds)
        for name in ('delta_e', 'corr/region_mass'):
            diffs = [by_run[(a, s)]['score'][name] - by_run[(b, s)]['score'][name]
                     for s in seeds]
            row[name] = dict(diffs=diffs, **mean_std(diffs))
        rows.append(row)
    return rows


def cosine_rows(records: List[dict], arms: List[Arm]) -> List[dict]:
    """Gradient-cosine shares of the paper's pairs, mean/std over seeds, per arm and per."""
    rows = []
    for arm in arms:
        done = [r['gradient_cosine'] for r in records
                if r.get('arm') == arm.key and r.get('gradient_cosine')]
        if not done:
            continue
        for module, pairs in done[0].items():
            for pair in [p for p in arm.method.cosine_pairs if p in pairs] or list(pairs):
                for per in ('pixel', 'instance'):
                    runs = [d[module][pair][per] for d in done
                            if per in d.get(module, {}).get(pair, {})]
                    if not runs:
                        continue
                    rows.append(dict(
                        arm=arm.key, module=module, pair=pair, per=per, label=runs[0]['label'],
                        first_iter=runs[0]['first_iter'], last_iter=runs[0]['last_iter'],
                        **{stat: mean_std([r[stat] for r in runs])
                           for stat in ('negative_first', 'negative_last', 'above_last')}))
    return rows


# --------------------------------------------------------------------------- writing
def fmt(stats: dict, digits: int, scale: float = 1.0, sign: bool = False) -> str:
    if not stats or stats.get('mean') is None:
        return '–'
    text = f'{scale * stats["mean"]:{"+" if sign else ""}.{digits}f}'
    return text + (f' ± {scale * stats["std"]:.{digits}f}' if stats['n'] > 1 else '')


def best_arm(table: Dict[str, dict], metric: Metric, skip=('oracle', )) -> Optional[str]:
    """The best arm by mean, controls excepted (the oracle reads the ground truth)."""
    if metric.higher_is_better is None:
        return None
    scored = {k: r[metric.name]['mean'] for k, r in table.items()
              if r[metric.name]['mean'] is not None and k.split('@')[0] not in skip}
    if not scored:
        return None
    pick = max if metric.higher_is_better else min
    return pick(scored, key=scored.get)


def table_markdown(table: Dict[str, dict], arms: List[Arm], metrics: List[Metric],
                   extra: bool) -> List[str]:
    metrics = [m for m in metrics if any(row[m.name]['n'] for row in table.values())]
    header = ['arm', 'seeds'] + [m.header for m in metrics]
    if extra:
        header += ['final L_rec (train)', 's / iter', 'train s/run']
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    best = {m.name: best_arm(table, m) for m in metrics}
    for arm in arms:
        row = table[arm.key]
        cells = [arm.label, ','.join(map(str, row['seeds'])) or 'none']
        for m in metrics:
            text = fmt(row[m.name], m.digits)
            cells.append(f'**{text}**' if best[m.name] == arm.key else text)
        if extra:
            cells += [fmt(row['loss_rec'], 2), fmt(row['iter_time'], 3),
                      fmt(row['train_seconds'], 0)]
        lines.append('| ' + ' | '.join(cells) + ' |')
    return lines


def per_run_markdown(records: List[dict], arms: List[Arm], seeds: List[int]) -> List[str]:
    """ΔE (mean of the last validations) and its spread over them, for every run."""
    header = ['arm'] + [f'ΔE seed {s}' for s in seeds] + [f'region mass seed {s}'
                                                          for s in seeds]
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    by_run = {(r['arm'], r['seed']): r for r in records if r['status'] == 'done'}
    for arm in arms:
        cells = [arm.label]
        for name, digits in (('delta_e', 2), ('corr/region_mass', 3)):
            for seed in seeds:
                run = by_run.get((arm.key, seed))
                if run is None or name not in run['score']:
                    cells.append('–')
                    continue
                last = [v[f'random_ref/{name}'] for v in run['validations'][-run['last']:]]
                cells.append(f'{np.mean(last):.{digits}f} ({min(last):.{digits}f}–'
                             f'{max(last):.{digits}f})')
        lines.append('| ' + ' | '.join(cells) + ' |')
    return lines


def paired_markdown(rows: List[dict], labels: Dict[str, str]) -> List[str]:
    header = ['A', 'B', 'seeds', 'ΔE(A) − ΔE(B) per seed', 'mean ± std', 'A better (lower ΔE)',
              'region mass A − B, mean ± std']
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    for row in rows:
        diffs = row['delta_e']['diffs']
        lines.append('| ' + ' | '.join([
            labels[row['a']], labels[row['b']], ','.join(map(str, row['seeds'])),
            ', '.join(f'{d:+.2f}' for d in diffs), fmt(row['delta_e'], 2, sign=True),
            f'{sum(d < 0 for d in diffs)} of {len(diffs)}',
            fmt(row['corr/region_mass'], 3, sign=True)]) + ' |')
    return lines


def cosine_markdown(rows: List[dict], labels: Dict[str, str]) -> List[str]:
    header = ['arm', 'pair', 'per', 'share < 0 (first period)', 'share < 0 (last period)',
              'share > 0.935 (last period)']
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    for row in rows:
        lines.append('| ' + ' | '.join([
            labels[row['arm']], row['label'].replace('|', '\\|'), row['per'],
            f'{fmt(row["negative_first"], 1, 100)}% (iter {row["first_iter"]})',
            f'{fmt(row["negative_last"], 1, 100)}% (iter {row["last_iter"]})',
            f'{fmt(row["above_last"], 1, 100)}%']) + ' |')
    return lines


def initial_map_markdown(path: str) -> List[str]:
    """The table of ``initial_map.py``'s JSON, when the file exists."""
    if not osp.isfile(path):
        return []
    tool = load_tool('initial_map')
    with open(path) as f:
        return tool.markdown(json.load(f))


def write_data(records: List[dict], table: Dict[str, dict], pairs: List[dict],
               cos_rows: List[dict], args) -> None:
    """results.json (everything but the per-iteration logs) and results.csv (one row per arm)."""
    os.makedirs(args.assets, exist_ok=True)
    slim = [{k: v for k, v in r.items() if k not in ('diagnostics', )} for r in records]
    with open(osp.join(args.assets, 'results.json'), 'w') as f:
        json.dump(dict(settings=settings(args), arms=table, paired=pairs,
                       gradient_cosine=cos_rows, runs=slim), f, indent=1)
    with open(osp.join(args.assets, 'results.csv'), 'w', newline='') as f:
        writer = csv.writer(f)
        names = [m.name for m in METRICS] + ['loss_rec', 'iter_time', 'train_seconds',
                                             'diag_overhead']
        writer.writerow(['arm', 'label', 'seeds'] + [f'{n}_{s}' for n in names
                                                     for s in ('mean', 'std')])
        for arm in args.arms:
            row = table[arm.key]
            writer.writerow([arm.key, arm.label, ' '.join(map(str, row['seeds']))]
                            + [row[n][s] for n in names for s in ('mean', 'std')])


def settings(args) -> dict:
    return dict(iters=args.iters, interval=args.interval, last=args.last,
                diag_interval=args.diag_interval, seeds=args.seeds,
                arms=[dict(key=a.key, method=a.method.key, lr=a.lr) for a in args.arms],
                quick=args.quick, img_size=32 if args.quick else 64,
                batch_size=args.batch_size, base_channels=2 if args.quick else 4,
                cosine_interval=args.cosine_interval, jobs=args.jobs, threads=args.threads)


# --------------------------------------------------------------------------- figures
def load_tool(name: str):
    """tools/analysis_tools/<name>.py as a module (the tools folder is no package)."""
    path = osp.join(ROOT, 'tools', 'analysis_tools', f'{name}.py')
    spec = importlib.util.spec_from_file_location(f'_study_tool_{name}', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def scores_figure(table: Dict[str, dict], arms: List[Arm], out: str) -> Optional[str]:
    """ΔE and validation region mass per arm: mean (dot) ± std over seeds (bar)."""
    arms = [a for a in arms if table[a.key]['delta_e']['n']]
    if not arms:
        return None
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    colors = ['tab:green' if a.method.key == 'sga' else 'tab:blue' if a.method.key == 'scft'
              else 'tab:purple' if a.method.key == 'line_art_sga' else 'tab:gray' for a in arms]
    for ax, name, title in zip(axes, ('delta_e', 'corr/region_mass'),
                               ('region colour error ΔE (lower is better)',
                                'same-region attention mass (dashes: chance)')):
        for i, (arm, color) in enumerate(zip(arms, colors)):
            stats = table[arm.key][name]
            if stats['mean'] is None:
                continue
            ax.errorbar(i, stats['mean'], yerr=stats['std'], fmt='o', color=color, capsize=4)
            if name == 'corr/region_mass' and table[arm.key]['corr/region_chance']['mean']:
                chance = table[arm.key]['corr/region_chance']['mean']
                ax.plot([i - 0.3, i + 0.3], [chance, chance], '--', color='k', lw=1)
        ax.set_xticks(range(len(arms)))
        ax.set_xlim(-0.5, len(arms) - 0.5)
        ax.set_xticklabels([a.label for a in arms], rotation=35, ha='right', fontsize=7)
        ax.set_title(title, fontsize=9)
        ax.grid(axis='y', alpha=0.3)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def curves_figure(runs: List[Run], args) -> Optional[str]:
    """Diagnostics over training beside the ΔE curve (``plot_correspondence.py``)."""
    groups = {}
    for run in runs:
        if osp.isfile(osp.join(run.work_dir, 'correspondence.jsonl')):
            groups.setdefault(run.arm.label, []).append(run.work_dir)
    if not groups:
        return None
    out = osp.join(args.assets, 'correspondence_curves.png')
    argv = ['--out', out]
    for label, dirs in groups.items():
        argv += ['--run', label, *dirs]
    load_tool('plot_correspondence').main(argv)
    return out


def cosine_figures(runs: List[Run], args) -> List[str]:
    """Histograms and share curves (pixel cosines, paper pairs) of the first seed's runs."""
    tool = load_tool('plot_gradient_cosine')
    written = []
    for run in runs:
        if not osp.isfile(osp.join(run.work_dir, 'gradient_cosine', 'summary.json')):
            continue
        argv = [run.work_dir, '--out', osp.join(args.assets, run.arm.key), '--per', 'pixel']
        pairs = [p for p in run.arm.method.cosine_pairs if p in pairs_of(run)]
        written += tool.main(argv + (['--pairs', *pairs] if pairs else []))
    return written


def pairs_of(run: Run) -> List[str]:
    with open(osp.join(run.work_dir, 'gradient_cosine', 'summary.json')) as f:
        summary = json.load(f)
    return [p for period in summary['periods'] for entry in period['modules'].values()
            for p in entry['pairs']]


# --------------------------------------------------------------------------- report
def report_section(table, pairs, cos_rows, figures: List[str], records, args) -> str:
    rel = (lambda p: osp.relpath(p, osp.dirname(osp.abspath(args.out))))
    labels = {a.key: a.label for a in args.arms}
    done = [r['run'] for r in records if r['status'] == 'done']
    missing = [r['run'] for r in records if r['status'] != 'done']
    s = settings(args)
    overhead = mean_std([r.get('diag_overhead') for r in records if r['status'] == 'done'])
    first = min((r['scored_iters'][0] for r in records if r['status'] == 'done'), default=None)
    lines = [
        BEGIN,
        '## Study results (generated by `tools/analysis_tools/run_study.py`)',
        '',
        f'Scale: SyntheticToonDataset (2000 training images), {s["img_size"]} px, batch '
        f'{s["batch_size"]}, {args.iters} iterations per run, generator base width '
        f'{s["base_channels"]} (4 levels: C = {30 * s["base_channels"]} channels, '
        f'N = {(s["img_size"] // 8) ** 2} tokens), L1 + LSGAN losses, Adam β = (0.5, 0.999), '
        'discriminator LR twice the generator\'s, everything but the attention module and the LR '
        f'identical; seeds {", ".join(map(str, args.seeds))}. A checkpoint and a validation every '
        f'{args.interval} iterations on the validation split (64 other characters, '
        'random-reference protocol; ΔE is CIE76 to the oracle rendering); each run scores the '
        f'mean of its last {args.last} validations (iterations {first}–{args.iters}); no '
        'checkpoint is selected. Correspondence diagnostics: `CorrespondenceMetric` at every '
        f'validation, `CorrespondenceHook` every {args.diag_interval} iterations on the '
        'training batch (TPS-warped references). FID is not part of this study: it needs '
        'thousands of images to be stable and measures realism, not whether the colours came '
        'from the right reference region, which is what ΔE and the diagnostics measure.',
        '',
        f'Finished runs: {len(done)} of {len(records)}'
        + (f' (not finished: {", ".join(missing)})' if missing else '') + '.',
        '',
        '### Colourisation (mean ± std over seeds of the runs\' scores; best non-oracle arm in '
        'bold)',
        '',
        *table_markdown(table, args.arms, SCORE_METRICS, extra=True),
        '',
        'SSIM: windowed (Gaussian σ = 1.5, 11×11). L_rec: mean of the last 10% of the logged '
        'training iterations (weighted L1, weight 30). s / iter: median logged iteration time.',
        '',
        '### Correspondence diagnostics at validation (random references; same scoring)',
        '',
        *table_markdown(table, args.arms, DIAG_METRICS, extra=False),
        '',
        'Statistics of the row-normalised cross map (each sketch token\'s distribution over '
        'the reference tokens): region mass = share on reference tokens of the sketch '
        'token\'s own region (token labels by majority), region chance = the same for a '
        'uniform map; diagonal mass = mass on the same token when the reference is the sketch\'s '
        'own colour image (chance 1/N); Spearman = rank correlation between the mass a '
        'reference token receives and its feature norm.',
        '',
    ]
    if len(args.seeds) > 1:
        lines += [f'Every run (mean of its last {args.last} validations, and their range):', '',
                  *per_run_markdown(records, args.arms, args.seeds), '']
    if pairs:
        lines += ['### Paired comparisons (same seed, same data order and initial '
                  'weights of the shared parts)', '', *paired_markdown(pairs, labels), '']
    if overhead['n']:
        lines += [f'Diagnostics cost: one `CorrespondenceHook` probe (two generator forwards '
                  f'without gradient on the training batch) every {args.diag_interval} '
                  f'iterations adds {fmt(overhead, 2, 100)}% to the training time '
                  f'(probe seconds / ({args.diag_interval} × median iteration time), over the '
                  f'{overhead["n"]} runs).', '']
    init = initial_map_markdown(osp.join(args.assets, 'initial_map.json'))
    if init:
        lines += ['### The map at initialisation', '', *init, '']
    if cos_rows:
        lines += ['### Gradient cosine (GradientCosineHook, every '
                  f'{args.cosine_interval}th iteration; mean ± std over seeds)', '',
                  *cosine_markdown(cos_rows, labels), '']
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
    order = ([(arm, seed) for seed in args.seeds for arm in args.arms] if args.order == 'seed'
             else [(arm, seed) for arm in args.arms for seed in args.seeds])
    runs = [Run(arm, seed, osp.join(args.work_root, arm.key.replace('@', '_lr'), f'seed{seed}'))
            for arm, seed in order]
    start = time.time()
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        records = list(pool.map(lambda run: execute(run, args), runs))
    for record, run in zip(records, runs):
        record.setdefault('arm', run.arm.key)
        record.setdefault('seed', run.seed)
    table = aggregate(records, args.arms)
    pairs = paired(records, args.arms)
    cos_rows = cosine_rows(records, args.arms)
    write_data(records, table, pairs, cos_rows, args)
    figures = [f for f in [scores_figure(table, args.arms,
                                         osp.join(args.assets, 'scores.png'))] if f]
    finished = [run for run, rec in zip(runs, records) if rec['status'] == 'done']
    figures += [f for f in [curves_figure(finished, args)] if f]
    figures += cosine_figures([r for r in finished if r.seed == args.seeds[0]], args)
    write_markdown(report_section(table, pairs, cos_rows, figures, records, args), args.out)
    print(f'study: {len(finished)}/{len(records)} runs finished '
          f'({time.time() - start:.0f} s); wrote {args.out} and {args.assets}/')
    return 0 if len(finished) == len(records) else 1


if __name__ == '__main__':
    sys.exit(main())
