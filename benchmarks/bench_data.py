"""Throughput of the training data pipeline, per worker (one process, one thread).

Generates 512 px JPEGs (scikit-image's photos, randomly cropped, flipped and hue-shifted) in a
temporary folder and runs the paper's training pipeline (``configs/_base_/datasets/afhq_cat.py``:
load, 256 px random resized crop, flip, colour jitter, XDoG, TPS, pack) over them. Prints a
markdown table (time per transform and samples/s) and writes it as JSON.

Example::

    python benchmarks/bench_data.py --num-images 50 --samples 300 --out work_dirs/bench_data.json
"""
import argparse
import json
import os.path as osp
import platform
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch
from mmengine.config import Config

from colorizer.datasets import SKIMAGE_PHOTOS, ColorizationDataset
from colorizer.datasets.skimage_photo_dataset import _load_photo

CONFIG = osp.join(osp.dirname(__file__), '..', 'configs', '_base_', 'datasets', 'afhq_cat.py')


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--num-images', type=int, default=50, help='JPEGs to generate')
    parser.add_argument('--size', type=int, default=512, help='side of the generated JPEGs')
    parser.add_argument('--samples', type=int, default=300, help='samples to time')
    parser.add_argument('--config', default=CONFIG, help='config whose train pipeline to time')
    parser.add_argument('--out', default='work_dirs/bench_data.json', help='JSON output')
    return parser.parse_args(argv)


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
    """Wraps a transform and accumulates its run time."""

    def __init__(self, transform):
        self.transform = transform
        self.name = type(transform).__name__
        self.seconds = 0.0

    def __call__(self, results):
        start = time.perf_counter()
        out = self.transform(results)
        self.seconds += time.perf_counter() - start
        return out


def run(args) -> dict:
    cv2.setNumThreads(1)  # one worker = one core: no hidden OpenCV / torch thread pools
    torch.set_num_threads(1)
    cfg = Config.fromfile(args.config)
    with tempfile.TemporaryDirectory() as folder:
        make_images(folder, args.num_images, args.size)
        dataset = ColorizationDataset(data_root=folder, pipeline=cfg.train_pipeline)
        timed = [_Timed(t) for t in dataset.pipeline.transforms]
        dataset.pipeline.transforms = timed
        for i in range(10):  # warm-up: imports, caches
            dataset[i % len(dataset)]
        for t in timed:
            t.seconds = 0.0
        np.random.seed(0)
        start = time.perf_counter()
        for i in range(args.samples):
            dataset[i % len(dataset)]
        total = time.perf_counter() - start
    per_transform = {t.name: 1000.0 * t.seconds / args.samples for t in timed}
    return dict(
        samples_per_s_per_worker=args.samples / total,
        ms_per_sample=1000.0 * total / args.samples,
        ms_per_transform=per_transform,
        image_size=args.size,
        crop_size=int(cfg.img_size),
        samples=args.samples,
        cpu=platform.processor() or platform.machine(),
        opencv=cv2.__version__,
        numpy=np.__version__)


def markdown(result: dict) -> str:
    lines = ['| step | ms / sample |', '|---|---:|']
    lines += [f'| {name} | {ms:.2f} |' for name, ms in result['ms_per_transform'].items()]
    lines.append(f"| **total** | **{result['ms_per_sample']:.2f}** |")
    lines.append('')
    lines.append(f"**{result['samples_per_s_per_worker']:.0f} samples/s per worker** "
                 f"({result['image_size']} px JPEG -> {result['crop_size']} px, one thread)")
    return '\n'.join(lines)


def main(argv=None) -> dict:
    args = parse_args(argv)
    result = run(args)
    print(markdown(result))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, 'w') as f:
        json.dump(result, f, indent=2)
    print(f'\nwrote {args.out}')
    return result


if __name__ == '__main__':
    main()
