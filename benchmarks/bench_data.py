"""Throughput of the training data pipeline, per worker (one process, one thread).

Generates 512 px JPEGs (scikit-image's photos, randomly cropped, flipped and hue-shifted, saved
at quality 95) in a temporary folder and runs a config's training pipeline over them
(default: ``configs/_base_/datasets/afhq_cat.py``, the paper's pipeline: load, resize to 256 px,
colour jitter, XDoG, TPS, pack; ``--pipeline _augmented_train_pipeline`` times the opt-in
augmentation). Each run times every transform (wall and CPU time); ``--runs`` repeats the whole
measurement (the record keeps every run and the median). ``--compare`` also runs each sample a
second time through the reference path (full-size decode, then the area resize) with the
same random draws and records how far the outputs are apart.

Prints a markdown table and writes a JSON record (``benchmark_record``: machine, libraries,
threads, load average before and after, command).

Example::

    python benchmarks/bench_data.py --runs 3 --compare --out docs/records/bench_data.json
    python benchmarks/bench_data.py --quick --out /tmp/bench_data.json
"""
import argparse
import copy
import json
import math
import os
import os.path as osp
import statistics
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch
from benchmark_record import LoadWatch, write_record
from mmengine.config import Config

from colorizer.datasets import SKIMAGE_PHOTOS, ColorizationDataset
from colorizer.datasets.skimage_photo_dataset import _load_photo
from colorizer.datasets.transforms import SAMPLE_SEED_KEY
from colorizer.registry import TRANSFORMS

CONFIG = osp.join(osp.dirname(__file__), '..', 'configs', '_base_', 'datasets', 'afhq_cat.py')

#: Settings of the reference path (``--compare``): what each fast path replaces.
REFERENCE_SETTINGS = {
    'LoadColorImage': dict(min_size=None),  # full-size decode; the resize does the rest
}
OUTPUT_KEYS = ('sketch', 'reference', 'target')


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--num-images', type=int, default=50, help='JPEGs to generate')
    parser.add_argument('--size', type=int, default=512, help='side of the generated JPEGs')
    parser.add_argument('--samples', type=int, default=500, help='samples timed per run')
    parser.add_argument('--runs', type=int, default=3, help='repeated measurements')
    parser.add_argument('--config', default=CONFIG, help='config whose pipeline to time')
    parser.add_argument('--pipeline', default='train_pipeline',
                        help='config key of the pipeline (e.g. _augmented_train_pipeline)')
    parser.add_argument('--compare', action='store_true',
                        help='measure output differences against the reference path')
    parser.add_argument('--quick', action='store_true',
                        help='tiny sizes for a smoke test (4 images, 12 samples, 1 run)')
    parser.add_argument('--out', default='work_dirs/bench_data.json', help='JSON record')
    parser.add_argument('--table', nargs=2, metavar=('BEFORE', 'AFTER'),
                        help='print the per-step before/after table of two records and exit')
    args = parser.parse_args(argv)
    if args.quick:
        args.num_images, args.samples, args.runs = 4, 12, 1
    return args


def make_images(folder: str, num: int, size: int, seed: int = 0) -> None:
    """Write ``num`` natural-looking ``size`` px JPEGs (variations of scikit-image photos)."""
    rng = np.random.default_rng(seed)
    photos = [p for p in (_load_photo(n) for n in SKIMAGE_PHOTOS) if p is not None]
    for i in range(num):
        photo = photos[i % len(photos)]
        h, w = photo.shape[:2]
        side = int(min(h, w) * rng.uniform(0.6, 1.0))
        top, left = rng.integers(0, h - side + 1), rng.integers(0, w - side + 1)
        img = cv2.resize(photo[top:top + side, left:left + side], (size, size),
                         interpolation=cv2.INTER_AREA if side > size else cv2.INTER_CUBIC)
        if rng.random() < 0.5:
            img = img[:, ::-1]
        hsv = cv2.cvtColor(np.ascontiguousarray(img), cv2.COLOR_RGB2HSV)
        hsv[..., 0] = (hsv[..., 0].astype(np.int32) + rng.integers(0, 180)) % 180
        img = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)
        cv2.imwrite(osp.join(folder, f'{i:04d}.jpg'), img, [cv2.IMWRITE_JPEG_QUALITY, 95])


class _Timed:
    """Wraps a transform and accumulates its wall and CPU time."""

    def __init__(self, transform):
        self.transform = transform
        self.name = type(transform).__name__
        self.wall = 0.0
        self.cpu = 0.0

    def __call__(self, results):
        wall, cpu = time.perf_counter(), time.process_time()
        out = self.transform(results)
        self.cpu += time.process_time() - cpu
        self.wall += time.perf_counter() - wall
        return out


