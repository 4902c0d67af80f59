"""Turns collated uint8 samples into normalised batches on the model's device."""
from typing import Sequence

import torch
from mmengine.model import BaseDataPreprocessor

from colorizer.registry import MODELS


def to_unit_range(images: torch.Tensor) -> torch.Tensor:
    """Map uint8 values [0, 255] to float [-1, 1] (the generator's tanh range)."""
    return images.float() / 127.5 - 1.0


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """Map float [-1, 1] back to uint8 [0, 255], rounding to the nearest value."""
    return ((images.detach().float().clamp(-1, 1) + 1.0) * 127.5).round().to(torch.uint8)


@MODELS.register_module()
class ColorizationDataPreprocessor(BaseDataPreprocessor):
    """Stack ``sketch``, ``reference`` and the samples' ``target`` into [-1, 1] batches.

    Input (after ``pseudo_collate``)::

        {'inputs': {'sketch': [uint8 (1, H, W)] * B, 'reference': [uint8 (3, H, W)] * B},
         'data_samples': [ColorizationDataSample] * B}

    Output::

        {'inputs': {'sketch': (B, 1, H, W), 'reference': (B, 3, H, W), 'target': (B, 3, H, W)},
         'data_samples': the same samples, untouched (metrics read their uint8 fields)}

    ``target`` is lifted out of the data samples because the losses need it as a batch on the
    device, while metrics keep reading the exact uint8 values from the samples. When every
    sample carries region labels, they are batched too, as ``inputs['sketch_labels']``
    (B, H, W) from the samples' ``labels`` and ``inputs['reference_labels']`` (B, H', W'), int64:
    the generator hands them to fusion modules that ask for them (the oracle-map control).

    Args:
        channels_last (bool): Return image batches in ``torch.channels_last`` memory format,
            which speeds up convolutions on some hardware.
    """

    def __init__(self, channels_last: bool = False):
        super().__init__()
        self.channels_last = channels_last

    def _batch(self, images: Sequence[torch.Tensor] | torch.Tensor, key: str) -> torch.Tensor:
        if isinstance(images, torch.Tensor) and images.dim() == 4:
            batch = images
        else:
            shapes = {tuple(img.shape) for img in images}
            if len(shapes) != 1:
                raise ValueError(f'all `{key}` images of a batch must have one shape, got '
                                 f'{shapes}; resize or crop them to a common size in the pipeline')
            batch = torch.stack(list(images))
        batch = to_unit_range(self.cast_data(batch))
        if self.channels_last:
            batch = batch.contiguous(memory_format=torch.channels_last)
        return batch

    def forward(self, data: dict, training: bool = False) -> dict:
        """Stack, move to the device and normalise one collated batch.

        Args:
            data (dict): ``inputs`` (dict of lists) and ``data_samples`` (list).
            training (bool): Unused; the same preprocessing applies in training and testing.

        Returns:
            dict: ``inputs`` with batched tensors in [-1, 1] and the ``data_samples``.
        """
        inputs = data['inputs']
        for key in ('sketch', 'reference'):
            if key not in inputs:
                raise KeyError(f'the batch has no `{key}` input; PackColorizationInputs must '
                               f'produce inputs with keys sketch and reference, got {list(inputs)}')
        samples = data.get('data_samples')
        batch = {key: self._batch(inputs[key], key) for key in ('sketch', 'reference')}
        if samples and all('target' in sample for sample in samples):
            batch['target'] = self._batch([sample.target for sample in samples], 'target')
        for key, field in (('sketch_labels', 'labels'), ('reference_labels', 'reference_labels')):
            if samples and all(field in sample for sample in samples):
                labels = [sample.get(field) for sample in samples]
                shapes = {tuple(label.shape) for label in labels}
                if len(shapes) != 1:
                    raise ValueError(f'all `{field}` of a batch must have one shape, got {shapes}')
                batch[key] = self.cast_data(torch.stack(labels).long())
        return dict(inputs=batch, data_samples=samples)
