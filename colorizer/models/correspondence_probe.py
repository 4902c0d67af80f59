"""Read a generator's cross-attention maps for the correspondence diagnostics.

Shared by ``CorrespondenceHook`` (during training) and ``ReferenceColorizer`` with
``correspondence_outputs=True`` (validation and test, for ``CorrespondenceMetric``); the
statistics themselves are in :mod:`colorizer.evaluation.correspondence_stats`.
"""
from typing import Dict, Optional

import torch
from torch import nn

from .attention.base import to_tokens


def probe_correspondence(generator: nn.Module,
                         sketch: torch.Tensor,
                         reference: torch.Tensor,
                         target: Optional[torch.Tensor] = None,
                         sketch_labels: Optional[torch.Tensor] = None,
                         reference_labels: Optional[torch.Tensor] = None
                         ) -> Dict[str, torch.Tensor]:
    """Cross maps of a batch, with the sketch's reference and with its own colour image.

    Runs without gradient and in whatever train / eval mode the generator is in (the caller
    chooses). One forward with ``(sketch, reference)``; with ``target``, one more with the
    sketch's own colour image as reference, whose right answer is the diagonal (the same
    labels serve as the reference's labels there).

    Args:
        generator: an ``SCFTGenerator`` (anything with ``reference_encoder`` and
            ``forward(sketch, reference, return_attention, sketch_labels, reference_labels)``).
        sketch: (B, 1, H, W) in [-1, 1].
        reference: (B, 3, H', W') in [-1, 1].
        target: (B, 3, H, W) in [-1, 1], the colour image the sketch was drawn from.
        sketch_labels: (B, H, W) int64 region ids, for modules that read them.
        reference_labels: (B, H', W') int64.

    Returns:
        ``cross_attention`` (B, N, N'), ``reference_token_norm`` (B, N') (the L2 norm of the
        reference encoder's tokens, the input of every fusion module) and, with ``target``,
        ``diagonal_attention`` (B, N, N''); float32, detached, on the input's device.

    Raises:
        TypeError: the generator has no ``reference_encoder`` to read the token norms from.
    """
    encoder = getattr(generator, 'reference_encoder', None)
    if not isinstance(encoder, nn.Module):
        raise TypeError(f'{type(generator).__name__} has no reference_encoder; the '
                        'correspondence probe reads the reference tokens from it')
    captured = []

    def keep_tokens(module, args, output):
        captured.append(output[0])  # the pooled (B, C, h', w') features

    handle = encoder.register_forward_hook(keep_tokens)
    try:
        with torch.no_grad():
            _, cross = generator(sketch, reference, return_attention=True,
                                 sketch_labels=sketch_labels, reference_labels=reference_labels)
            tokens = to_tokens(captured[0]).float()  # (B, N', C)
            out = dict(cross_attention=cross.float(), reference_token_norm=tokens.norm(dim=-1))
            if target is not None:
                _, diagonal = generator(sketch, target, return_attention=True,
                                        sketch_labels=sketch_labels,
                                        reference_labels=sketch_labels)
                out['diagonal_attention'] = diagonal.float()
    finally:
        handle.remove()
    return out
