"""VGG19 perceptual and style losses (paper §3.2; layers and Gram from the authors' code)."""
import os
import warnings
from typing import Dict, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models.vgg import cfgs, make_layers

from colorizer.invalid_argument import InvalidArgumentError, check_choice
from colorizer.registry import LOSSES

VGG19_FILENAME = 'vgg19-dcbb9e9d.pth'
VGG19_URL = f'https://download.pytorch.org/models/{VGG19_FILENAME}'
_NUM_VGG19_FEATURES = 37  # len(torchvision.models.vgg19().features)
INPUT_NORMS = ('imagenet', 'none')


def gram_matrix(feat: torch.Tensor, mode: str = 'batch') -> torch.Tensor:
    """Gram matrix normalised by a·b·c·d, as in the authors' code.

    Args:
        feat: (a, b, c, d) features: batch, channels, height, width.
        mode: ``'batch'`` is the authors' code verbatim: the features are viewed as
            (a·b, c·d), so the Gram is (a·b, a·b) and also correlates different samples of the
            batch. ``'per_sample'`` gives the usual per-image Gram, (a, b, b), with the same
            normaliser.

    Returns:
        The Gram matrix divided by a·b·c·d.
    """
    a, b, c, d = feat.shape
    # sums over c·d products overflow float16: always at least float32, autocast off
    feat = feat.to(torch.promote_types(feat.dtype, torch.float32))
    if mode not in ('batch', 'per_sample'):
        raise ValueError(f"mode must be 'batch' or 'per_sample', got {mode!r}")
    with torch.autocast(device_type=feat.device.type, enabled=False):
        if mode == 'batch':
            flat = feat.reshape(a * b, c * d)
            gram = flat @ flat.t()  # (a*b, a*b)
        else:
            flat = feat.reshape(a, b, c * d)
            gram = flat @ flat.transpose(1, 2)  # (a, b, b)
    return gram / (a * b * c * d)


def _resolve_weights(pretrained: str) -> str:
    path = (os.path.join(torch.hub.get_dir(), 'checkpoints', VGG19_FILENAME)
            if pretrained == 'auto' else os.path.expanduser(pretrained))
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f'VGG19 weights for the perceptual/style losses not found at {path}. This machine '
            f'may not reach the internet: download {VGG19_FILENAME} from {VGG19_URL} and put it '
            f'at {os.path.join(torch.hub.get_dir(), "checkpoints", VGG19_FILENAME)} (the torch '
            f'hub cache, used by pretrained=\'auto\'; $TORCH_HOME moves it) or pass its path as '
            f'`pretrained`.')
    return path


