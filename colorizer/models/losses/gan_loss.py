"""Adversarial losses, for both players: least-squares, hinge and non-saturating.

Every loss is called as ``loss(pred, target_is_real, is_disc)``, the form of SPADE's
``GANLoss(input, target_is_real, for_discriminator)`` and mmagic's ``GANLoss(input,
target_is_real, is_disc)``:

- the discriminator step calls it twice, ``loss(D(real), True, True)`` and
  ``loss(D(fake), False, True)``;
- the generator step calls ``loss(D(fake), True, False)``.

``is_disc`` matters because the discriminator's and the generator's terms are not always the
same function (hinge: ``max(0, 1 - D(x))`` for the discriminator, ``-D(G(z))`` for the
generator), and ``loss_weight`` weighs the generator's term against its other losses only: the
discriminator's terms are its whole loss, unweighted (as in SPADE and mmagic).
"""
import torch
import torch.nn.functional as F
from torch import nn

from colorizer.registry import LOSSES


class _GANLoss(nn.Module):
    """Shared call contract; subclasses implement :meth:`disc_loss` and :meth:`gen_loss`.

    Args:
        loss_weight: weight of the generator's term (the discriminator's terms are unweighted).
    """

    def __init__(self, loss_weight: float = 1.0):
        super().__init__()
        self.loss_weight = loss_weight

    def forward(self, pred: torch.Tensor, target_is_real: bool, is_disc: bool) -> torch.Tensor:
        """The loss of the discriminator's scores ``pred`` (any shape, e.g. (B, 1, h, w)).

        Args:
            pred: discriminator scores, no sigmoid.
            target_is_real: whether ``pred`` should be judged real.
            is_disc: True in the discriminator's step, False in the generator's.

        Returns:
            Scalar: the discriminator's term unweighted, or ``loss_weight`` times the
            generator's term.

        Raises:
            ValueError: a generator term with ``target_is_real=False`` (the generator wants its
                images judged real).
        """
        if is_disc:
            return self.disc_loss(pred, target_is_real)
        if not target_is_real:
            raise ValueError(f'{type(self).__name__}: the generator term is computed with '
                             'target_is_real=True (the generator wants its images judged real)')
        return self.loss_weight * self.gen_loss(pred)

    def disc_loss(self, pred: torch.Tensor, target_is_real: bool) -> torch.Tensor:
        raise NotImplementedError

    def gen_loss(self, pred: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


@LOSSES.register_module()
class LSGANLoss(_GANLoss):
    """Least-squares GAN (Mao et al., ICCV 2017), the paper's adversarial loss (§4.1).

    Discriminator: ``mean((D(x) - 1)²)`` on real, ``mean(D(G(z))²)`` on fake; generator:
    ``loss_weight · mean((D(G(z)) - 1)²)``.

    Args:
        loss_weight: weight of the generator's term (1 in the paper).
    """

    def disc_loss(self, pred: torch.Tensor, target_is_real: bool) -> torch.Tensor:
        return F.mse_loss(pred, torch.full_like(pred, 1.0 if target_is_real else 0.0))

    def gen_loss(self, pred: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(pred, torch.ones_like(pred))


@LOSSES.register_module()
class HingeGANLoss(_GANLoss):
    """Hinge GAN loss (Lim & Ye 2017; SPADE's default).

    Discriminator: ``mean(max(0, 1 - D(x)))`` on real, ``mean(max(0, 1 + D(G(z))))`` on fake;
    generator: ``-loss_weight · mean(D(G(z)))``.

    Args:
        loss_weight: weight of the generator's term.
    """

    def disc_loss(self, pred: torch.Tensor, target_is_real: bool) -> torch.Tensor:
        return F.relu(1.0 - pred).mean() if target_is_real else F.relu(1.0 + pred).mean()

    def gen_loss(self, pred: torch.Tensor) -> torch.Tensor:
        return -pred.mean()


@LOSSES.register_module()
class NonSaturatingGANLoss(_GANLoss):
    """Non-saturating GAN loss (Goodfellow et al., NeurIPS 2014, §3) on logits.

    Discriminator: binary cross-entropy of ``sigmoid(D)`` to 1 (real) or 0 (fake), i.e.
    ``mean(softplus(-D(x)))`` and ``mean(softplus(D(G(z))))``; generator:
    ``loss_weight · mean(softplus(-D(G(z))))`` (maximises log D(G(z))).

    Args:
        loss_weight: weight of the generator's term.
    """

    def disc_loss(self, pred: torch.Tensor, target_is_real: bool) -> torch.Tensor:
        target = torch.full_like(pred, 1.0 if target_is_real else 0.0)
        return F.binary_cross_entropy_with_logits(pred, target)

    def gen_loss(self, pred: torch.Tensor) -> torch.Tensor:
        return F.binary_cross_entropy_with_logits(pred, torch.ones_like(pred))
