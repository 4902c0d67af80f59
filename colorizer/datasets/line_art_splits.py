"""The fixed test / validation / training split of the real line-art set.

Drawings are grouped before splitting so that no near-duplicate and no artist's series is on
both sides of a split: two converted drawings share a group when

- their names share a series stem (the file name without a trailing number, e.g. ``dino_x_06``
  and ``dino_x_07``),
- they have the same creator and the same first word of the name, or
- their line art has nearly the same perceptual hash (difference hash of the ink's bounding
  box, 64 bits, Hamming distance at most ``max_hash_distance``; Krawetz, "Kind of Like That",
  2013). Hashing the whole frame instead chains unrelated drawings: mostly white thumbnails
  differ in few bits.

Test and validation groups are drawn, in a seeded order, from groups holding drawings that pass
the strict gates, and only those drawings are listed there; every other converted drawing not in
a test or validation group is training data.
"""
import json
import os
import os.path as osp
import re
from typing import Dict, List

import cv2
import numpy as np

__all__ = ['difference_hash', 'line_art_hash', 'group_drawings', 'make_splits']


def difference_hash(gray: np.ndarray) -> int:
    """64-bit difference hash of a grey image: is each pixel of a 9x8 thumbnail darker than
    its right neighbour."""
    small = cv2.resize(gray, (9, 8), interpolation=cv2.INTER_AREA).astype(np.int16)
    bits = (small[:, 1:] > small[:, :-1]).ravel()
    return int(sum(1 << i for i, b in enumerate(bits) if b))


def line_art_hash(line: np.ndarray, ink_level: int = 128) -> int:
    """:func:`difference_hash` of the bounding box of the ink (pixels below ``ink_level``)."""
    ys, xs = np.nonzero(line < ink_level)
    if len(ys):
        line = line[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
    return difference_hash(line)


def _series(name: str) -> str:
    stem = name.split('__')[-1].lower()
    return re.sub(r'[-_ ]*\d+$', '', stem)


class _UnionFind:

    def __init__(self, n: int):
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, i: int, j: int) -> None:
        a, b = self.find(i), self.find(j)
        if a != b:
            self.parent[max(a, b)] = min(a, b)


def group_drawings(metas: List[dict], hashes: List[int],
                   max_hash_distance: int = 6) -> List[int]:
    """Group id per drawing (the smallest index in its group).

    Args:
        metas: The drawings' meta dicts (``name``, ``creator``), in a fixed order.
        hashes: Their :func:`line_art_hash`.
        max_hash_distance: Largest Hamming distance of near-duplicates.

    Returns:
        One group id per drawing.
    """
    sets = _UnionFind(len(metas))
    first: Dict[tuple, int] = {}
    for i, meta in enumerate(metas):
        keys = [('series', _series(meta['name']))]
        if meta.get('creator'):
            word = re.split(r'[-_ ]', meta['name'].split('__')[-1].lower())[0]
            keys.append(('creator', meta['creator'].lower(), word))
        for key in keys:
            sets.union(i, first.setdefault(key, i))
    codes = np.array(hashes, np.uint64)
    for i in range(len(codes)):
        distance = np.array([bin(int(x)).count('1') for x in codes[i + 1:] ^ codes[i]], int)
        for j in np.flatnonzero(distance <= max_hash_distance):
            sets.union(i, i + 1 + int(j))
    return [sets.find(i) for i in range(len(metas))]


def make_splits(data_root: str, num_test: int = 175, num_val: int = 50, seed: int = 0,
                max_hash_distance: int = 6) -> dict:
    """Split a converted folder (``line_art_conversion``) into test, val and train.

    Args:
        data_root: The converted folder.
        num_test: Drawings wanted in the test split (whole groups are added until reached).
        num_val: Drawings wanted in the validation split.
        seed: Seed of the group order.
        max_hash_distance: See :func:`group_drawings`.

    Returns:
        ``{'test': [...], 'val': [...], 'train': [...], 'seed', 'groups', ...}``, names sorted.

    Raises:
        FileNotFoundError: ``data_root`` has no converted drawing.
    """
    meta_dir = osp.join(data_root, 'meta')
    files = os.listdir(meta_dir) if osp.isdir(meta_dir) else []
    names = sorted(f[:-5] for f in files if f.endswith('.json'))
    if not names:
        raise FileNotFoundError(f'no converted drawing in {meta_dir}')
    metas, hashes = [], []
    for name in names:
        with open(osp.join(meta_dir, name + '.json')) as f:
            metas.append(json.load(f))
        line = cv2.imread(osp.join(data_root, 'line', name + '.png'), cv2.IMREAD_GRAYSCALE)
        if line is None:
            raise FileNotFoundError(f'line art missing for {name}')
        hashes.append(line_art_hash(line))
    groups = group_drawings(metas, hashes, max_hash_distance)
    members: Dict[int, List[int]] = {}
    for i, g in enumerate(groups):
        members.setdefault(g, []).append(i)
    order = sorted(members)
    np.random.default_rng(seed).shuffle(order)
    held: Dict[str, List[str]] = {'test': [], 'val': []}
    held_groups = set()
    for split, wanted in (('test', num_test), ('val', num_val)):
        for g in order:
            if len(held[split]) >= wanted:
                break
            strict = [names[i] for i in members[g] if metas[i].get('strict')]
            if g in held_groups or not strict:
                continue
            held_groups.add(g)
            held[split].extend(strict)
    train = [names[i] for i, g in enumerate(groups) if g not in held_groups]
    return dict(seed=seed, max_hash_distance=max_hash_distance, drawings=len(names),
                groups=len(members), test=sorted(held['test']), val=sorted(held['val']),
                train=sorted(train))
