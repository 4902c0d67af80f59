"""Train the shipped recipe and SCFT on the same budget, paired by seed, and score both.

For every seed, both arms are trained with ``tools/train.py`` (the same iterations, batch size
and seed, so the same data order) and scored on the synthetic benchmark (the test split of
SyntheticToonDataset: other characters, random-reference protocol, ΔE CIE76 to the oracle
rendering and region accuracy, as ``RegionColorError``), four ways:

- ``plain``: the network's output;
- ``region_fill``: after :class:`~colorizer.postprocessing.RegionFill` along the sketch;
- ``blank_reference``: the reference replaced by a blank white page; scored against the same
  oracle, this says how much of the score comes without any colour information;
- ``shuffled_reference``: each sketch coloured with another test sample's reference, scored
  against its own oracle: a model that reads the reference must lose here (leakage test: a
  model trained on self-references can learn to ignore them).

``survival`` = leak-protocol region accuracy / plain region accuracy. The JSON record (machine,
libraries, load) goes to ``--out``, a grid (sketch | reference | output | region fill | oracle)
of the first seed's shipped model to ``--grid``.

``--real-data-root DIR`` (a folder built by ``tools/dataset_converters/openclipart_line_art.py``)
also scores every run on the real line-art test split (artists' line art, the reference the same
drawing in another palette, TPS-warped, the exact target known), with the same four protocols
and ``SegmentAccuracy``'s measure (segment accuracy, ΔE over the drawn regions; the paper,
label 0, not scored).

Examples::

    python benchmarks/bench_shipped_model.py --seeds 0 1 2 --iters 1000 \\
        --out docs/records/shipped_model.json --grid docs/figures/shipped_model_grid.png
    # score runs trained before (same layout: WORK/<arm>_seed<S>/iter_<N>.pth), no training,
    # on both benchmarks:
    python benchmarks/bench_shipped_model.py --seeds 0 --iters 1000 --work-root WORK --reuse \
        --real-data-root data/openclipart_line_art
"""
import argparse
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np
import torch
from mmengine.config import Config

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchmark_record import LoadWatch, write_record  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from colorizer.apis import init_model  # noqa: E402
from colorizer.evaluation.metrics import RegionColorError, SegmentAccuracy  # noqa: E402
from colorizer.evaluation.metrics.segment_accuracy import segment_scores  # noqa: E402
from colorizer.evaluation.metrics.region_color_error import region_statistics  # noqa: E402
from colorizer.models.data_preprocessors.colorization_data_preprocessor import \
    to_uint8  # noqa: E402
from colorizer.postprocessing import RegionFill  # noqa: E402
from colorizer.registry import DATASETS  # noqa: E402
from colorizer.visualization import make_grid, save_image  # noqa: E402
from colorizer.fileio import strict_dumps  # noqa: E402

#: Arm name -> config. The shipped recipe first.
ARMS = {
    'shipped': 'configs/corr_sga/corr_sga_toon64.py',
    'scft': 'configs/scft/scft_demo.py',
}
PROTOCOLS = ('plain', 'region_fill', 'blank_reference', 'shuffled_reference')
#: The config whose test split is the real line-art benchmark (its data_root is replaced).
REAL_LINE_ART_CONFIG = 'configs/sga/sga_real_line_art.py'


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--iters', type=int, default=1000, help='training iterations per run')
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument('--arms', nargs='+', default=list(ARMS), choices=list(ARMS))
    parser.add_argument('--work-root', default='work_dirs/bench_shipped_model',
                        help='runs go to WORK_ROOT/<arm>_seed<S>')
    parser.add_argument('--reuse', action='store_true',
                        help='score an existing WORK_ROOT/<arm>_seed<S>/iter_<ITERS>.pth '
                        'instead of training again')
    parser.add_argument('--test-samples', type=int, default=64,
                        help='samples of the synthetic test split')
    parser.add_argument('--real-data-root',
                        help='also score on the real line-art test split of this converted '
                        'folder (segment accuracy)')
    parser.add_argument('--real-split-file', help='split list of --real-data-root (default: '
                        'the committed one)')
    parser.add_argument('--quick', action='store_true',
                        help='tiny settings (tests): 32 px, width 2, 4 iterations, 8 samples')
    parser.add_argument('--out', required=True, help='JSON record to write')
    parser.add_argument('--grid', help='PNG grid of the first seed shipped model')
    return parser.parse_args(argv)


