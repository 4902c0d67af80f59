"""The study's tables: the markdown section of the report, results.json and results.csv."""
import csv
import json
import os
import os.path as osp
from typing import Dict, List, Optional

import numpy as np

from colorizer.fileio import strict_dumps

from .arms import DIAG_METRICS, METRICS, SCORE_METRICS, Arm, Metric
from .collecting import mean_std
from .locations import load_tool

BEGIN, END = '<!-- run_study:begin -->', '<!-- run_study:end -->'


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
        f.write(strict_dumps(dict(settings=settings(args), arms=table, paired=pairs,
                                  gradient_cosine=cos_rows, runs=slim), indent=1))
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
