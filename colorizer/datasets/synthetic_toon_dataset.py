"""The embedded demo dataset: procedurally drawn cartoon characters, no files needed."""
from typing import List, Optional, Tuple, Union

import numpy as np

from colorizer.invalid_argument import check_choice, check_number, check_size
from colorizer.registry import DATASETS
from .base_colorization_dataset import BaseColorizationDataset
from .toon_drawing import REGIONS, render_toon, sample_geometry, sample_palette
from .transforms.random_state import sample_rng

__all__ = ['SyntheticToonDataset']

_SKETCH_SOURCES = ('xdog', 'outline')


@DATASETS.register_module()
class SyntheticToonDataset(BaseColorizationDataset):
    """Cartoon characters (background, skin, hair, eyes, mouth, clothes, accessory) in flat colours.

    Sample ``i`` has geometry ``i`` and palette ``i``, both deterministic in ``(seed, i)`` and
    drawn independently. Easy enough for a small model to learn on a CPU in minutes, but it needs
    correspondence: colours are random per region, so they can only come from the reference, and
    in the random-reference protocol the regions sit elsewhere in the reference.

    - ``'train'`` / ``'self_reference'``: ``img`` = render(geometry_i, palette_i); the pipeline
      makes target (jitter), sketch (XDoG, or the drawn outline) and reference (TPS warp).
    - ``'random_reference'``: with ``j = perm[i]`` (a seeded derangement),
      ``reference`` = render(geometry_j, palette_j) and ``oracle`` = render(geometry_i,
      palette_j), the true colourisation of sketch ``i`` with that reference. ``target`` stays
      render(geometry_i, palette_i), the image the sketch was drawn from.

    - ``'train'`` with ``random_reference_prob`` p > 0 (*palette-swapped references*): with
      probability p a training sample draws another character ``j`` and becomes
      ``img`` = render(geometry_i, palette_j), ``reference`` = render(geometry_j, palette_j)
      (with its ``reference_labels``): the target's colours exist only in a reference of
      another shape, so copying the reference in place (which a TPS-warped self-reference
      allows) does not work, and the colours must be found by region. The pipeline's
      ``TPSWarp`` then leaves the reference alone; use ``ColorJitter`` with
      ``jitter_reference=False`` and ``prob=0`` (a jittered target would no longer match
      the reference's palette).

    Every sample carries ``labels`` (region id per pixel of the sketch); ``metainfo['regions']``
    names them, so a metric can report per region. ``reference_labels`` are the reference's:
    drawn with the reference in ``'random_reference'`` mode, warped with it by ``TPSWarp``
    otherwise (correspondence diagnostics and the oracle-map control read both).

    Args:
        img_size: Side length in pixels, or an ``(h, w)`` pair: the scene is drawn as a
            square of side ``max(h, w)`` (characters keep their proportions) and its centre
            ``h x w`` is kept, as a centre crop of a square photo would.
        length: Number of samples.
        seed: Content seed (which characters and palettes).
        mode: ``'train'``, ``'random_reference'`` or ``'self_reference'``.
        pairing_seed: Seed of the random-reference pairing and of deterministic augmentation.
        sketch: ``'xdog'`` (the pipeline's XDoG, as for photos) or ``'outline'`` (the drawn
            outlines, put into ``sketch`` so ``XDoG`` skips).
        line_width: Outline width in pixels (default ``max(1, img_size / 64)``).
        random_reference_prob: ``'train'`` mode only: share of samples whose reference is
            another character in the sample's palette (see above); 0 keeps the paper's
            self-reference triples.
        **kwargs: ``pipeline``, ``deterministic`` and further ``BaseDataset`` arguments.
    """

    METAINFO = dict(regions=REGIONS)
    REGIONS = REGIONS
    # Drawn in memory: a data_root here would be silently ignored (and train on cartoons).
    IGNORED_ARGUMENTS = ('data_root', 'ann_file', 'data_prefix', 'filter_cfg')

    @classmethod
    def provided_fields(cls, mode: str) -> set:
        """``target`` and ``labels``; ``oracle`` too in random-reference mode."""
        return {'target', 'labels'} | ({'oracle'} if mode == 'random_reference' else set())

    def __init__(self,
                 img_size: Union[int, Tuple[int, int]] = 64,
                 length: int = 1000,
                 seed: int = 0,
                 mode: str = 'train',
                 pairing_seed: int = 0,
                 sketch: str = 'xdog',
                 line_width: Optional[float] = None,
                 random_reference_prob: float = 0.0,
                 **kwargs):
        check_choice('sketch', sketch, _SKETCH_SOURCES, 'SyntheticToonDataset')
        #: (h, w) of every image
        self.image_shape = check_size('img_size', img_size, 16, 'SyntheticToonDataset')
        check_number('length', length, 1, integer=True, owner='SyntheticToonDataset')
        check_number('line_width', line_width, 0, exclusive_minimum=True, allow_none=True,
                     owner='SyntheticToonDataset')
        self.img_size = img_size if isinstance(img_size, int) else self.image_shape
        self.length = int(length)
        self.seed = int(seed)
        self.sketch = sketch
        self.line_width = line_width
        check_number('random_reference_prob', random_reference_prob, 0.0, 1.0,
                     owner='SyntheticToonDataset')
        if random_reference_prob > 0 and mode != 'train':
            raise ValueError(f"random_reference_prob applies to mode='train' only, got mode "
                             f'{mode!r} (evaluation modes fix their references)')
        self.random_reference_prob = float(random_reference_prob)
        super().__init__(mode=mode, pairing_seed=pairing_seed, **kwargs)

    def load_data_list(self) -> List[dict]:
        """One entry per index; the images are drawn on the fly."""
        return [dict(img_path=None, reference_path=None) for _ in range(self.length)]

    def geometry(self, index: int) -> list:
        """The shapes of character ``index`` (see ``toon_drawing``)."""
        return sample_geometry(np.random.default_rng([self.seed, index, 0]))

    def palette(self, index: int) -> np.ndarray:
        """The ``(len(REGIONS), 3)`` uint8 colours of character ``index``."""
        return sample_palette(np.random.default_rng([self.seed, index, 1]))

    def render(self, geometry: list,
               palette: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """Paint ``geometry`` with ``palette``.

        Args:
            geometry: From :meth:`geometry`.
            palette: From :meth:`palette`.

        Returns:
            ``(image (h, w, 3) uint8 RGB, labels (h, w) int64)``, ``(h, w) = image_shape``.
        """
        image, labels, _ = self._render(geometry, palette)
        return image, labels

    def _render(self, geometry: list, palette: np.ndarray) -> tuple:
        """``render_toon`` at ``image_shape``: the square scene's centre crop."""
        height, width = self.image_shape
        side = max(height, width)
        top, left = (side - height) // 2, (side - width) // 2
        return tuple(np.ascontiguousarray(a[top:top + height, left:left + width])
                     for a in render_toon(geometry, palette, side, self.line_width))

    def add_images(self, results: dict) -> dict:
        """Draw the sample's image, labels and, if configured, outline sketch; in random-reference
        mode also the reference and the oracle."""
        index, ref = results['index'], results['reference_index']
        geometry = self.geometry(index)
        palette = self.palette(index)
        swap = None
        if self.random_reference_prob > 0:
            rng = sample_rng(results, 'SyntheticToonDataset.reference')
            if rng.random() < self.random_reference_prob:
                # another character (never this one) lends its shape and palette
                swap = int((index + 1 + rng.integers(self.length - 1)) % self.length) \
                    if self.length > 1 else index
                palette = self.palette(swap)
        image, labels, outline = self._render(geometry, palette)
        results.update(img=image, labels=labels)
        results['img_shape'] = results['ori_shape'] = image.shape[:2]
        if self.sketch == 'outline':
            results['sketch'] = outline
        if swap is not None:
            results['reference'], results['reference_labels'] = self.render(
                self.geometry(swap), palette)
            results['reference_index'] = swap
        if self.mode == 'random_reference':
            ref_palette = self.palette(ref)
            results['reference'], results['reference_labels'] = self.render(
                self.geometry(ref), ref_palette)
            results['oracle'] = self.render(geometry, ref_palette)[0]
        return results