def _one_run(dataset, timed, samples: int) -> dict:
    for t in timed:
        t.wall = t.cpu = 0.0
    load_before = _loadavg()
    wall, cpu = time.perf_counter(), time.process_time()
    for i in range(samples):
        dataset[i % len(dataset)]
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return dict(load_average=dict(before=load_before, after=_loadavg()),
                samples_per_s=samples / wall, ms_per_sample=1e3 * wall / samples,
                cpu_ms_per_sample=1e3 * cpu / samples,
                ms_per_transform={t.name: 1e3 * t.wall / samples for t in timed},
                cpu_ms_per_transform={t.name: 1e3 * t.cpu / samples for t in timed})


def _loadavg():
    return [round(v, 2) for v in os.getloadavg()]


def _median_run(runs) -> dict:
    names = list(runs[0]['ms_per_transform'])
    return dict(
        samples_per_s=statistics.median(r['samples_per_s'] for r in runs),
        ms_per_sample=statistics.median(r['ms_per_sample'] for r in runs),
        cpu_ms_per_sample=statistics.median(r['cpu_ms_per_sample'] for r in runs),
        ms_per_transform={n: statistics.median(r['ms_per_transform'][n] for r in runs)
                          for n in names},
        cpu_ms_per_transform={n: statistics.median(r['cpu_ms_per_transform'][n] for r in runs)
                              for n in names})


def reference_pipeline(pipeline_cfg) -> list:
    """The pipeline with each fast path switched to its reference (``REFERENCE_SETTINGS``)."""
    cfg = copy.deepcopy(list(pipeline_cfg))
    for step in cfg:
        step.update(REFERENCE_SETTINGS.get(step['type'], {}))
    return cfg


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64))**2))
    return math.inf if mse == 0 else 10 * math.log10(255.0**2 / mse)


def _finite_or_none(value: float):
    # identical outputs have an infinite PSNR, which JSON cannot hold: null
    return value if math.isfinite(value) else None


def compare(folder: str, pipeline_cfg, samples: int) -> dict:
    """Output differences between the pipeline and its reference path, same random draws.

    Every sample gets a ``sample_seed``, so both pipelines draw the same jitter, sigma and warp.
    The packed outputs are compared per key: mean and max absolute difference (uint8 levels),
    PSNR, and the share of pixels that differ at all (for the binary sketch: flipped).

    As a yardstick of what is immaterial, the reference path is also run on each JPEG saved
    once more at quality 95 (one more JPEG generation, as any re-saving of a data set does)
    and compared with itself on the original file.
    """
    fast = [TRANSFORMS.build(c) for c in pipeline_cfg]
    slow = [TRANSFORMS.build(c) for c in reference_pipeline(pipeline_cfg)]
    with tempfile.TemporaryDirectory() as resaved:
        for name in sorted(os.listdir(folder)):
            img = cv2.imread(osp.join(folder, name), cv2.IMREAD_COLOR)
            cv2.imwrite(osp.join(resaved, name), img, [cv2.IMWRITE_JPEG_QUALITY, 95])
        original = ColorizationDataset(data_root=folder, pipeline=[])
        again = ColorizationDataset(data_root=resaved, pipeline=[])
        pairs = dict(fast_vs_reference=[], reference_resaved_q95_vs_reference=[])
        for i in range(samples):
            reference = _run(slow, original, i)
            pairs['fast_vs_reference'].append((_run(fast, original, i), reference))
            pairs['reference_resaved_q95_vs_reference'].append((_run(slow, again, i), reference))
    return {name: _differences(outputs) for name, outputs in pairs.items()}


def _run(transforms, dataset, i: int) -> dict:
    results = dict(dataset.get_data_info(i % len(dataset)), **{SAMPLE_SEED_KEY: i})
    for t in transforms:
        results = t(results)
    return results


def _differences(pairs) -> dict:
    out = {}
    for key in OUTPUT_KEYS:
        stats = dict(mean_abs=[], max_abs=[], psnr=[], changed=[])
        for packed_a, packed_b in pairs:
            a, b = _output(packed_a, key), _output(packed_b, key)
            delta = np.abs(a.astype(np.int16) - b.astype(np.int16))
            stats['mean_abs'].append(float(delta.mean()))
            stats['max_abs'].append(int(delta.max()))
            stats['psnr'].append(_psnr(a, b))
            stats['changed'].append(float((delta > 0).mean()))
        out[key] = dict(mean_abs=float(np.mean(stats['mean_abs'])),
                        max_abs=int(max(stats['max_abs'])),
                        psnr_median=_finite_or_none(float(np.median(stats['psnr']))),
                        psnr_min=_finite_or_none(float(min(stats['psnr']))),
                        changed_share=float(np.mean(stats['changed'])))
    return out


def _output(packed: dict, key: str) -> np.ndarray:
    if key == 'target':
        return packed['data_samples'].target.numpy()
    return packed['inputs'][key].numpy()


