"""The encoder tokens a correspondence loss reads, captured from the training forward.

A correspondence loss (``RegionInfoNCELoss``) trains the sketch and reference encoders to
produce tokens that match by region. It needs exactly what the fusion module receives: the
pooled sketch features and reference features, *with their graph* (the fusion module may
detach them for its map, as every stop-gradient map does). A forward pre-hook on the
generator's ``attention`` records them, so the loss works with any fusion module and any
generator that calls ``self.attention(sketch_feat, ref_feat, ...)``, without a second forward.
"""
from typing import Optional

import torch
from torch import nn

from colorizer.structures.token_grid import pool_labels, token_grid
from .attention.base import to_tokens

__all__ = ['EncoderTokens']


class EncoderTokens:
    """Context manager: record the fusion module's inputs during one generator forward.

    Example::

        with EncoderTokens(generator) as capture:
            fake = generator(sketch, reference)
        loss = capture.loss(loss_module, inputs)

    Args:
        generator: a generator with an ``attention`` sub-module (and, for position positives,
            a ``reference_encoder`` returning ``(pooled, feats)``).

    Raises:
        TypeError: the generator has no ``attention`` module.
    """

    def __init__(self, generator: nn.Module):
        attention = getattr(generator, 'attention', None)
        if not isinstance(attention, nn.Module):
            raise TypeError(f'{type(generator).__name__} has no `attention` module whose inputs '
                            'a correspondence loss could read')
        self.generator = generator
        self.sketch_feat: Optional[torch.Tensor] = None
        self.ref_feat: Optional[torch.Tensor] = None
        self._handle = None

    def _record(self, module, args):
        self.sketch_feat, self.ref_feat = args[0], args[1]

    def __enter__(self) -> 'EncoderTokens':
        self._handle = self.generator.attention.register_forward_pre_hook(self._record)
        return self

    def __exit__(self, *exc) -> None:
        self._handle.remove()
        self._handle = None

    def loss(self, loss_module: nn.Module, inputs: dict) -> torch.Tensor:
        """Evaluate ``loss_module`` on the recorded tokens.

        Args:
            loss_module: e.g. ``RegionInfoNCELoss``; its ``needs_labels`` /
                ``needs_aligned_view`` say what to compute.
            inputs: the preprocessed batch (``sketch_labels``, ``reference_labels``,
                ``target``).

        Returns:
            Scalar loss.

        Raises:
            RuntimeError: no forward was recorded.
            ValueError: the loss needs region labels the batch does not carry.
        """
        if self.sketch_feat is None:
            raise RuntimeError('no generator forward was recorded: call the generator inside '
                               'the EncoderTokens block')
        x, y = to_tokens(self.sketch_feat), to_tokens(self.ref_feat)  # (B, N, C), (B, N', C)
        kwargs = {}
        if getattr(loss_module, 'needs_labels', False):
            sketch_labels = inputs.get('sketch_labels')
            reference_labels = inputs.get('reference_labels')
            if sketch_labels is None or reference_labels is None:
                raise ValueError('the correspondence loss needs region labels: the batch has no '
                                 'sketch_labels / reference_labels (data samples `labels`, '
                                 '`reference_labels`, e.g. from SyntheticToonDataset)')
            kwargs['sketch_token_labels'] = pool_labels(
                sketch_labels, token_grid(x.shape[1], sketch_labels.shape[-2:])).to(x.device)
            kwargs['reference_token_labels'] = pool_labels(
                reference_labels, token_grid(y.shape[1], reference_labels.shape[-2:])).to(x.device)
        if getattr(loss_module, 'needs_aligned_view', False):
            # the target is pixel-aligned with the sketch: token i of its reference-encoder
            # features shows what sketch token i shows
            aligned, _ = self.generator.reference_encoder(inputs['target'])
            kwargs['aligned_tokens'] = to_tokens(aligned)
        return loss_module(x, y, **kwargs)
