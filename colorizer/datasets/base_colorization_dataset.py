"""What the colourisation datasets share: modes, seeded pairings and deterministic evaluation."""
from typing import Callable, Optional, Sequence, Set, Tuple, Union

import numpy as np
from mmengine.dataset import BaseDataset

from colorizer.invalid_argument import check_choice
from colorizer.registry import TRANSFORMS
from .pairing import derangement
from .transforms.random_state import SAMPLE_SEED_KEY

__all__ = ['BaseColorizationDataset']

#: Dataset mode -> ``protocol`` metainfo value.
PROTOCOLS = {'train': 'train', 'random_reference': 'random', 'self_reference': 'self'}


class BaseColorizationDataset(BaseDataset):
    """Base of the colourisation datasets.

    Modes:

    - ``'train'``: the paper's self-supervised triple; the pipeline makes the sketch (XDoG), the
      target (colour jitter) and the reference (TPS warp of the target).
    - ``'self_reference'``: the same triple for evaluation (SCFT's protocol), deterministic.
    - ``'random_reference'``: sample ``i`` is coloured with the image of ``perm[i]``, ``perm`` a
      seeded derangement (no sample is its own reference), deterministic. The subclass puts the
      reference into the results (``reference_path`` or ``reference``) before the pipeline.

    "Deterministic" means every random transform draws from a generator seeded by
    ``(pairing_seed, index)`` (see ``transforms/random_state.py``), so evaluation sees the same
    crops, sigmas and warps in every run, whichever worker loads which sample.

    Args:
        mode: ``'train'``, ``'random_reference'`` or ``'self_reference'``.
        pairing_seed: Seed of the random-reference pairing and of deterministic augmentation.
        deterministic: Seed the transforms per sample; default: ``True`` unless ``mode='train'``.
        pipeline: Transforms (configs are built from ``colorizer``'s ``TRANSFORMS`` registry, so
            the dataset also works outside a runner with ``default_scope``).
        **kwargs: Further :class:`mmengine.dataset.BaseDataset` arguments.
    """

    #: ``BaseDataset`` arguments this dataset accepts but never reads: the start-up check
    #: (``colorizer.engine.config_validation``) rejects them instead of ignoring them silently.
    IGNORED_ARGUMENTS: Tuple[str, ...] = ('ann_file', 'data_prefix', 'filter_cfg')

    @classmethod
    def provided_fields(cls, mode: str) -> Set[str]:
        """Data-sample fields (``PackColorizationInputs``) every sample carries in ``mode``.

        The start-up check compares them with the fields the evaluators read.
        """
        return {'target'}

    def __init__(self,
                 mode: str = 'train',
                 pairing_seed: int = 0,
                 deterministic: Optional[bool] = None,
                 pipeline: Sequence[Union[dict, Callable]] = (),
                 **kwargs):
        check_choice('mode', mode, tuple(PROTOCOLS), type(self).__name__)
        self.mode = mode
        self.pairing_seed = int(pairing_seed)
        self.deterministic = mode != 'train' if deterministic is None else bool(deterministic)
        self._pairing: Optional[np.ndarray] = None
        pipeline = [TRANSFORMS.build(t) if isinstance(t, dict) else t for t in pipeline]
        super().__init__(pipeline=pipeline, **kwargs)

    @property
    def protocol(self) -> str:
        """``'train'``, ``'random'`` or ``'self'`` (the ``protocol`` metainfo value)."""
        return PROTOCOLS[self.mode]

    def full_init(self):
        """Load the data list and fix the pairing (raises here, before training, if empty)."""
        if self._fully_initialized:
            return
        super().full_init()
        if self.mode == 'random_reference':
            self.reference_index(0)

    def reference_index(self, idx: int) -> int:
        """Index of the sample whose image is the reference of sample ``idx``.

        Args:
            idx: Sample index.

        Returns:
            ``perm[idx]`` of the seeded derangement in random-reference mode, else ``idx``.
        """
        if self.mode != 'random_reference':
            return idx
        n = len(self)
        if self._pairing is None or len(self._pairing) != n:
            self._pairing = derangement(n, self.pairing_seed)
        return int(self._pairing[idx])

    def sample_info(self, idx: int) -> dict:
        """The data info of ``idx`` plus ``index``, ``reference_index``, ``protocol`` and, for
        deterministic datasets, the per-sample seed."""
        info = self.get_data_info(idx)
        info['index'] = idx
        info['reference_index'] = self.reference_index(idx)
        info['protocol'] = self.protocol
        if self.deterministic:
            info[SAMPLE_SEED_KEY] = (self.pairing_seed % 2**31) * 2**32 + idx
        return info

    def add_images(self, results: dict) -> dict:
        """Hook for datasets that make their images in memory; the default adds nothing.

        Args:
            results: :meth:`sample_info` of the sample.

        Returns:
            ``results`` with any images added.
        """
        return results

    def prepare_data(self, idx: int) -> dict:
        """Run the pipeline on sample ``idx``.

        Args:
            idx: Sample index.

        Returns:
            The packed sample (``inputs`` and ``data_samples`` with the standard pipeline).
        """
        return self.pipeline(self.add_images(self.sample_info(idx)))
