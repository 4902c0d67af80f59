"""Every method on real artists' line art, trained two ways, several seeds: a JSON and a grid.

For each method and seed this script trains twice through the documented commands,

- ``xdog``: the method's demo config (``configs/<m>/<m>_demo.py``: synthetic cartoons, XDoG
  sketches), and
- ``real``: its real-line-art config (``configs/<m>/<m>_real_line_art.py``: the converted
  clip art's training split, palette swaps),

then scores both checkpoints on the real test split with ``tools/test.py <real config> CKPT
--data-root DIR``: segment accuracy, ΔE over the regions, SSIM, PSNR, and the cross map's
region mass against chance over the drawn shapes. The JSON holds every run's metrics, per
method the paired (same seed) difference real - xdog, and per regime each method's paired
difference from SGA (``against_sga_*``, with the number of seeds it is better on); the PNG
shows real line art | reference | exact target | each method's output (first seed).

Examples::

    python benchmarks/bench_real_line_art.py --data-root data/openclipart_line_art \\
        --out docs/records/bench_real_line_art.json --grid docs/figures/real_line_art.jpg
    # a few minutes on a CPU: two methods, one seed, 30 iterations, 32 px
    python benchmarks/bench_real_line_art.py --data-root data/openclipart_line_art \\
        --methods sga scft --seeds 0 --iters 30 --img-size 32 --out /tmp/r.json --grid /tmp/r.png
    # the README's tables from a record
    python benchmarks/bench_real_line_art.py --tables docs/records/bench_real_line_art.json
"""
import argparse
import concurrent.futures
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from colorizer.fileio import strict_dumps

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchmark_record import LoadWatch, write_record  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
#: method -> (XDoG-trained config, real-line-art config); the latter also tests both.
METHODS = {
    'sga': ('configs/sga/sga_demo.py', 'configs/sga/sga_real_line_art.py'),
    'scft': ('configs/scft/scft_demo.py', 'configs/scft/scft_real_line_art.py'),
    'line_art_sga': ('configs/line_art_sga/line_art_sga_demo.py',
                     'configs/line_art_sga/line_art_sga_real_line_art.py'),
    'oracle': ('configs/oracle/oracle_demo.py', 'configs/oracle/oracle_real_line_art.py'),
    'uniform': ('configs/uniform/uniform_demo.py', 'configs/uniform/uniform_real_line_art.py'),
    'corr_sga': ('configs/corr_sga/corr_sga_demo.py',
                 'configs/corr_sga/corr_sga_real_line_art.py'),
}
REGIMES = ('xdog', 'real')
#: names in the README tables
NAMES = {'sga': 'SGA', 'scft': 'SCFT', 'line_art_sga': 'LineArtSGA',
         'oracle': 'oracle map (control)', 'uniform': 'uniform map (control)',
         'corr_sga': 'corr_sga (shipped recipe)'}
REGIME_NAMES = {'xdog': 'XDoG cartoons', 'real': 'real line art'}
#: the grid's column titles (a tile is 128 px wide)
SHORT_NAMES = {'line_art_sga': 'LineArt', 'corr_sga': 'corr'}


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--tables', metavar='RECORD',
                        help='only print the README tables of an existing record')
    parser.add_argument('--data-root', help='converted real line-art folder (required)')
    parser.add_argument('--methods', nargs='+', default=list(METHODS), choices=list(METHODS))
    parser.add_argument('--regimes', nargs='+', default=list(REGIMES), choices=REGIMES)
    parser.add_argument('--seeds', nargs='+', type=int, default=[0, 1, 2])
    parser.add_argument('--iters', type=int, help='training iterations (default: the config)')
    parser.add_argument('--img-size', type=int, help='image size of training and test')
    parser.add_argument('--batch-size', type=int, help='training batch size')
    parser.add_argument('--base-channels', type=int, help='generator width (small = fast)')
    parser.add_argument('--split-file', help='split list (default: the committed one)')
    parser.add_argument('--test-limit', type=int, help='test only the first N test drawings '
                        '(writes a shortened split file)')
    parser.add_argument('--work-dir', default='work_dirs/bench_real_line_art')
    parser.add_argument('--jobs', type=int, default=1,
                        help='runs (training + test) at once; each is one process')
    parser.add_argument('--reuse', action='store_true',
                        help='take a run whose run.json exists in its work dir instead of '
                        'training it again')
    parser.add_argument('--grid-samples', type=int, default=6)
    parser.add_argument('--out', help='JSON record to write (required)')
    parser.add_argument('--grid', help='picture grid PNG to write')
    args = parser.parse_args(argv)
    if not args.tables and not (args.data_root and args.out):
        parser.error('--data-root and --out are required (unless --tables RECORD)')
    return args


