"""Real artists' line art with exact targets: the converted SVG clip-art set."""
import json
import os
import os.path as osp
from typing import List, Optional, Set, Tuple, Union

import cv2
import numpy as np
from scipy.ndimage import distance_transform_edt

from colorizer.invalid_argument import check_choice, check_size
from colorizer.registry import DATASETS
from .base_colorization_dataset import BaseColorizationDataset
from .svg_line_art import INK_LABEL
from .transforms.random_state import sample_rng

__all__ = ['LineArtDataset', 'DEFAULT_SPLIT_FILE', 'compose_line_art', 'random_palette']

#: The committed split list of Debian's openclipart-svg (see ``line_art_splits``).
DEFAULT_SPLIT_FILE = osp.join(osp.dirname(__file__), 'splits', 'openclipart_line_art.json')
_SPLITS = ('test', 'val', 'train', 'all')
#: Label of ink pixels in the samples' ``labels`` (negative ids are never scored).
INK = -1


def random_palette(rng: np.random.Generator, num_colors: int) -> np.ndarray:
    """``(num_colors, 3)`` uint8 colours, uniform in RGB."""
    return rng.integers(0, 256, size=(num_colors, 3)).astype(np.uint8)


def compose_line_art(line: np.ndarray, labels: np.ndarray,
                     region_colors: np.ndarray) -> np.ndarray:
    """The line art coloured flat: each region's colour multiplied by the line art's grey.

    This is exactly how the drawing looks with its ink black and every fill recoloured: the
    antialiased ink edges darken the region colour beneath them in proportion to their cover.

    Args:
        line: ``(H, W)`` uint8 line art (255 paper, 0 ink).
        labels: ``(H, W)`` int labels (0 paper, regions >= 1, :data:`INK` ink).
        region_colors: ``(L, 3)`` uint8 colour per label ``0 ... L-1`` (row 0 the paper's).

    Returns:
        ``(H, W, 3)`` uint8 RGB.
    """
    ink = labels < 0
    if ink.any() and not ink.all():
        # under the ink: the colour of the nearest non-ink pixel (the region the line bounds)
        index = distance_transform_edt(ink, return_distances=False, return_indices=True)
        labels = labels[tuple(index)]
    flat = region_colors[np.clip(labels, 0, None)].astype(np.float32)
    return np.rint(flat * (line[..., None].astype(np.float32) / 255.0)).astype(np.uint8)