def train_options(args, seed: int) -> List[str]:
    """``--cfg-options`` of one run: seed, budget, no worker processes, one checkpoint."""
    options = [
        f'randomness.seed={seed}', f'train_cfg.max_iters={args.iters}',
        f'train_cfg.val_interval={args.iters}', f'default_hooks.checkpoint.interval={args.iters}',
        f'train_dataloader.batch_size={args.batch_size}', 'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False', 'val_dataloader.num_workers=0',
        'val_dataloader.persistent_workers=False', 'custom_hooks.1.interval=' + str(args.iters),
    ]
    if args.quick:
        options += ['train_dataloader.dataset.img_size=32', 'val_dataloader.dataset.img_size=32',
                    'val_dataloader.dataset.length=4', 'test_dataloader.dataset.img_size=32',
                    'model.generator.base_channels=2', 'model.discriminator.base_channels=4']
    return options


def train(args, arm: str, seed: int) -> Dict:
    """Train one run (or find it with ``--reuse``); its checkpoint and wall time."""
    work = Path(args.work_root) / f'{arm}_seed{seed}'
    checkpoint = work / f'iter_{args.iters}.pth'
    if args.reuse and checkpoint.is_file():
        return dict(checkpoint=str(checkpoint), work_dir=str(work), trained_here=False)
    command = [sys.executable, 'tools/train.py', ARMS[arm], '--work-dir', str(work),
               '--cfg-options', *train_options(args, seed)]
    start = time.perf_counter()
    proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f'{" ".join(command)} failed ({proc.returncode}):\n'
                           f'{proc.stderr[-3000:]}')
    return dict(checkpoint=str(checkpoint), work_dir=str(work), trained_here=True,
                train_wall_s=round(time.perf_counter() - start, 1),
                train_command=' '.join(command[1:]))


def run_config(work: Path) -> str:
    """The config a run dumped into its work dir (the newest ``*.py`` there)."""
    configs = sorted(work.glob('*.py'), key=lambda p: p.stat().st_mtime)
    if not configs:
        raise FileNotFoundError(f'no dumped config in {work}: not a tools/train.py work dir')
    return str(configs[-1])


def test_dataset(config, samples: Optional[int], quick: bool):
    """The config's test dataset (deterministic, random-reference)."""
    cfg = dict(config.test_dataloader.dataset)
    if samples is not None and 'length' in cfg:
        cfg['length'] = samples
    if quick and 'img_size' in cfg:
        cfg['img_size'] = 32
    return DATASETS.build(cfg)


def _blank_like(reference: torch.Tensor) -> torch.Tensor:
    return torch.ones_like(reference)  # [-1, 1] range: white paper


def real_test_dataset(data_root: str, img_size, split_file: Optional[str] = None):
    """The real line-art test split (self-reference protocol, exact targets) at ``img_size``
    (``split_file``: another split list than the committed one)."""
    cfg = dict(Config.fromfile(str(ROOT / REAL_LINE_ART_CONFIG)).test_dataloader.dataset)
    cfg.update(data_root=data_root, img_size=img_size)
    if split_file:
        cfg['split_file'] = split_file
    return DATASETS.build(cfg)


def score(model, dataset, batch_size: int = 16, keep: int = 0, real: bool = False) -> Dict:
    """ΔE and accuracy of the four protocols on ``dataset``; ``keep`` rows for a grid.

    ``real=False``: the synthetic set, against each sample's ``oracle`` (``RegionColorError``:
    ``delta_e``, ``region_accuracy``). ``real=True``: the real line-art set, against the exact
    ``target`` (``SegmentAccuracy``: ``delta_e`` over the drawn regions, ``segment_accuracy``).
    """
    from mmengine.dataset import pseudo_collate
    fill = RegionFill()
    results = {name: [] for name in PROTOCOLS}
    rows = []
    if real:
        metric, accuracy = SegmentAccuracy(ignore_index=0), 'segment_accuracy'
    else:
        metric, accuracy = RegionColorError(), 'region_accuracy'
    metric.dataset_meta = dataset.metainfo
    for start in range(0, len(dataset), batch_size):
        batch = pseudo_collate([dataset[i] for i in range(start, min(len(dataset),
                                                                     start + batch_size))])
        with torch.no_grad():
            data = model.data_preprocessor(batch, False)
            sketch, reference = data['inputs']['sketch'], data['inputs']['reference']
            outputs = dict(
                plain=model.generator(sketch, reference),
                blank_reference=model.generator(sketch, _blank_like(reference)),
                shuffled_reference=model.generator(sketch, reference.roll(1, dims=0)))
        lines = to_uint8(sketch).numpy()[:, 0]
        images = {k: to_uint8(v).permute(0, 2, 3, 1).numpy() for k, v in outputs.items()}
        images['region_fill'] = np.stack([fill(out, line)
                                          for out, line in zip(images['plain'], lines)])
        targets = to_uint8(data['inputs']['target']).permute(0, 2, 3, 1).numpy() if real else None
        for i, sample in enumerate(data['data_samples']):
            oracle = targets[i] if real else sample.oracle.permute(1, 2, 0).numpy()
            labels = sample.labels.numpy()
            for name in PROTOCOLS:
                results[name].append(
                    segment_scores(images[name][i], oracle, labels, ignore_index=0) if real
                    else region_statistics(images[name][i], oracle, labels))
            if len(rows) < keep:
                rows.append([np.repeat(lines[i][..., None], 3, axis=2),
                             to_uint8(reference[i]).permute(1, 2, 0).numpy(),
                             images['plain'][i], images['region_fill'][i], oracle])
    scores = {}
    for name in PROTOCOLS:
        values = metric.compute_values(results[name])
        scores[name] = {'delta_e': values['segment_delta_e' if real else 'delta_e'],
                        accuracy: values[accuracy]}
    for name in ('blank_reference', 'shuffled_reference'):
        plain = scores['plain'][accuracy]
        scores[name]['survival'] = scores[name][accuracy] / plain if plain else None
    return dict(scores=scores, rows=rows)


