"""Losses, registered in ``LOSSES``."""
from .gan_loss import LSGANLoss
from .perceptual_loss import PerceptualLoss, gram_matrix
from .reconstruction_loss import L1Loss

__all__ = ['L1Loss', 'LSGANLoss', 'PerceptualLoss', 'gram_matrix']
