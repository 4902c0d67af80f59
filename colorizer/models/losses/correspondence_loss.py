"""Correspondence loss on the encoder tokens: the signal a stop-gradient map never receives.

Under SGA's stop-gradient (paper §3.4) no loss reaches the inputs of the cross map, so nothing
trains the sketch and reference encoders to produce tokens whose similarity finds the matching
region. This loss gives them that signal directly, beside the map: an InfoNCE (van den Oord et
al. 2018, "Representation learning with contrastive predictive coding") between the sketch's
tokens and the reference's, whose positives are the reference tokens of the same ground-truth
region (multi-positive form of Khosla et al. 2020, "Supervised contrastive learning"), or the
token at the same position of a pixel-aligned view (the target image through the reference
encoder). The map itself keeps its stop-gradient; it reads features the loss has shaped.

With cosine similarities s_ij = <x̂_i, ŷ_j> and temperature τ, a sketch token i with positives
P(i) contributes ``-log Σ_{j∈P(i)} softmax_j(s_ij / τ)``, i.e. minus the log of the mass that
the row-softmax map ``softmax(s / τ)`` puts on the right region: the loss maximises exactly the
"region mass" diagnostic of the correspondence study.
"""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from colorizer.invalid_argument import check_choice, check_number
from colorizer.registry import LOSSES

__all__ = ['RegionInfoNCELoss', 'multi_positive_infonce']


def multi_positive_infonce(query: torch.Tensor, key: torch.Tensor, positive: torch.Tensor,
                           temperature: float) -> torch.Tensor:
    """Mean of ``-log Σ_{j∈P(i)} softmax_j(<q̂_i, k̂_j> / τ)`` over rows with a positive.

    Args:
        query: (B, N, C) tokens (L2-normalised here).
        key: (B, N', C) tokens (L2-normalised here).
        positive: (B, N, N') bool, True where key j is a positive of query i.
        temperature: τ > 0.

    Returns:
        Scalar; 0 (with the graph kept) when no row has a positive.
    """
    q = F.normalize(query.float(), dim=-1)
    k = F.normalize(key.float(), dim=-1)
    logits = torch.bmm(q, k.transpose(1, 2)) / temperature  # (B, N, N')
    log_prob = logits.log_softmax(dim=-1)
    masked = log_prob.masked_fill(~positive, float('-inf'))
    row_loss = -torch.logsumexp(masked, dim=-1)  # (B, N); inf where no positive
    valid = positive.any(dim=-1)
    if not valid.any():
        return logits.sum() * 0.0
    return row_loss[valid].mean()


@LOSSES.register_module()
class RegionInfoNCELoss(nn.Module):
    """InfoNCE between sketch and reference tokens with region (or position) positives.

    Args:
        loss_weight: Multiplier of the loss.
        temperature: τ of the cosine similarities.
        positives: ``'region'`` (reference tokens of the sketch token's ground-truth region,
            token labels by majority), ``'position'`` (the same token of a pixel-aligned view)
            or ``'both'`` (the sum of the two losses).
        symmetric: Also the reference-to-sketch direction (columns), averaged with the rows.

    Raises:
        ValueError: an unknown ``positives`` or a non-positive temperature.
    """

    POSITIVES = ('region', 'position', 'both')

    def __init__(self, loss_weight: float = 1.0, temperature: float = 0.1,
                 positives: str = 'region', symmetric: bool = True):
        super().__init__()
        check_choice('positives', positives, self.POSITIVES, 'RegionInfoNCELoss')
        check_number('temperature', temperature, 0, exclusive_minimum=True,
                     owner='RegionInfoNCELoss')
        check_number('loss_weight', loss_weight, 0, owner='RegionInfoNCELoss')
        self.loss_weight = float(loss_weight)
        self.temperature = float(temperature)
        self.positives = positives
        self.symmetric = symmetric

    @property
    def needs_labels(self) -> bool:
        """Whether the loss reads token region labels."""
        return self.positives in ('region', 'both')

    @property
    def needs_aligned_view(self) -> bool:
        """Whether the loss reads the tokens of a pixel-aligned view of the reference."""
        return self.positives in ('position', 'both')

    def _nce(self, query, key, positive):
        loss = multi_positive_infonce(query, key, positive, self.temperature)
        if self.symmetric:
            loss = 0.5 * (loss + multi_positive_infonce(key, query, positive.transpose(1, 2),
                                                        self.temperature))
        return loss

    def forward(self, sketch_tokens: torch.Tensor, reference_tokens: torch.Tensor,
                sketch_token_labels: Optional[torch.Tensor] = None,
                reference_token_labels: Optional[torch.Tensor] = None,
                aligned_tokens: Optional[torch.Tensor] = None) -> torch.Tensor:
        """The weighted loss.

        Args:
            sketch_tokens: (B, N, C) sketch encoder tokens (with their graph).
            reference_tokens: (B, N', C) reference encoder tokens.
            sketch_token_labels: (B, N) int64 region ids, -1 for none (``'region'``).
            reference_token_labels: (B, N') int64 region ids (``'region'``).
            aligned_tokens: (B, N, C) reference-encoder tokens of an image pixel-aligned with
                the sketch (``'position'``: token i is the positive of sketch token i).

        Returns:
            Scalar tensor.

        Raises:
            ValueError: what the chosen positives need is missing.
        """
        total = sketch_tokens.new_zeros(())
        if self.needs_labels:
            if sketch_token_labels is None or reference_token_labels is None:
                raise ValueError("RegionInfoNCELoss(positives='region') needs region labels of "
                                 'the sketch and the reference (SyntheticToonDataset provides '
                                 "them); use positives='position' for data without labels")
            same = (sketch_token_labels.unsqueeze(-1) == reference_token_labels.unsqueeze(-2))
            same &= (sketch_token_labels >= 0).unsqueeze(-1)
            total = total + self._nce(sketch_tokens, reference_tokens, same)
        if self.needs_aligned_view:
            if aligned_tokens is None:
                raise ValueError("RegionInfoNCELoss(positives='position') needs the tokens of a "
                                 'pixel-aligned view (aligned_tokens)')
            if aligned_tokens.shape != sketch_tokens.shape:
                raise ValueError(f'aligned_tokens {tuple(aligned_tokens.shape)} must match the '
                                 f'sketch tokens {tuple(sketch_tokens.shape)}')
            n = sketch_tokens.shape[1]
            eye = torch.eye(n, dtype=torch.bool, device=sketch_tokens.device)
            total = total + self._nce(sketch_tokens, aligned_tokens,
                                      eye.expand(sketch_tokens.shape[0], n, n))
        return self.loss_weight * total