@LOSSES.register_module()
class PerceptualLoss(nn.Module):
    """L1 between VGG19 activations (perceptual) and between their Gram matrices (style).

    The network is torchvision's ``vgg19().features`` cut after the deepest requested layer,
    frozen and always in eval mode. The target features are computed without gradient.

    Input normalisation (``input_norm``): torchvision's VGG19 was trained on [0, 1] images
    normalised with the ImageNet mean and std. ``'imagenet'`` (default) maps the [-1, 1] images
    to [0, 1] and applies those statistics, the input the weights expect. ``'none'`` feeds the
    [-1, 1] images unchanged, as the SGA authors' code does (its data loader normalises with
    mean = std = 0.5 and passes the result straight to ``vgg19(pretrained=True)``). The paper's
    λ2 = 0.01 and λ3 = 50 were set with the authors' form. ``'imagenet'`` feeds VGG an affine
    map of the [-1, 1] image with gain 1 / (2·std) ≈ 2.2 per channel plus a shift, so the
    activations and, quadratically, the Gram matrices are on another scale, and the same λ2,
    λ3 weigh the perceptual and style losses differently against λ1 and the GAN loss. The
    paper configs use ``'none'`` to keep the weighting the paper's numbers come from;
    ``'imagenet'`` gives the features VGG19 was trained to produce.

    Args:
        layers: indices into ``vgg19().features`` whose outputs are compared; the authors use
            3 and 8 (relu1_2, relu2_2).
        perceptual_weight: λ2 (0.01 in the paper).
        style_weight: λ3 (50 in the paper).
        pretrained: ``'auto'`` (the torch hub cache file ``vgg19-dcbb9e9d.pth``), a path to
            torchvision's VGG19 (or VGG19 ``features``) state dict, or ``None`` for random
            weights (tests only: the losses then measure random features). A missing file
            raises ``FileNotFoundError`` here, at construction.
        gram_mode: ``'batch'`` (authors' code) or ``'per_sample'``, see :func:`gram_matrix`.
        input_norm: ``'imagenet'`` ([-1, 1] -> [0, 1] -> ImageNet mean and std) or ``'none'``
            ([-1, 1] as is, the authors' code).

    Raises:
        ValueError: bad ``layers``, ``gram_mode`` or ``input_norm``.
        FileNotFoundError: the VGG19 weights file is missing.
    """

    def __init__(self, layers: Sequence[int] = (3, 8), perceptual_weight: float = 0.01,
                 style_weight: float = 50.0, pretrained: Optional[str] = 'auto',
                 gram_mode: str = 'batch', input_norm: str = 'imagenet'):
        super().__init__()
        layers = sorted(set(int(i) for i in layers))
        if not layers or layers[0] < 0 or layers[-1] >= _NUM_VGG19_FEATURES:
            raise InvalidArgumentError('layers', layers, 'VGG19 feature indices in '
                                       f'[0, {_NUM_VGG19_FEATURES})', 'PerceptualLoss')
        check_choice('gram_mode', gram_mode, ('batch', 'per_sample'), 'PerceptualLoss')
        check_choice('input_norm', input_norm, INPUT_NORMS, 'PerceptualLoss')
        self.input_norm = input_norm
        self.layers = layers
        self.perceptual_weight = perceptual_weight
        self.style_weight = style_weight
        self.gram_mode = gram_mode

        vgg = make_layers(cfgs['E'])[:layers[-1] + 1]  # torchvision's vgg19().features, truncated
        for module in vgg:
            if isinstance(module, nn.ReLU):
                # an in-place ReLU would overwrite a requested conv output kept for the loss
                module.inplace = False
        if pretrained is None:
            warnings.warn('PerceptualLoss(pretrained=None): VGG19 has random weights, so the '
                          'perceptual and style losses measure random features.')
        else:
            state = torch.load(_resolve_weights(pretrained), map_location='cpu',
                               weights_only=True)
            if any(k.startswith('features.') for k in state):
                state = {k[len('features.'):]: v for k, v in state.items()
                         if k.startswith('features.')}
            state = {k: v for k, v in state.items() if int(k.split('.')[0]) < len(vgg)}
            vgg.load_state_dict(state)
        vgg.requires_grad_(False)
        self.vgg = vgg.eval()
        self.register_buffer(
            'mean', torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1), persistent=False)
        self.register_buffer(
            'std', torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1), persistent=False)

    def train(self, mode: bool = True) -> 'PerceptualLoss':
        """Set the mode of the module; the VGG stays in eval mode."""
        super().train(mode)
        self.vgg.eval()
        return self

    def normalise(self, image: torch.Tensor) -> torch.Tensor:
        """The VGG input for a (B, 3, H, W) image in [-1, 1], per ``input_norm``."""
        if self.input_norm == 'none':
            return image
        return ((image + 1) / 2 - self.mean) / self.std  # [-1, 1] -> [0, 1] -> ImageNet stats

    def _features(self, image: torch.Tensor) -> list:
        x = self.normalise(image)
        feats = []
        for i, module in enumerate(self.vgg):
            x = module(x)
            if i in self.layers:
                feats.append(x)
        return feats

    def forward(self, fake: torch.Tensor, real: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Compare a generated image with its ground truth.

        Args:
            fake: (B, 3, H, W) in [-1, 1], gets gradient.
            real: (B, 3, H, W) in [-1, 1], the target.

        Returns:
            ``{'loss_perceptual': λ2 · Σ_l mean|φ_l(fake) − φ_l(real)|,
            'loss_style': λ3 · Σ_l mean|G(φ_l(fake)) − G(φ_l(real))|}``.
        """
        fake_feats = self._features(fake)
        with torch.no_grad():
            real_feats = self._features(real)
        perceptual = sum(F.l1_loss(f, r) for f, r in zip(fake_feats, real_feats))
        style = sum(
            F.l1_loss(gram_matrix(f, self.gram_mode), gram_matrix(r, self.gram_mode))
            for f, r in zip(fake_feats, real_feats))
        return {
            'loss_perceptual': self.perceptual_weight * perceptual,
            'loss_style': self.style_weight * style,
        }