def _options(args, seed: int, train: bool, real: bool = True) -> list:
    options = [f'randomness.seed={seed}'] if train else []
    if args.img_size:
        options.append(f'img_size={args.img_size}')
    if args.base_channels:
        options.append(f'model.generator.base_channels={args.base_channels}')
    if train and args.iters:
        options += [f'train_cfg.max_iters={args.iters}', f'train_cfg.val_interval={args.iters}',
                    f'default_hooks.checkpoint.interval={args.iters}']
    if train and args.batch_size:
        options.append(f'train_dataloader.batch_size={args.batch_size}')
    if args.split_file:  # the XDoG regime's training and validation data are not line art
        loaders = ('train_dataloader', 'val_dataloader') if train and real else ()
        options += [f'{loader}.dataset.split_file={args.split_file}'
                    for loader in loaders + (() if train else ('test_dataloader', ))]
    return options


def _run(command: list) -> float:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, *command], cwd=ROOT, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f'{" ".join(command)} failed ({proc.returncode}):\n'
                           f'{(proc.stdout + proc.stderr)[-3000:]}')
    return time.perf_counter() - start


def train_and_test(args, method: str, regime: str, seed: int) -> dict:
    """One training run and its test on the real split; returns the metrics and times."""
    xdog_config, real_config = METHODS[method]
    work = Path(args.work_dir) / f'{method}_{regime}_seed{seed}'
    train_cmd = ['tools/train.py', xdog_config if regime == 'xdog' else real_config,
                 '--work-dir', str(work)]
    if regime == 'real':
        train_cmd += ['--data-root', args.data_root]
    train_s = _run(train_cmd + ['--cfg-options', *_options(args, seed, True, regime == 'real')])
    checkpoint = (work / 'last_checkpoint').read_text().strip()
    out = work / 'real_test.json'
    test_cmd = ['tools/test.py', real_config, checkpoint, '--data-root', args.data_root,
                '--work-dir', str(work / 'test'), '--out', str(out),
                '--save-images', str(work / 'real_test_images')]
    options = _options(args, seed, train=False)
    test_s = _run(test_cmd + (['--cfg-options', *options] if options else []))
    metrics = {k: v for k, v in json.loads(out.read_text()).items() if '/' in k}
    run = dict(method=method, regime=regime, seed=seed, train_s=round(train_s, 1),
               test_s=round(test_s, 1), metrics=metrics, images=str(work / 'real_test_images'))
    (work / 'run.json').write_text(strict_dumps(run, indent=2) + '\n')
    return run


def run_or_reuse(args, method: str, regime: str, seed: int) -> dict:
    """``train_and_test``, or with ``--reuse`` the run's saved ``run.json``; a failing run
    comes back as ``{'error': ...}`` so that the others' results are still written."""
    saved = Path(args.work_dir) / f'{method}_{regime}_seed{seed}' / 'run.json'
    if args.reuse and saved.is_file():
        return json.loads(saved.read_text())
    try:
        return train_and_test(args, method, regime, seed)
    except RuntimeError as error:
        return dict(method=method, regime=regime, seed=seed, metrics={}, error=str(error))


def summary(runs: list, key: str) -> dict:
    """Per method and regime: mean and sample std of ``key`` over the seeds that ran."""
    table = {}
    for method, regime in sorted({(r['method'], r['regime']) for r in runs}):
        values = [r['metrics'][key] for r in runs if r['method'] == method
                  and r['regime'] == regime and key in r['metrics']]
        if values:
            table.setdefault(method, {})[regime] = dict(
                n=len(values), mean=float(np.mean(values)),
                std=float(np.std(values, ddof=1)) if len(values) > 1 else None)
    return table


def paired(runs: list, key: str) -> dict:
    """Per method: real - xdog of ``key``, paired by seed (mean, sample std, per seed)."""
    table = {}
    for method in sorted({r['method'] for r in runs}):
        by = {(r['regime'], r['seed']): r['metrics'][key] for r in runs
              if r['method'] == method and key in r['metrics']}
        seeds = sorted(s for (g, s) in by if g == 'real' and ('xdog', s) in by)
        diffs = [by[('real', s)] - by[('xdog', s)] for s in seeds]
        if diffs:
            table[method] = _differences(seeds, diffs)
    return table


