"""Loading colour images and precomputed sketches."""
from typing import Optional

from mmcv.transforms import BaseTransform

from colorizer.registry import TRANSFORMS
from ..image_io import read_color_image, read_gray_image

__all__ = ['LoadColorImage', 'LoadSketch']


@TRANSFORMS.register_module()
class LoadColorImage(BaseTransform):
    """Read ``img_path`` into ``img`` (and ``reference_path`` into ``reference``) as uint8 RGB.

    The reference is loaded here too because in the random-reference protocol the dataset names
    another image as the reference; in the self-reference protocol and in training there is no
    ``reference_path`` and the reference is made later (``TPSWarp``).

    Required keys: ``img_path``. Optional: ``reference_path``.
    Added keys: ``img``, ``ori_shape``, ``img_shape``; ``reference`` when ``reference_path`` is
    given.

    Args:
        backend_args: MMEngine ``fileio`` backend arguments (local disk when ``None``).

    Raises:
        ImageReadError: A file cannot be read; the message names it.
    """

    def __init__(self, backend_args: Optional[dict] = None):
        self.backend_args = backend_args

    def transform(self, results: dict) -> dict:
        if 'img' not in results:
            results['img'] = read_color_image(results['img_path'], self.backend_args)
        shape = results['img'].shape[:2]
        results['ori_shape'] = shape
        results['img_shape'] = shape
        if results.get('reference_path') is not None and 'reference' not in results:
            results['reference'] = read_color_image(results['reference_path'], self.backend_args)
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(backend_args={self.backend_args})'


@TRANSFORMS.register_module()
class LoadSketch(BaseTransform):
    """Read a precomputed sketch from ``sketch_path`` into ``sketch`` (uint8, HW).

    A no-op for samples without ``sketch_path``, so one pipeline serves datasets with and without
    precomputed sketches; ``XDoG`` later skips samples that already have a ``sketch``.

    Required keys: none. Optional: ``sketch_path``. Added keys: ``sketch``.

    Args:
        backend_args: MMEngine ``fileio`` backend arguments.

    Raises:
        ImageReadError: The sketch file cannot be read.
    """

    def __init__(self, backend_args: Optional[dict] = None):
        self.backend_args = backend_args

    def transform(self, results: dict) -> dict:
        if results.get('sketch_path') is not None and 'sketch' not in results:
            results['sketch'] = read_gray_image(results['sketch_path'], self.backend_args)
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(backend_args={self.backend_args})'
