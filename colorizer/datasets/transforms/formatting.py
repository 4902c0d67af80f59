"""Packing a results dict into the model's input format (docs/design.md)."""
from typing import Sequence

import numpy as np
import torch
from mmcv.transforms import BaseTransform

from colorizer.registry import TRANSFORMS
from colorizer.structures import ColorizationDataSample

__all__ = ['PackColorizationInputs']

META_KEYS = ('sketch_path', 'reference_path', 'index', 'reference_index', 'protocol',
             'img_shape', 'img_path', 'ori_shape', 'xdog_sigma', 'exact_target')


def _image_tensor(img: np.ndarray) -> torch.Tensor:
    """HWC / HW uint8 array to a CHW uint8 tensor."""
    if img.ndim == 2:
        img = img[..., None]
    if img.dtype != np.uint8:
        raise TypeError(f'images must be uint8 before packing, got {img.dtype}')
    chw = np.ascontiguousarray(img.transpose(2, 0, 1))
    # Shared read-only arrays (cached photos) must not become tensors that alias them.
    return torch.from_numpy(chw if chw.flags.writeable else chw.copy())


@TRANSFORMS.register_module()
class PackColorizationInputs(BaseTransform):
    """Pack into ``{'inputs': {'sketch', 'reference'}, 'data_samples': ColorizationDataSample}``.

    ``inputs['sketch']`` is a uint8 tensor (1, H, W), ``inputs['reference']`` (3, H', W'); the
    data sample holds ``target`` (3, H, W) and, when present, ``oracle`` (3, H, W), ``labels``
    (H, W) int64 and ``reference_labels`` (H', W') int64 (the reference's region ids).
    ``target`` falls back to ``img`` for pipelines without colour jitter.

    Metainfo: ``sketch_path`` (the colour image the sketch was drawn from, or the precomputed
    sketch file when there is one), ``reference_path`` (the reference's colour image: the same
    file as the sketch's in training and self-reference, ``None`` for generated data), ``index``,
    ``reference_index``, ``protocol`` (``'train'``, ``'random'`` or ``'self'``), ``img_shape``,
    plus ``img_path``, ``ori_shape``, ``xdog_sigma`` and ``exact_target`` (``False`` where the
    target is not the sketch's true colourisation with this reference) when known.

    Required keys: ``sketch``, ``reference``, ``target`` or ``img``.
    Optional keys: ``oracle``, ``labels``, ``reference_labels`` and the metainfo keys.

    Args:
        meta_keys: Keys copied into the data sample's metainfo when present.
    """

    def __init__(self, meta_keys: Sequence[str] = META_KEYS):
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: dict) -> dict:
        target = results['target'] if 'target' in results else results['img']
        sample = ColorizationDataSample()
        sample.target = _image_tensor(target)
        if 'oracle' in results:
            sample.oracle = _image_tensor(results['oracle'])
        for key in ('labels', 'reference_labels'):
            if key in results:
                sample.set_field(torch.from_numpy(np.ascontiguousarray(results[key], np.int64)),
                                 key)
        sample.set_metainfo(self._metainfo(results, target.shape[:2]))
        inputs = dict(
            sketch=_image_tensor(results['sketch']), reference=_image_tensor(results['reference']))
        return dict(inputs=inputs, data_samples=sample)

    def _metainfo(self, results: dict, shape) -> dict:
        meta = {key: results[key] for key in self.meta_keys if key in results}
        meta.setdefault('sketch_path', results.get('sketch_path', results.get('img_path')))
        # No reference file of its own: the reference was made from the sketch's image.
        meta.setdefault('reference_path', results.get('img_path'))
        meta.setdefault('index', results.get('sample_idx'))
        meta.setdefault('reference_index', meta['index'])
        meta.setdefault('protocol', 'train')
        meta['img_shape'] = tuple(int(s) for s in shape)
        return meta

    def __repr__(self) -> str:
        return f'{type(self).__name__}(meta_keys={self.meta_keys})'