def _differences(seeds: list, diffs: list) -> dict:
    """Per-seed differences with their mean and sample std (None for a single seed)."""
    return dict(seeds=seeds, per_seed=diffs, mean=float(np.mean(diffs)),
                std=float(np.std(diffs, ddof=1)) if len(diffs) > 1 else None)


def paired_against(runs: list, key: str, baseline: str = 'sga',
                   higher_is_better: bool = True) -> dict:
    """Per regime and method: method - ``baseline`` of ``key``, paired by seed (mean, sample
    std, per seed, and ``better``: on how many seeds the method is better, i.e. higher, or
    lower with ``higher_is_better=False``)."""
    table = {}
    for regime in sorted({r['regime'] for r in runs}):
        by = {(r['method'], r['seed']): r['metrics'][key] for r in runs
              if r['regime'] == regime and key in r['metrics']}
        for method in sorted({m for (m, _) in by if m != baseline}):
            seeds = sorted(s for (m, s) in by if m == method and (baseline, s) in by)
            diffs = [by[(method, s)] - by[(baseline, s)] for s in seeds]
            if diffs:
                table.setdefault(regime, {})[method] = dict(
                    _differences(seeds, diffs),
                    better=sum((d > 0) if higher_is_better else (d < 0) for d in diffs))
    return table


def write_grid(args, runs: list, path: str) -> None:
    """Rows: real line art | reference | exact target | each run's output (first seed), each
    tile at twice the test size, with column titles ``<method> <regime>``."""
    import cv2
    from mmengine.config import Config

    import colorizer.datasets  # noqa: F401  (registers the dataset and transforms)
    from colorizer.registry import DATASETS
    from colorizer.visualization.image_grid import make_grid, save_image, tensor_to_image
    cfg = Config.fromfile(str(ROOT / METHODS[runs[0]['method']][1]))
    dataset_cfg = dict(cfg.test_dataloader.dataset, data_root=args.data_root)
    if args.img_size:
        dataset_cfg['img_size'] = args.img_size
    if args.split_file:
        dataset_cfg['split_file'] = args.split_file
    dataset = DATASETS.build(dataset_cfg)
    shown = [r for r in runs if r['seed'] == runs[0]['seed']]
    headers = ['line art', 'reference', 'target'] + [
        f"{SHORT_NAMES.get(r['method'], r['method'])} {r['regime']}" for r in shown]
    rows = []
    for index in range(min(args.grid_samples, len(dataset))):
        sample = dataset[index]
        row = [tensor_to_image(sample['inputs']['sketch'].repeat(3, 1, 1)),
               tensor_to_image(sample['inputs']['reference']),
               tensor_to_image(sample['data_samples'].target)]
        for run in shown:
            found = sorted(Path(run['images']).glob(f'{index:06d}*.png'))
            row.append(cv2.imread(str(found[0]))[..., ::-1] if found else np.zeros_like(row[0]))
        # twice the size, nearest neighbour: 64 px tiles are too small to judge by eye
        rows.append([cv2.resize(image, None, fx=2, fy=2, interpolation=cv2.INTER_NEAREST)
                     for image in row])
    save_image(path, make_grid(rows, headers=headers))


def _mean_std(cell: dict, digits: int) -> str:
    if cell.get('std') is None:
        return f"{cell['mean']:.{digits}f}"
    return f"{cell['mean']:.{digits}f} ± {cell['std']:.{digits}f}"


def _signed(cell: dict, digits: int) -> str:
    text = f"{cell['mean']:+.{digits}f}"
    if cell.get('std') is not None:
        text += f" ± {cell['std']:.{digits}f}"
    return text + f" ({cell['better']}/{len(cell['seeds'])} better)"


