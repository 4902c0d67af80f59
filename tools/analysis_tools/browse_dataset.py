"""Write PNG grids of what a config's dataset feeds the model.

Each row is one sample: sketch | reference | target [| oracle] [| labels], the way the model
sees them after the whole pipeline (crops, jitter, XDoG, TPS). Use it to check a new dataset or
pipeline before training.

Example::

    python tools/analysis_tools/browse_dataset.py configs/_base_/datasets/synthetic_toon.py \
        --out work_dirs/browse --split val --num 16
"""
import argparse
import os.path as osp
from pathlib import Path
from typing import List

import cv2
import numpy as np
from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope

from colorizer.engine.propagated_options import (apply_propagated_options,
                                                 split_propagated_options)
from colorizer.registry import DATASETS

_HEADER = 18  # pixels of the caption bar


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config', help='config file with {train,val,test}_dataloader')
    parser.add_argument('--out', required=True, help='folder for the PNG grids')
    parser.add_argument('--split', choices=('train', 'val', 'test'), default='train')
    parser.add_argument('--num', type=int, default=16, help='number of samples')
    parser.add_argument('--rows', type=int, default=8, help='samples per PNG')
    parser.add_argument('--tile', type=int, default=128, help='minimum tile size in pixels')
    parser.add_argument('--data-root', metavar='DIR',
                        help="the folder of images, as for tools/train.py (same as "
                        '--cfg-options data_root=DIR)')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction, help='override config settings')
    return parser.parse_args(argv)


def _to_hwc(tensor, size) -> np.ndarray:
    """(C, H, W) uint8 tensor to an RGB tile of ``size``."""
    img = tensor.numpy().transpose(1, 2, 0)
    if img.shape[2] == 1:
        img = np.repeat(img, 3, axis=2)
    return cv2.resize(np.ascontiguousarray(img), size, interpolation=cv2.INTER_NEAREST)


# Okabe-Ito colours, distinguishable also with colour-blindness; black is the background.
_LABEL_COLORS = np.array([(0, 0, 0), (230, 159, 0), (86, 180, 233), (0, 158, 115),
                          (240, 228, 66), (0, 114, 178), (213, 94, 0), (204, 121, 167)], np.uint8)


def _label_tile(labels, size) -> np.ndarray:
    """Region ids in fixed, well separated colours (ids beyond the table get random ones)."""
    lut = np.random.default_rng(12345).integers(40, 256, size=(256, 3)).astype(np.uint8)
    lut[:len(_LABEL_COLORS)] = _LABEL_COLORS
    img = lut[labels.numpy().clip(0, 255)]
    return cv2.resize(img, size, interpolation=cv2.INTER_NEAREST)


def sample_row(sample: dict, tile: int) -> List[np.ndarray]:
    """The tiles of one packed sample and their captions."""
    ds = sample['data_samples']
    h, w = ds.target.shape[1:]
    factor = max(1, int(np.ceil(tile / max(h, w))))
    size = (w * factor, h * factor)
    tiles = [('sketch', _to_hwc(sample['inputs']['sketch'], size)),
             ('reference', _to_hwc(sample['inputs']['reference'], size)),
             ('target', _to_hwc(ds.target, size))]
    if 'oracle' in ds:
        tiles.append(('oracle', _to_hwc(ds.oracle, size)))
    if 'labels' in ds:
        tiles.append(('labels', _label_tile(ds.labels, size)))
    return tiles


def _caption(tile: np.ndarray, text: str) -> np.ndarray:
    bar = np.full((_HEADER, tile.shape[1], 3), 255, np.uint8)
    cv2.putText(bar, text, (3, _HEADER - 5), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (0, 0, 0), 1,
                cv2.LINE_AA)
    return np.concatenate([bar, tile], axis=0)


def make_grid(rows: List[List[tuple]], meta: List[str]) -> np.ndarray:
    """Stack rows of captioned tiles with a 2 px white gap."""
    width = max(sum(t.shape[1] + 2 for _, t in row) for row in rows)
    lines = []
    for row, info in zip(rows, meta):
        tiles = [_caption(tile, f'{name} {info}' if i == 0 else name)
                 for i, (name, tile) in enumerate(row)]
        gap = np.full((tiles[0].shape[0], 2, 3), 255, np.uint8)
        line = np.concatenate([x for t in tiles for x in (t, gap)], axis=1)
        pad = np.full((line.shape[0], width - line.shape[1], 3), 255, np.uint8)
        lines.append(np.concatenate([line, pad], axis=1))
        lines.append(np.full((2, width, 3), 255, np.uint8))
    return np.concatenate(lines, axis=0)


def main(argv=None) -> List[str]:
    args = parse_args(argv)
    # data_root / img_size reach the values the config computed from them, as in the tools
    propagated, cfg_options = split_propagated_options(args.cfg_options, args.data_root)
    cfg = Config.fromfile(args.config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    apply_propagated_options(cfg, propagated)
    init_default_scope(cfg.get('default_scope', 'colorizer'))
    dataset = DATASETS.build(cfg[f'{args.split}_dataloader'].dataset)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    num = min(args.num, len(dataset))
    written = []
    for start in range(0, num, args.rows):
        indices = range(start, min(start + args.rows, num))
        samples = [dataset[i] for i in indices]
        meta = [f"#{s['data_samples'].metainfo.get('index')}->"
                f"{s['data_samples'].metainfo.get('reference_index')}" for s in samples]
        grid = make_grid([sample_row(s, args.tile) for s in samples], meta)
        path = osp.join(args.out, f'{args.split}_{start:05d}.png')
        cv2.imwrite(path, cv2.cvtColor(grid, cv2.COLOR_RGB2BGR))
        written.append(path)
    print(f'{len(dataset)} samples in the {args.split} set; wrote {", ".join(written)}')
    return written


if __name__ == '__main__':
    main()
