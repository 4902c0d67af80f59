"""A folder of colour images as a colourisation dataset (AFHQ, anime portraits, your own)."""
import logging
import os.path as osp
from pathlib import Path
from typing import List, Optional, Sequence

import numpy as np
from mmengine.logging import print_log

from colorizer.invalid_argument import check_choice, check_number
from colorizer.registry import DATASETS
from .base_colorization_dataset import BaseColorizationDataset
from .image_folder import scan_image_folder
from .image_io import IMAGE_EXTENSIONS, ImageReadError

__all__ = ['ColorizationDataset']

_BAD_IMAGE_POLICIES = ('raise', 'skip')


@DATASETS.register_module()
class ColorizationDataset(BaseColorizationDataset):
    """Every image under ``data_root`` (recursively) becomes one sample.

    The dataset only lists files; loading happens in the pipeline (``LoadColorImage``,
    ``LoadSketch``). In ``'random_reference'`` mode the data info of sample ``i`` also carries
    ``reference_path``, the file of sample ``perm[i]`` (a seeded derangement), which
    ``LoadColorImage`` reads into ``reference``; that reference then gets its own geometry (and
    colour jitter, if the pipeline has one) and is not warped (``TPSWarp`` leaves a supplied
    reference alone). In the other modes the reference is the TPS-warped target.

    With ``sketch_root``, sample ``rel/path.jpg`` reads its sketch from
    ``sketch_root/rel/path.jpg`` or, as ``tools/dataset_converters/prepare_sketches.py`` writes
    them, ``sketch_root/rel/path.png``; ``XDoG`` is then skipped for it.

    Args:
        data_root: Folder of colour images (jpg, jpeg, png, webp, bmp; sub-folders included).
        mode: ``'train'``, ``'random_reference'`` or ``'self_reference'``.
        pairing_seed: Seed of the random-reference pairing (and of deterministic evaluation).
        sketch_root: Optional folder of precomputed sketches with the same relative paths.
        on_bad_image: ``'raise'`` (default) stops at an unreadable file, naming it; ``'skip'``
            logs it with MMEngine's logger and takes the next image instead.
        extensions: Image file suffixes to include.
        holdout: Fraction of the images (a seeded random choice) set aside for validation, so
            the best checkpoint is never chosen on the test split. ``0`` keeps every image.
        holdout_part: ``'rest'`` (the images not held out: training) or ``'holdout'`` (only
            the held-out ones: validation). Two datasets with the same folder, ``holdout`` and
            ``holdout_seed`` and the two parts never share an image.
        holdout_seed: Seed of the held-out choice.
        **kwargs: ``pipeline``, ``deterministic`` and further ``BaseDataset`` arguments.

    Raises:
        FileNotFoundError: ``data_root`` (or a sketch) does not exist.
        ValueError: ``data_root`` holds no images, or random-reference mode has fewer than two.
    """

    def __init__(self,
                 data_root: str,
                 mode: str = 'train',
                 pairing_seed: int = 0,
                 sketch_root: Optional[str] = None,
                 on_bad_image: str = 'raise',
                 extensions: Sequence[str] = IMAGE_EXTENSIONS,
                 holdout: float = 0.0,
                 holdout_part: str = 'rest',
                 holdout_seed: int = 0,
                 **kwargs):
        check_number('holdout', holdout, 0.0, 1.0, exclusive_maximum=True,
                     owner='ColorizationDataset')
        check_choice('holdout_part', holdout_part, ('rest', 'holdout'), 'ColorizationDataset')
        if holdout_part == 'holdout' and holdout == 0:
            raise ValueError("holdout_part='holdout' needs holdout > 0")
        self.holdout, self.holdout_part, self.holdout_seed = holdout, holdout_part, holdout_seed
        check_choice('on_bad_image', on_bad_image, _BAD_IMAGE_POLICIES, 'ColorizationDataset')
        self.sketch_root = sketch_root
        self.on_bad_image = on_bad_image
        self.extensions = tuple(extensions)
        self._reported_bad = set()
        super().__init__(
            mode=mode, pairing_seed=pairing_seed, data_root=str(data_root), **kwargs)

    def load_data_list(self) -> List[dict]:
        """One ``dict(img_path=..., [sketch_path=...])`` per image file, sorted by path."""
        rel_paths = self._split(scan_image_folder(self.data_root, self.extensions))
        data_list = [dict(img_path=osp.join(self.data_root, rel)) for rel in rel_paths]
        if self.sketch_root is not None:
            for info, rel in zip(data_list, rel_paths):
                info['sketch_path'] = self._sketch_path(rel)
            self._check_sketches(data_list)
        return data_list

    def _split(self, rel_paths: List[str]) -> List[str]:
        """Keep the held-out part or the rest (``holdout``); the order stays sorted."""
        if not self.holdout:
            return rel_paths
        order = np.random.default_rng(self.holdout_seed).permutation(len(rel_paths))
        held = set(order[:max(1, round(self.holdout * len(rel_paths)))].tolist())
        keep_held = self.holdout_part == 'holdout'
        return [rel for i, rel in enumerate(rel_paths) if (i in held) == keep_held]

    def _sketch_path(self, rel: str) -> str:
        same = Path(self.sketch_root, rel)
        return str(same if same.exists() else same.with_suffix('.png'))

    def _check_sketches(self, data_list: List[dict]) -> None:
        if not Path(self.sketch_root).is_dir():
            raise FileNotFoundError(f'sketch folder not found: {self.sketch_root!r}')
        missing = [d['sketch_path'] for d in data_list if not osp.exists(d['sketch_path'])]
        if missing:
            raise FileNotFoundError(
                f'{len(missing)} of {len(data_list)} images have no sketch under '
                f'{self.sketch_root!r}, e.g. {missing[:3]}; run '
                'tools/dataset_converters/prepare_sketches.py')

    def sample_info(self, idx: int) -> dict:
        """Data info of ``idx`` plus, in random-reference mode, the reference's file."""
        info = super().sample_info(idx)
        if self.mode == 'random_reference':
            info['reference_path'] = self.get_data_info(info['reference_index'])['img_path']
        return info

    def prepare_data(self, idx: int) -> dict:
        """Run the pipeline on ``idx``; with ``on_bad_image='skip'`` move on past bad files."""
        n = len(self)
        for attempt in range(n):
            try:
                return super().prepare_data((idx + attempt) % n)
            except ImageReadError as err:
                if self.on_bad_image == 'raise':
                    raise
                self._report_bad(err)
        raise RuntimeError(f'no readable image under {self.data_root!r}')

    def _report_bad(self, err: ImageReadError) -> None:
        # Once per file and worker: an epoch over a broken file must not flood the log.
        if err.path in self._reported_bad:
            return
        self._reported_bad.add(err.path)
        print_log(f'skipping unreadable image: {err}', logger='current', level=logging.WARNING)
