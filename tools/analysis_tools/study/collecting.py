"""Collecting a run's logs into a record (validations, diagnostics, gradient cosines), and
aggregating the records: mean ± std per arm, paired per-seed differences, cosine shares."""
import glob
import json
import math
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np

from .arms import METRICS, PAIRS, Arm, Run

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
    # a value written as null (a NaN metric) stays NaN
    record['score'] = {m.name: float(np.mean(np.asarray(
        [v[f'random_ref/{m.name}'] for v in last], dtype=float)))
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
