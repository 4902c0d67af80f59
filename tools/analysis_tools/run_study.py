"""Correspondence study on the embedded SyntheticToonDataset (paper Tables 1-3).

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

This file is the command line; the parts live in ``tools/analysis_tools/study/``: ``arms.py``
(methods, arms, metrics), ``running.py`` (generated configs, training), ``collecting.py`` (run
records, aggregates), ``tables.py`` (markdown, JSON, CSV) and ``figures.py``.

Examples::

    python tools/analysis_tools/run_study.py --seeds 0 1 2 --jobs 2
    python tools/analysis_tools/run_study.py --quick --work-root /tmp/study --out /tmp/study/r.md
    python tools/analysis_tools/run_study.py --arms sga scft sga@1e-4 --seeds 0
    python tools/analysis_tools/run_study.py --report-only
"""
import argparse
import os
import os.path as osp
import sys
import time
from concurrent.futures import ThreadPoolExecutor

# the study's parts sit beside this file; it may be loaded by path, not run as a script
_HERE = osp.dirname(osp.abspath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from study.arms import DEFAULT_ARMS, METHODS, QUICK_ARMS, Run, parse_arm  # noqa: E402
from study.collecting import aggregate, cosine_rows, paired  # noqa: E402
from study.figures import cosine_figures, curves_figure, scores_figure  # noqa: E402
from study.running import execute  # noqa: E402
from study.tables import report_section, write_data, write_markdown  # noqa: E402

__all__ = ['parse_args', 'main', 'parse_arm', 'paired']


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Correspondence study: does the cross-attention find correspondences?')
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