def markdown_tables(record: dict) -> str:
    """The README's tables from a record: per method and regime (mean ± sample std over
    seeds), then each method - SGA paired by seed (in brackets: on how many seeds the method
    is better than SGA: higher accuracy and region mass, lower ΔE)."""
    acc, de = record['segment_accuracy'], record['segment_delta_e']
    mass, chance = record.get('region_mass', {}), record.get('region_chance', {})
    lines = ['| method | trained on | n | segment accuracy ↑ | segment ΔE ↓ | '
             'region mass (chance) ↑ |', '|---|---|---|---|---|---|']
    for method in record['methods']:
        for regime in record['regimes']:
            if regime not in acc.get(method, {}):
                continue
            cell_mass = mass.get(method, {}).get(regime)
            mass_text = (f"{_mean_std(cell_mass, 3)} "
                         f"({chance[method][regime]['mean']:.3f})" if cell_mass else '-')
            lines.append(f"| {NAMES.get(method, method)} | {REGIME_NAMES[regime]} | "
                         f"{acc[method][regime]['n']} | {_mean_std(acc[method][regime], 3)} | "
                         f"{_mean_std(de[method][regime], 1)} | {mass_text} |")
    lines += ['', '| method − SGA, paired by seed | trained on | Δ segment accuracy | '
              'Δ segment ΔE | Δ region mass |', '|---|---|---|---|---|']
    against = (record.get('against_sga_segment_accuracy', {}),
               record.get('against_sga_segment_delta_e', {}),
               record.get('against_sga_region_mass', {}))
    for method in record['methods']:
        for regime in record['regimes']:
            cells = [table.get(regime, {}).get(method) for table in against]
            if cells[0] is None:
                continue
            texts = [_signed(cell, digits) if cell else '-'
                     for cell, digits in zip(cells, (3, 2, 3))]
            lines.append(f"| {NAMES.get(method, method)} | {REGIME_NAMES[regime]} | "
                         + ' | '.join(texts) + ' |')
    return '\n'.join(lines) + '\n'


def main(argv=None) -> dict:
    args = parse_args(argv)
    if args.tables:
        print(markdown_tables(json.loads(Path(args.tables).read_text())), end='')
        return {}
    if args.test_limit:
        from colorizer.datasets.line_art_dataset import DEFAULT_SPLIT_FILE
        splits = json.loads(Path(args.split_file or DEFAULT_SPLIT_FILE).read_text())
        splits['test'] = splits['test'][:args.test_limit]
        splits['val'] = splits['val'][:args.test_limit]
        Path(args.work_dir).mkdir(parents=True, exist_ok=True)
        args.split_file = str(Path(args.work_dir).resolve() / 'split_limited.json')
        Path(args.split_file).write_text(strict_dumps(splits))
    watch = LoadWatch()
    jobs = [(m, g, s) for m in args.methods for s in args.seeds for g in args.regimes]
    runs = []
    with concurrent.futures.ThreadPoolExecutor(max(1, args.jobs)) as pool:
        futures = [pool.submit(run_or_reuse, args, *job) for job in jobs]
        for future in concurrent.futures.as_completed(futures):
            print(strict_dumps(future.result()), flush=True)
            runs.append(future.result())
            # after every run, so that a crash or a kill leaves the finished runs on disk
            write_record(args.out, _result(args, runs), watch)
    runs = [r for job in jobs for r in runs if (r['method'], r['regime'], r['seed']) == job]
    result = _result(args, runs)
    if args.grid:
        write_grid(args, [r for r in runs if 'error' not in r], args.grid)
        result['grid'] = args.grid
    return write_record(args.out, result, watch)


def _result(args, runs: list) -> dict:
    return dict(data_root=os.path.abspath(args.data_root), methods=args.methods,
                regimes=args.regimes, seeds=args.seeds, iters=args.iters,
                img_size=args.img_size, batch_size=args.batch_size,
                base_channels=args.base_channels, test_limit=args.test_limit,
                failed=[r for r in runs if 'error' in r], runs=runs,
                segment_accuracy=summary(runs, 'self_ref/segment_accuracy'),
                segment_delta_e=summary(runs, 'self_ref/segment_delta_e'),
                region_mass=summary(runs, 'self_ref/corr/region_mass'),
                region_chance=summary(runs, 'self_ref/corr/region_chance'),
                paired_segment_accuracy=paired(runs, 'self_ref/segment_accuracy'),
                paired_segment_delta_e=paired(runs, 'self_ref/segment_delta_e'),
                paired_region_mass=paired(runs, 'self_ref/corr/region_mass'),
                against_sga_segment_accuracy=paired_against(runs, 'self_ref/segment_accuracy'),
                against_sga_segment_delta_e=paired_against(runs, 'self_ref/segment_delta_e',
                                                           higher_is_better=False),
                against_sga_region_mass=paired_against(runs, 'self_ref/corr/region_mass'))


if __name__ == '__main__':
    main()
