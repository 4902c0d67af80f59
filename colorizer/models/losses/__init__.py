"""Losses, registered in ``LOSSES``."""
from .correspondence_loss import RegionInfoNCELoss, multi_positive_infonce
from .gan_loss import HingeGANLoss, LSGANLoss, NonSaturatingGANLoss
from .perceptual_loss import PerceptualLoss, gram_matrix
from .reconstruction_loss import L1Loss

__all__ = ['HingeGANLoss', 'L1Loss', 'LSGANLoss', 'NonSaturatingGANLoss', 'PerceptualLoss',
           'RegionInfoNCELoss', 'gram_matrix', 'multi_positive_infonce']