def summarise(runs: Dict, benchmark: str = 'synthetic') -> Dict:
    """Mean ± std over seeds per arm and protocol, and shipped − SCFT per seed, on one
    benchmark (``'synthetic'`` or ``'real_line_art'``)."""
    accuracy = 'segment_accuracy' if benchmark == 'real_line_art' else 'region_accuracy'
    summary = {}
    for arm, per_seed in runs.items():
        summary[arm] = {}
        for name in PROTOCOLS:
            for key in ('delta_e', accuracy):
                values = [r[benchmark][name][key] for r in per_seed.values()]
                summary[arm][f'{name}/{key}'] = dict(mean=float(np.mean(values)),
                                                     std=float(np.std(values)),
                                                     seeds=len(values))
    if 'shipped' in runs and 'scft' in runs:
        paired = {}
        for seed in sorted(set(runs['shipped']) & set(runs['scft'])):
            a, b = runs['shipped'][seed][benchmark], runs['scft'][seed][benchmark]
            paired[seed] = {f'{name}/{key}': a[name][key] - b[name][key]
                            for name in ('plain', 'region_fill')
                            for key in ('delta_e', accuracy)}
        summary['shipped_minus_scft'] = paired
    return summary


def main(argv=None) -> Dict:
    args = parse_args(argv)
    if args.quick:
        args.iters, args.test_samples = min(args.iters, 4), min(args.test_samples, 8)
    watch = LoadWatch()
    runs: Dict[str, Dict] = {arm: {} for arm in args.arms}
    grid_rows = None
    for seed in args.seeds:
        for arm in args.arms:
            run = train(args, arm, seed)
            # the config the run saved (with its --cfg-options), not the file it started from
            model = init_model(run_config(Path(run['work_dir'])), run['checkpoint'])
            want_grid = args.grid and grid_rows is None and arm == 'shipped'
            synthetic = score(model, test_dataset(model.cfg, args.test_samples, args.quick),
                              keep=6 if want_grid else 0)
            if want_grid:
                grid_rows = synthetic['rows']
            run['synthetic'] = synthetic['scores']
            if args.real_data_root:
                run['real_line_art'] = score(
                    model, real_test_dataset(args.real_data_root, model.img_size,
                                             args.real_split_file), real=True)['scores']
            runs[arm][seed] = run
            print(f'{arm} seed {seed}: ' + strict_dumps(
                {k: run[k] for k in ('synthetic', 'real_line_art') if k in run}))
    result = dict(arms={arm: ARMS[arm] for arm in args.arms}, seeds=args.seeds,
                  iters=args.iters, batch_size=args.batch_size,
                  test_samples=args.test_samples, protocols=list(PROTOCOLS),
                  runs={arm: {str(s): r for s, r in per.items()} for arm, per in runs.items()},
                  summary=summarise(runs))
    if args.real_data_root:
        result.update(real_data_root=args.real_data_root,
                      real_line_art_summary=summarise(runs, 'real_line_art'))
    if args.grid and grid_rows:
        save_image(args.grid, make_grid(grid_rows, headers=[
            'sketch', 'reference', 'output', 'region fill', 'oracle']))
        result['grid'] = args.grid
    return write_record(args.out, result, watch)


if __name__ == '__main__':
    main()
