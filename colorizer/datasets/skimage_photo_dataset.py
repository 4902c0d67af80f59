"""A small real-photo dataset from the colour photos bundled with scikit-image."""
import functools
import logging
from typing import List, Optional, Sequence, Tuple

import numpy as np
from mmengine.logging import print_log

from colorizer.registry import DATASETS
from .base_colorization_dataset import BaseColorizationDataset
from .image_io import to_rgb_uint8
from .pairing import derangement

__all__ = ['SkimagePhotoDataset', 'SKIMAGE_PHOTOS']

#: Colour photos that ship inside the scikit-image wheel (no download needed).
SKIMAGE_PHOTOS = ('astronaut', 'chelsea', 'coffee', 'rocket', 'motorcycle', 'hubble_deep_field',
                  'immunohistochemistry')


@functools.lru_cache(maxsize=None)
def _load_photo(name: str) -> Optional[np.ndarray]:
    """A bundled photo as uint8 RGB, or ``None`` where this scikit-image lacks it."""
    from skimage import data
    try:
        if name == 'motorcycle':
            img = data.stereo_motorcycle()[0]
        else:
            img = getattr(data, name)()
    except (AttributeError, ImportError, OSError, ValueError):
        # Newer scikit-image versions move some images to an optional download (pooch).
        return None
    img = to_rgb_uint8(np.asarray(img))
    img.setflags(write=False)  # shared between samples: transforms must not write into it
    return img


@DATASETS.register_module()
class SkimagePhotoDataset(BaseColorizationDataset):
    """``length`` samples cycling over scikit-image's colour photos; crops come from the pipeline.

    Sample ``i`` uses photo ``i % n`` (``n`` = number of photos used). In random-reference mode
    the reference of sample ``i`` is photo ``perm[i % n]`` with ``perm`` a seeded derangement of
    the photos, so the reference is always a different photo (``reference_index`` is the first
    sample showing it).

    Args:
        length: Number of samples.
        photos: Names from :data:`SKIMAGE_PHOTOS` (default: all available).
        mode: ``'train'``, ``'random_reference'`` or ``'self_reference'``.
        pairing_seed: Seed of the random-reference pairing and of deterministic augmentation.
        **kwargs: ``pipeline`` (e.g. ``RandomResizedCrop`` to the training size),
            ``deterministic`` and further ``BaseDataset`` arguments.

    Raises:
        ValueError: An unknown photo name, or fewer than two photos available.
    """

    # scikit-image's bundled photos: a data_root here would be silently ignored.
    IGNORED_ARGUMENTS = ('data_root', 'ann_file', 'data_prefix', 'filter_cfg')

    def __init__(self,
                 length: int = 64,
                 photos: Optional[Sequence[str]] = None,
                 mode: str = 'train',
                 pairing_seed: int = 0,
                 **kwargs):
        unknown = set(photos or ()) - set(SKIMAGE_PHOTOS)
        if unknown:
            raise ValueError(f'unknown photos {sorted(unknown)}; choose from {SKIMAGE_PHOTOS}')
        self.length = int(length)
        self.photo_names = self._available(photos or SKIMAGE_PHOTOS)
        super().__init__(mode=mode, pairing_seed=pairing_seed, **kwargs)

    @staticmethod
    def _available(names: Sequence[str]) -> Tuple[str, ...]:
        found = tuple(n for n in names if _load_photo(n) is not None)
        missing = sorted(set(names) - set(found))
        if missing:
            print_log(f'scikit-image photos not available here: {missing}', logger='current',
                      level=logging.WARNING)
        if len(found) < 2:
            raise ValueError(f'need at least two scikit-image photos, found {list(found)}')
        return found

    @property
    def num_photos(self) -> int:
        """Photos in use: all available ones, fewer if ``length`` is smaller."""
        return min(len(self.photo_names), self.length)

    def load_data_list(self) -> List[dict]:
        """One entry per sample naming its photo."""
        names = self.photo_names[:self.num_photos]
        return [
            dict(img_path=None, reference_path=None, photo=names[i % len(names)])
            for i in range(self.length)
        ]

    def reference_index(self, idx: int) -> int:
        """A sample showing photo ``perm[idx % n]``: never the same photo as ``idx``."""
        if self.mode != 'random_reference':
            return idx
        n = self.num_photos
        if n < 2:
            raise ValueError('the random-reference protocol needs length >= 2')
        if self._pairing is None or len(self._pairing) != n:
            self._pairing = derangement(n, self.pairing_seed)
        return int(self._pairing[idx % n])

    def add_images(self, results: dict) -> dict:
        """Put the photo (and in random-reference mode the reference photo) into the results."""
        results['img'] = _load_photo(results['photo'])
        results['img_shape'] = results['ori_shape'] = results['img'].shape[:2]
        if self.mode == 'random_reference':
            ref_photo = self.get_data_info(results['reference_index'])['photo']
            results['reference'] = _load_photo(ref_photo)
        return results