def run(args) -> dict:
    cv2.setNumThreads(1)  # one worker = one core: no hidden OpenCV / torch thread pools
    torch.set_num_threads(1)
    cfg = Config.fromfile(args.config)
    if args.pipeline not in cfg:
        raise KeyError(f'{args.config} has no {args.pipeline!r}')
    pipeline_cfg = cfg[args.pipeline]
    with tempfile.TemporaryDirectory() as folder:
        make_images(folder, args.num_images, args.size)
        dataset = ColorizationDataset(data_root=folder, pipeline=pipeline_cfg)
        timed = [_Timed(t) for t in dataset.pipeline.transforms]
        dataset.pipeline.transforms = timed
        for i in range(10):  # warm-up: imports, caches
            dataset[i % len(dataset)]
        np.random.seed(0)
        runs = [_one_run(dataset, timed, args.samples) for _ in range(args.runs)]
        differences = compare(folder, pipeline_cfg, args.num_images) if args.compare else None
    result = dict(
        _median_run(runs),
        runs=runs,
        pipeline=[t.name for t in timed],
        config=dict(config=osp.relpath(args.config), pipeline=args.pipeline,
                    image_size=args.size, output_size=int(cfg.get('img_size', 0)),
                    num_images=args.num_images, samples=args.samples, runs=args.runs,
                    jpeg_quality=95))
    if differences is not None:
        result['differences'] = dict(reference=REFERENCE_SETTINGS, samples=args.num_images,
                                     **differences)
    return result


def markdown(result: dict) -> str:
    lines = ['| step | ms / sample (wall) | ms / sample (CPU) |', '|---|---:|---:|']
    for name, ms in result['ms_per_transform'].items():
        lines.append(f"| {name} | {ms:.2f} | {result['cpu_ms_per_transform'][name]:.2f} |")
    lines.append(f"| **total** | **{result['ms_per_sample']:.2f}** | "
                 f"**{result['cpu_ms_per_sample']:.2f}** |")
    cfg = result['config']
    lines += ['', f"**{result['samples_per_s']:.0f} samples/s per worker** (median of "
              f"{cfg['runs']} runs: " + ', '.join(
                  f"{r['samples_per_s']:.0f} (load {r['load_average']['before'][0]:.1f})"
                  for r in result['runs'])
              + f"; {cfg['image_size']} px JPEG -> {cfg['output_size']} px, one thread, "
              f"{cfg['pipeline']})"]
    if 'differences' in result:
        lines += ['', '| comparison | output | mean abs diff | max abs diff | '
                  'PSNR median (min) dB | pixels changed |', '|---|---|---:|---:|---:|---:|']
        for name in ('fast_vs_reference', 'reference_resaved_q95_vs_reference'):
            for key, d in result['differences'][name].items():
                psnr = ('identical' if d['psnr_median'] is None else
                        f"{d['psnr_median']:.1f} ({d['psnr_min'] or math.inf:.1f})")
                lines.append(f"| {name} | {key} | {d['mean_abs']:.3f} | {d['max_abs']} | "
                             f"{psnr} | {100 * d['changed_share']:.2f}% |")
    return '\n'.join(lines)


def before_after(before: dict, after: dict) -> str:
    """Markdown table of two records, step by step (CPU and wall ms, medians of the runs)."""
    steps = list(dict.fromkeys([*before['ms_per_transform'], *after['ms_per_transform']]))
    lines = ['| step | before ms CPU (wall) | after ms CPU (wall) |', '|---|---:|---:|']

    def cell(result, name):
        if name not in result['ms_per_transform']:
            return '-'
        return (f"{result['cpu_ms_per_transform'][name]:.2f} "
                f"({result['ms_per_transform'][name]:.2f})")
    lines += [f'| {name} | {cell(before, name)} | {cell(after, name)} |' for name in steps]
    lines.append(f"| **total** | **{before['cpu_ms_per_sample']:.2f}** "
                 f"({before['ms_per_sample']:.2f}) | **{after['cpu_ms_per_sample']:.2f}** "
                 f"({after['ms_per_sample']:.2f}) |")

    def rate(result):
        runs = ', '.join(f"{r['samples_per_s']:.0f}" for r in result['runs'])
        return (f"**{1e3 / result['cpu_ms_per_sample']:.0f}** "
                f"({result['samples_per_s']:.0f}: {runs})")
    lines.append(f'| samples/s by CPU time (wall: runs) | {rate(before)} | {rate(after)} |')
    return '\n'.join(lines)


def main(argv=None) -> dict:
    args = parse_args(argv)
    if args.table:
        records = [json.loads(Path(p).read_text()) for p in args.table]
        print(before_after(*records))
        return {}
    watch = LoadWatch()
    result = run(args)
    payload = write_record(args.out, result, watch, torch_threads=1)
    print(markdown(result))
    load = payload['record']['load_average']
    print(f"\nload average {load['before']} -> {load['after']}; wrote {args.out}")
    return payload


if __name__ == '__main__':
    main()
