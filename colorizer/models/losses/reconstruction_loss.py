"""L1 reconstruction loss."""
import torch
import torch.nn.functional as F
from torch import nn

from colorizer.registry import LOSSES


@LOSSES.register_module()
class L1Loss(nn.Module):
    """Weighted mean absolute error.

    Args:
        loss_weight: λ1 (30 in the paper).
    """

    def __init__(self, loss_weight: float = 30.0):
        super().__init__()
        self.loss_weight = loss_weight

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Return ``loss_weight * mean(|pred - target|)``, a scalar."""
        return self.loss_weight * F.l1_loss(pred, target)
