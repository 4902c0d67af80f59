"""Least-squares GAN loss."""
import torch
import torch.nn.functional as F
from torch import nn

from colorizer.registry import LOSSES


@LOSSES.register_module()
class LSGANLoss(nn.Module):
    """Mean squared error of the scores to 1 (real) or 0 (fake).

    Used for both players: the discriminator calls it with ``target_is_real`` True on real and
    False on fake scores, the generator with True on fake scores.

    Args:
        loss_weight: weight of the loss (1 in the paper).
    """

    def __init__(self, loss_weight: float = 1.0):
        super().__init__()
        self.loss_weight = loss_weight

    def forward(self, pred: torch.Tensor, target_is_real: bool) -> torch.Tensor:
        """Return ``loss_weight * mean((pred - t)**2)``, t = 1 if ``target_is_real`` else 0."""
        target = torch.full_like(pred, 1.0 if target_is_real else 0.0)
        return self.loss_weight * F.mse_loss(pred, target)
