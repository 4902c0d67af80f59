"""The model input size of a sketch: the training size a config implies, and the native size.

Split from :mod:`.inference` so that the size rules (which the web demo and the command line
share through :func:`input_size`) read on one page.
"""
from typing import Optional, Tuple, Union

import torch
from mmengine.config import Config

from .letterbox import native_input_size

__all__ = ['MAX_INPUT_PIXELS', 'RESOLUTIONS', 'input_size', 'training_size', 'model_size',
           'round_up', 'as_pair']

_SIZED_TRANSFORMS = ('Resize', 'CenterCrop', 'RandomResizedCrop')

#: Pixel budget of native-resolution inference (H * W of the model input): 1 MPx keeps a
#: paper-scale model (256 px training, 64x64 = 4096 attention tokens at 1 MPx) within a few
#: GiB of memory with the chunked SGA.
MAX_INPUT_PIXELS = 1024 * 1024
#: ``colorize(resolution=...)`` names: near the sketch's own size, or the training size.
RESOLUTIONS = ('native', 'training')


def training_size(cfg: Config) -> Tuple[int, int]:
    """The (h, w) image size a config trains at.

    Looks at the train, val and test datasets' ``img_size``, then at the ``size`` of their
    resizing transforms (``Resize``, ``CenterCrop``, ``RandomResizedCrop``), then at a top-level
    ``img_size``.

    Raises:
        ValueError: None of these is set.
    """
    for split in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        size = _dataset_size((cfg.get(split) or {}).get('dataset'))
        if size:
            return size
    if cfg.get('img_size'):
        return as_pair(cfg.img_size)
    raise ValueError('cannot tell the training image size from the config (no dataset '
                     '`img_size` and no Resize / CenterCrop / RandomResizedCrop `size`): '
                     'pass img_size= to init_model')


def input_size(model: torch.nn.Module, src_size: Tuple[int, int],
               resolution: Union[str, Tuple[int, int]] = 'native',
               max_pixels: int = MAX_INPUT_PIXELS) -> Tuple[int, int]:
    """The (H, W) model input for a sketch of ``src_size`` = (h, w).

    Args:
        model: From :func:`init_model` (``img_size``, the generator's ``size_divisor``).
        src_size: The sketch's (h, w).
        resolution: ``'native'`` (near ``src_size``, see :func:`native_input_size`, never
            fewer pixels than the training size nor more than ``max_pixels``), ``'training'``
            (``model.img_size``, the former behaviour) or an explicit ``(H, W)`` (rounded up
            to the stride).
        max_pixels: Pixel budget of ``'native'``.

    Raises:
        ValueError: An unknown ``resolution``.
    """
    divisor = getattr(model.generator, 'size_divisor', 1)
    training = model_size(model)
    if isinstance(resolution, str):
        if resolution not in RESOLUTIONS:
            raise ValueError(f'resolution must be one of {RESOLUTIONS} or (h, w), '
                             f'got {resolution!r}')
        if resolution == 'training':
            return training
        return native_input_size(src_size, divisor, training[0] * training[1],
                                 max(max_pixels, divisor * divisor))
    return round_up(as_pair(resolution), divisor)


def model_size(model: torch.nn.Module) -> Tuple[int, int]:
    """The (h, w) training size :func:`~.inference.init_model` recorded on the model."""
    size = getattr(model, 'img_size', None)
    if size is None:
        raise ValueError('the model has no `img_size`: build it with colorizer.apis.init_model')
    return tuple(size)


def _dataset_size(dataset: Optional[dict]) -> Optional[Tuple[int, int]]:
    """``img_size`` of a dataset config (or of the dataset inside a wrapper), else the ``size``
    of its first resizing transform."""
    if not dataset:
        return None
    if dataset.get('img_size'):
        return as_pair(dataset['img_size'])
    for transform in dataset.get('pipeline') or []:
        if transform.get('type') in _SIZED_TRANSFORMS and transform.get('size'):
            return as_pair(transform['size'])
    return _dataset_size(dataset.get('dataset'))


def as_pair(size) -> Tuple[int, int]:
    """``s`` -> ``(s, s)``; ``(h, w)`` -> ``(h, w)``, as ints."""
    return (int(size), int(size)) if isinstance(size, (int, float)) else tuple(map(int, size))


def round_up(size: Tuple[int, int], divisor: int) -> Tuple[int, int]:
    """Round each side up to a multiple of the generator's stride."""
    return tuple(-(-side // divisor) * divisor for side in size)
