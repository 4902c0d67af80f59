"""Does a cross-attention map find correspondences? Statistics of one map, per sample.

Every fusion module returns its cross map with ``return_attention=True``: (B, N, N'), row i
being how sketch token i reads the N' reference tokens. Modules normalise differently (SCFT's
rows sum to 1; SGA's Â has columns that sum to 1, paper §3.4), so every statistic here reads
the *row-normalised* map ``P = A / Σ_j A_ij``: the distribution over reference tokens that
sketch token i draws its message from, whatever the module's normalisation.

Statistics (each a (B,) tensor, averaged over the valid rows of one sample):

- ``region_mass``: Σ_j P_ij [l'_j = l_i], the share of row i's mass on reference tokens of its
  own region, with token labels l (sketch) and l' (reference) from
  :func:`colorizer.structures.token_grid.pool_labels`.
  ``region_chance`` is the same for the uniform map, #{j: l'_j = l_i} / N'.
- ``diagonal_mass``: P_ii, for a map whose reference is the sketch's own (unwarped) colour
  image, so that the right answer is the diagonal; ``diagonal_chance`` = 1 / N'.
- ``entropy`` (nats) of the rows, against ``entropy_max`` = log N' (uniform rows).
- ``row_max``: max_j P_ij (1: one-hot rows, 1 / N': uniform rows).
- ``topk_mass``: the mass of a row's k largest entries.
- ``mass_norm_spearman``: Spearman rank correlation, over reference tokens j, between the mass
  token j receives (Σ_i P_ij) and its feature norm ||y_j||. Near 1 means the map is decided by
  which reference tokens are long, not by what they show.
"""
from typing import Dict, Optional

import numpy as np
import torch
from scipy.stats import spearmanr

__all__ = ['row_normalise', 'correspondence_statistics', 'STATISTICS']

#: The keys :func:`correspondence_statistics` can return.
STATISTICS = ('region_mass', 'region_chance', 'diagonal_mass', 'diagonal_chance', 'entropy',
              'entropy_max', 'row_max', 'topk_mass', 'mass_norm_spearman')

# smallest row sum a row is divided by: an all-zero row stays zero instead of NaN
_TINY = 1e-30


def row_normalise(attn: torch.Tensor) -> torch.Tensor:
    """``A / Σ_j A_ij``: (B, N, N') -> (B, N, N'), in float32 or wider."""
    attn = attn.to(torch.promote_types(attn.dtype, torch.float32))
    return attn / attn.sum(dim=-1, keepdim=True).clamp_min(_TINY)


def _spearman(mass: torch.Tensor, norm: torch.Tensor) -> float:
    # scipy ranks ties by their mean (columns whose mass underflowed to exactly 0 tie)
    mass, norm = mass.double().cpu().numpy(), norm.double().cpu().numpy()
    if np.ptp(mass) == 0 or np.ptp(norm) == 0:
        return float('nan')  # constant: uniform maps, no rank order to correlate
    return float(spearmanr(mass, norm).statistic)


def correspondence_statistics(attn: torch.Tensor,
                              sketch_tokens: Optional[torch.Tensor] = None,
                              reference_tokens: Optional[torch.Tensor] = None,
                              reference_norm: Optional[torch.Tensor] = None,
                              diagonal_attn: Optional[torch.Tensor] = None,
                              topk: int = 4) -> Dict[str, torch.Tensor]:
    """Per-sample statistics of a cross-attention map (see the module docstring).

    Args:
        attn: (B, N, N') cross map, any normalisation with non-negative entries.
        sketch_tokens: (B, N) token labels of the sketch (:func:`pool_labels`); with
            ``reference_tokens``, enables ``region_mass`` / ``region_chance``. Rows labelled
            -1 are left out.
        reference_tokens: (B, N') token labels of the reference.
        reference_norm: (B, N') norms of the reference tokens; enables ``mass_norm_spearman``.
        diagonal_attn: (B, N, N) map with the sketch's own colour image as reference; enables
            ``diagonal_mass`` / ``diagonal_chance``.
        topk: k of ``topk_mass`` (clipped to N').

    Returns:
        dict of (B,) float64 CPU tensors, keys from :data:`STATISTICS`; a statistic without
        its inputs is absent, and ``region_mass`` of a sample without a labelled row is NaN.

    Raises:
        ValueError: on shapes that do not match.
    """
    if attn.dim() != 3:
        raise ValueError(f'attention must be (B, N, N\'), got {tuple(attn.shape)}')
    batch, num, num_ref = attn.shape
    prob = row_normalise(attn.detach())  # (B, N, N')
    out = {}
    log = prob.clamp_min(_TINY).log()
    out['entropy'] = -(prob * log).sum(-1).mean(-1)
    out['entropy_max'] = torch.full((batch, ), float(np.log(num_ref)))
    out['row_max'] = prob.amax(-1).mean(-1)
    out['topk_mass'] = prob.topk(min(topk, num_ref), dim=-1).values.sum(-1).mean(-1)
    if sketch_tokens is not None and reference_tokens is not None:
        if sketch_tokens.shape != (batch, num) or reference_tokens.shape != (batch, num_ref):
            raise ValueError(f'token labels {tuple(sketch_tokens.shape)} / '
                             f'{tuple(reference_tokens.shape)} do not match the map '
                             f'{tuple(attn.shape)}')
        sketch_tokens = sketch_tokens.to(prob.device)
        reference_tokens = reference_tokens.to(prob.device)
        same = (sketch_tokens.unsqueeze(-1) == reference_tokens.unsqueeze(-2))  # (B, N, N')
        valid = (sketch_tokens >= 0).to(prob.dtype)  # (B, N)
        rows = valid.sum(-1)
        mass = (prob * same).sum(-1)  # (B, N)
        chance = same.to(prob.dtype).mean(-1)  # (B, N)
        out['region_mass'] = (mass * valid).sum(-1) / rows
        out['region_chance'] = (chance * valid).sum(-1) / rows
    if diagonal_attn is not None:
        if diagonal_attn.dim() != 3 or diagonal_attn.shape[1] != diagonal_attn.shape[2]:
            raise ValueError('the diagonal map needs as many reference as sketch tokens, got '
                             f'{tuple(diagonal_attn.shape)}')
        diag = row_normalise(diagonal_attn.detach()).diagonal(dim1=1, dim2=2)  # (B, N)
        out['diagonal_mass'] = diag.mean(-1)
        out['diagonal_chance'] = torch.full((batch, ), 1.0 / diagonal_attn.shape[2])
    if reference_norm is not None:
        if reference_norm.shape != (batch, num_ref):
            raise ValueError(f'reference_norm {tuple(reference_norm.shape)} does not match the '
                             f'map {tuple(attn.shape)}')
        received = prob.sum(dim=1)  # (B, N')
        out['mass_norm_spearman'] = torch.tensor(
            [_spearman(received[b], reference_norm[b]) for b in range(batch)])
    return {key: value.detach().double().cpu() for key, value in out.items()}
