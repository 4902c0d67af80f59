"""Losses, registered in ``LOSSES``."""
from .correspondence_loss import RegionInfoNCELoss, multi_positive_infonce
from .gan_loss import LSGANLoss
from .perceptual_loss import PerceptualLoss, gram_matrix
from .reconstruction_loss import L1Loss

__all__ = [
    'L1Loss', 'LSGANLoss', 'PerceptualLoss', 'RegionInfoNCELoss', 'gram_matrix',
    'multi_positive_infonce'
]
