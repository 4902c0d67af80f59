"""Precompute XDoG sketches for a folder of colour images.

Writes ``DST/<relative path>.png`` (lossless, single channel) for every image under ``SRC``,
keeping the folder structure, so ``ColorizationDataset(data_root=SRC, sketch_root=DST)`` finds
them. Sketches are computed at the file's own resolution.

Example::

    python tools/dataset_converters/prepare_sketches.py data/afhq/train/cat \
        data/afhq_sketches/train/cat --workers 8

Unreadable files are listed at the end and make the script exit with status 1.
"""
import argparse
import functools
import sys
import zlib
from pathlib import Path
from typing import Optional, Tuple

import cv2
from mmengine.utils import track_parallel_progress, track_progress

from colorizer.datasets import ImageReadError, read_color_image, scan_image_folder
from colorizer.datasets.transforms.xdog import SIGMAS, xdog_sketch


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('src', help='folder of colour images (searched recursively)')
    parser.add_argument('dst', help='output folder for the sketches')
    parser.add_argument('--workers', type=int, default=1, help='worker processes')
    parser.add_argument(
        '--sigma',
        type=float,
        default=None,
        help=f'XDoG sigma for every image; default: one of {SIGMAS} per image, drawn from a '
        'hash of its path and --seed (reproducible)')
    parser.add_argument('--seed', type=int, default=0, help='seed of the per-image sigma')
    parser.add_argument('--overwrite', action='store_true', help='redo existing sketches')
    return parser.parse_args(argv)


def pick_sigma(rel: str, sigma: Optional[float], seed: int) -> float:
    """The fixed ``sigma``, or one of the paper's sigmas chosen by a hash of the path."""
    if sigma is not None:
        return sigma
    return SIGMAS[zlib.crc32(f'{seed}:{rel}'.encode()) % len(SIGMAS)]


def convert_one(rel: str, src: str, dst: str, sigma: Optional[float], seed: int,
                overwrite: bool) -> Tuple[str, Optional[str]]:
    """Write the sketch of ``src/rel``; returns ``(rel, error message or None)``."""
    out = Path(dst, rel).with_suffix('.png')
    if out.exists() and not overwrite:
        return rel, None
    try:
        img = read_color_image(Path(src, rel))
    except ImageReadError as err:
        return rel, str(err)
    out.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(out), xdog_sketch(img, pick_sigma(rel, sigma, seed))):
        return rel, f'cannot write {out}'
    return rel, None


def main(argv=None) -> int:
    args = parse_args(argv)
    rel_paths = scan_image_folder(args.src)
    job = functools.partial(
        convert_one,
        src=args.src,
        dst=args.dst,
        sigma=args.sigma,
        seed=args.seed,
        overwrite=args.overwrite)
    if args.workers > 1:
        results = track_parallel_progress(job, rel_paths, nproc=args.workers)
    else:
        results = track_progress(job, rel_paths)
    failed = [(rel, err) for rel, err in results if err is not None]
    print(f'\n{len(rel_paths) - len(failed)} sketches in {args.dst}, {len(failed)} failed')
    for rel, err in failed:
        print(f'  {rel}: {err}', file=sys.stderr)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