@DATASETS.register_module()
class LineArtDataset(BaseColorizationDataset):
    """Real line art with a palette-swapped reference and its exact target.

    Reads a folder made by ``tools/dataset_converters/openclipart_line_art.py`` (layout in
    ``colorizer/datasets/line_art_conversion.py``). Per sample:

    - ``sketch``: the artist's line art (fills white, ink black, antialiased);
    - ``'train'`` / ``'self_reference'``: a palette drawn per sample (seeded by
      ``(pairing_seed, index)`` when deterministic) gives every original fill colour one new
      colour; ``img`` (packed as ``target``) is the line art in that palette
      (:func:`compose_line_art`), and the pipeline's ``TPSWarp`` makes the ``reference`` from
      it and warps ``labels`` into ``reference_labels``. The target is exact: the reference
      holds every colour the target needs, in the same regions.
    - ``'random_reference'``: the reference is drawing ``perm[i]`` (seeded derangement) in its
      own random palette, not warped; the true colourisation is unknown, so ``target`` is the
      sketch's drawing in its *original* colours (for FID-style scores only) and the metainfo
      ``exact_target`` is ``False`` (``True`` in the other modes). ``reference_labels`` are not
      given: the two drawings' shape ids do not correspond.

    ``labels`` are per SVG shape: 0 paper, 1... fill shapes, ``-1`` ink (never scored).

    Args:
        data_root: The converted folder.
        split: ``'test'``, ``'val'``, ``'train'`` (from ``split_file``) or ``'all'`` (every
            converted drawing, no split file read).
        split_file: JSON with ``test`` / ``val`` / ``train`` name lists.
        img_size: Side, or (h, w), of the samples (the stored 256 px drawings are resized:
            line art by area, labels nearest).
        strict_only: Keep only drawings that passed the strict gates.
        mode: ``'train'``, ``'random_reference'`` or ``'self_reference'``.
        pairing_seed: Seed of the palettes (deterministic modes) and of the pairing.
        **kwargs: ``pipeline``, ``deterministic`` and further ``BaseDataset`` arguments.

    Raises:
        FileNotFoundError: ``data_root``, the split file or a listed drawing is missing.
        ValueError: a bad ``split`` / ``img_size``, or the split is empty.
    """

    METAINFO = dict(regions=None)
    IGNORED_ARGUMENTS = ('ann_file', 'data_prefix', 'filter_cfg')

    @classmethod
    def provided_fields(cls, mode: str) -> Set[str]:
        """``target`` and ``labels``; ``reference_labels`` unless random-reference."""
        fields = {'target', 'labels'}
        return fields if mode == 'random_reference' else fields | {'reference_labels'}

    def __init__(self,
                 data_root: str,
                 split: str = 'test',
                 split_file: Optional[str] = DEFAULT_SPLIT_FILE,
                 img_size: Union[int, Tuple[int, int]] = 256,
                 strict_only: bool = False,
                 mode: str = 'self_reference',
                 pairing_seed: int = 0,
                 **kwargs):
        check_choice('split', split, _SPLITS, 'LineArtDataset')
        #: (h, w) of every sample
        self.image_shape = check_size('img_size', img_size, 16, 'LineArtDataset')
        self.split, self.split_file = split, split_file
        self.img_size = img_size if isinstance(img_size, int) else self.image_shape
        self.strict_only = bool(strict_only)
        super().__init__(mode=mode, pairing_seed=pairing_seed, data_root=data_root, **kwargs)

    def _names(self) -> List[str]:
        meta_dir = osp.join(self.data_root, 'meta')
        if not osp.isdir(meta_dir):
            raise FileNotFoundError(f'not a converted line-art folder (no meta/): {self.data_root}')
        if self.split == 'all':
            return sorted(f[:-5] for f in os.listdir(meta_dir) if f.endswith('.json'))
        if not self.split_file or not osp.isfile(self.split_file):
            raise FileNotFoundError(f'split file not found: {self.split_file}')
        with open(self.split_file) as f:
            splits = json.load(f)
        if self.split not in splits:
            raise ValueError(f"split file {self.split_file} has no '{self.split}' list")
        return list(splits[self.split])

    def load_data_list(self) -> List[dict]:
        """One entry per drawing: its files and region colour indices (from the meta JSON)."""
        data_list = []
        for name in self._names():
            meta_path = osp.join(self.data_root, 'meta', name + '.json')
            if not osp.isfile(meta_path):
                source = ('' if self.split == 'all' else
                          f' (listed in {self.split_file}: check the name if you wrote it)')
                raise FileNotFoundError(
                    f"drawing '{name}' of split '{self.split}'{source} is not converted in "
                    f'{self.data_root} (no {meta_path}); if the folder is unfinished, run the '
                    'converter again to finish it')
            with open(meta_path) as f:
                meta = json.load(f)
            if self.strict_only and not meta.get('strict'):
                continue
            regions = meta['regions']
            data_list.append(dict(
                name=name, img_path=osp.join(self.data_root, 'color', name + '.png'),
                sketch_path=osp.join(self.data_root, 'line', name + '.png'),
                labels_path=osp.join(self.data_root, 'labels', name + '.png'),
                region_labels=[r['label'] for r in regions],
                color_index=[r['color_index'] for r in regions],
                colors=meta['colors']))
        if not data_list:
            raise ValueError(f"split '{self.split}' of {self.data_root} holds no drawing")
        return data_list

    def load_drawing(self, idx: int) -> Tuple[np.ndarray, np.ndarray]:
        """Line art ``(S, S)`` uint8 and labels ``(S, S)`` int64 (ink -1) of drawing ``idx``."""
        info = self.get_data_info(idx)
        line = cv2.imread(info['sketch_path'], cv2.IMREAD_GRAYSCALE)
        labels = cv2.imread(info['labels_path'], cv2.IMREAD_UNCHANGED)
        if line is None or labels is None or labels.dtype != np.uint16:
            raise FileNotFoundError(f"unreadable line art or 16-bit labels of '{info['name']}' "
                                    f"({info['sketch_path']}, {info['labels_path']})")
        if line.shape != self.image_shape:
            size = self.image_shape[::-1]  # OpenCV's (w, h)
            line = cv2.resize(line, size, interpolation=cv2.INTER_AREA)
            labels = cv2.resize(labels, size, interpolation=cv2.INTER_NEAREST)
        labels = labels.astype(np.int64)
        labels[labels == INK_LABEL] = INK
        return line, labels

    def region_colors(self, idx: int, palette: Optional[np.ndarray]) -> np.ndarray:
        """``(max label + 1, 3)`` colours of drawing ``idx``'s labels: paper white, region ``k``
        ``palette[colour index of k]`` (``None``: the drawing's original colours)."""
        info = self.get_data_info(idx)
        if palette is None:
            palette = np.array([[int(c[i:i + 2], 16) for i in (1, 3, 5)] for c in info['colors']],
                               np.uint8).reshape(-1, 3)
        table = np.full((max(info['region_labels'], default=0) + 1, 3), 255, np.uint8)
        table[info['region_labels']] = palette[info['color_index']]
        return table

    def add_images(self, results: dict) -> dict:
        """The sketch, the target in a new palette, the labels; in random-reference mode also
        the other drawing as the reference."""
        index, ref = results['index'], results['reference_index']
        info = self.get_data_info(index)
        line, labels = self.load_drawing(index)
        if self.mode == 'random_reference':
            target = compose_line_art(line, labels, self.region_colors(index, None))
            ref_line, ref_labels = self.load_drawing(ref)
            rng = sample_rng(results, 'LineArtReferencePalette')
            ref_info = self.get_data_info(ref)
            results['reference'] = compose_line_art(ref_line, ref_labels, self.region_colors(
                ref, random_palette(rng, len(ref_info['colors']))))
            results['reference_path'] = ref_info['img_path']
            results['exact_target'] = False
        else:
            rng = sample_rng(results, 'LineArtPalette')
            palette = random_palette(rng, len(info['colors']))
            target = compose_line_art(line, labels, self.region_colors(index, palette))
            results['exact_target'] = True
        # the composite goes into ``img`` only: geometric transforms move ``img``, ``sketch`` and
        # ``labels`` together, and packing takes ``img`` as the target
        results.update(sketch=line, img=target, labels=labels)
        results['img_shape'] = results['ori_shape'] = line.shape[:2]
        return results
