"""pytorch-fid's Inception-v3 feature extractor, built without any download.

``pytorch_fid.inception.InceptionV3(use_fid_inception=True)`` fetches its weights from GitHub
inside its constructor, which machines without internet access cannot do. This module builds the
same network: torchvision's Inception-v3 (1008 classes, no aux head) with the blocks replaced by
pytorch-fid's ``FIDInceptionA/C/E_1/E_2`` exactly as ``pytorch_fid.inception.fid_inception_v3``
does, then loads the weights from a local file. Preprocessing and the returned features (the
2048-d pool3 output, block 3) are those of ``InceptionV3([3], resize_input=True,
normalize_input=True)``: [0, 1] input, bilinear resize to 299×299 (``align_corners=False``, no
antialiasing), scaled to [-1, 1].
"""
import os.path as osp
import warnings
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
from pytorch_fid.inception import (FID_WEIGHTS_URL, FIDInceptionA, FIDInceptionC,
                                   FIDInceptionE_1, FIDInceptionE_2)

#: File name of pytorch-fid's FID Inception weights (TensorFlow's 2015-12-05 Inception, ported).
FID_WEIGHTS_NAME = 'pt_inception-2015-12-05-6726825d.pth'

#: Dimension of the pool3 features.
FEATURE_DIM = 2048

#: Smallest input side Inception-v3 accepts: below it a pooling layer gets an empty input.
INCEPTION_MIN_SIZE = 75


def default_inception_weights_path() -> str:
    """Where ``inception_weights='auto'`` looks: the torch hub checkpoint cache."""
    return osp.join(torch.hub.get_dir(), 'checkpoints', FID_WEIGHTS_NAME)


def resolve_inception_weights(weights: str = 'auto') -> str:
    """Return the path of the FID Inception weights file, or fail with how to provide it.

    Args:
        weights: a file path, or ``'auto'`` for :func:`default_inception_weights_path`.

    Raises:
        FileNotFoundError: the file does not exist. The message names the file, its URL and
            where to put it, because these machines cannot download it.
    """
    default = default_inception_weights_path()
    path = default if weights == 'auto' else osp.expanduser(str(weights))
    if not osp.isfile(path):
        raise FileNotFoundError(
            f"FID needs pytorch-fid's Inception weights '{FID_WEIGHTS_NAME}', "
            f'which is not at {path}. It cannot be downloaded from here: fetch {FID_WEIGHTS_URL} '
            f'on a machine with internet access and copy it to {default} (where '
            "inception_weights='auto' looks; torch.hub.get_dir() follows $TORCH_HOME), or set "
            'inception_weights=<path> in the FID metric config.')
    return path


def fid_inception_v3(weights_path: Optional[str], seed: int = 0) -> torchvision.models.Inception3:
    """Build pytorch-fid's FID Inception-v3 and load ``weights_path`` (no download).

    Args:
        weights_path: the ``pt_inception-2015-12-05-6726825d.pth`` state dict, or ``None`` for
            random weights (Kaiming-normal convolutions drawn from ``seed``, so that every rank and
            every run builds the same network; the default initialisation makes the features
            vanish and the torchvision one makes them explode, either would make FID meaningless
            even as a relative number).
        seed: the seed of the random weights.

    Returns:
        torchvision.models.Inception3: in eval mode, no parameter requires grad.
    """
    # The constructor initialises layers from the global RNG; building an evaluation network
    # must not shift the training run's random stream.
    with torch.random.fork_rng(devices=[]):
        inception = torchvision.models.inception_v3(
            num_classes=1008, aux_logits=False, weights=None, init_weights=False)
        inception.Mixed_5b = FIDInceptionA(192, pool_features=32)
        inception.Mixed_5c = FIDInceptionA(256, pool_features=64)
        inception.Mixed_5d = FIDInceptionA(288, pool_features=64)
        inception.Mixed_6b = FIDInceptionC(768, channels_7x7=128)
        inception.Mixed_6c = FIDInceptionC(768, channels_7x7=160)
        inception.Mixed_6d = FIDInceptionC(768, channels_7x7=160)
        inception.Mixed_6e = FIDInceptionC(768, channels_7x7=192)
        inception.Mixed_7b = FIDInceptionE_1(1280)
        inception.Mixed_7c = FIDInceptionE_2(2048)
    if weights_path is None:
        generator = torch.Generator().manual_seed(seed)
        for module in inception.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, nonlinearity='relu', generator=generator)
    else:
        inception.load_state_dict(torch.load(weights_path, map_location='cpu', weights_only=True))
    return inception.eval().requires_grad_(False)


class FIDInception(nn.Module):
    """uint8 RGB images in, pytorch-fid's 2048-d pool3 features out.

    This is the default feature extractor of :class:`~colorizer.evaluation.metrics.FID`. Any
    replacement must have the same interface: ``(B, 3, H, W)`` uint8 tensor in, ``(B, D)``
    float tensor out, and a ``cache_tag`` attribute (a string naming what changes the features,
    or ``None`` when features must never be cached).

    Args:
        weights (str, optional): path of the FID weights file (see
            :func:`resolve_inception_weights`), or ``None`` for seeded random weights.
        input_size (int, optional): side of the square the input is resized to; 299 is
            pytorch-fid's ``resize_input=True`` and the only value that gives comparable FIDs.
            ``None`` feeds images at their own size (at least 75 px).
        seed (int): seed of the random weights.

    Attributes:
        min_input_size (int): smallest image side the extractor accepts (1 when it resizes,
            :data:`INCEPTION_MIN_SIZE` when it feeds images at their own size). Replacement
            extractors may declare one too; :class:`~colorizer.evaluation.metrics.FID` checks it.

    Raises:
        ValueError: ``input_size`` is below :data:`INCEPTION_MIN_SIZE`.
    """

    def __init__(self, weights: Optional[str], input_size: Optional[int] = 299,
                 seed: int = 0) -> None:
        super().__init__()
        if input_size is not None and input_size < INCEPTION_MIN_SIZE:
            raise ValueError(f'FID input_size={input_size} is below the {INCEPTION_MIN_SIZE} px '
                             'Inception-v3 accepts; use 299 (pytorch-fid, the only size that '
                             'gives comparable FIDs) or at least 75')
        self.min_input_size = 1 if input_size is not None else INCEPTION_MIN_SIZE
        net = fid_inception_v3(weights, seed)
        # The layer order of pytorch-fid's InceptionV3 blocks 0-3.
        self.blocks = nn.Sequential(
            net.Conv2d_1a_3x3, net.Conv2d_2a_3x3, net.Conv2d_2b_3x3,
            nn.MaxPool2d(kernel_size=3, stride=2),
            net.Conv2d_3b_1x1, net.Conv2d_4a_3x3,
            nn.MaxPool2d(kernel_size=3, stride=2),
            net.Mixed_5b, net.Mixed_5c, net.Mixed_5d, net.Mixed_6a,
            net.Mixed_6b, net.Mixed_6c, net.Mixed_6d, net.Mixed_6e,
            net.Mixed_7a, net.Mixed_7b, net.Mixed_7c,
            nn.AdaptiveAvgPool2d(output_size=(1, 1)))
        self.input_size = input_size
        self.weights = weights
        size = input_size or 'native'
        self.cache_tag = (f'{osp.splitext(osp.basename(weights))[0]}-{size}'
                          if weights is not None else None)
        self.eval().requires_grad_(False)
        if weights is None:
            warnings.warn('FID uses a randomly initialised Inception: the numbers only compare '
                          'with other runs of the same seed, never with published FIDs.')

    def train(self, mode: bool = True) -> 'FIDInception':
        """Stay in eval mode: batch-norm statistics are part of the FID definition."""
        return super().train(False)

    @torch.no_grad()
    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Features of a batch of uint8 RGB images (B, 3, H, W) -> (B, 2048) float32."""
        device = next(self.parameters()).device
        x = images.to(device=device, dtype=torch.float32) / 255.0
        if self.input_size is not None:
            x = F.interpolate(x, size=(self.input_size, self.input_size), mode='bilinear',
                              align_corners=False)
        x = 2 * x - 1
        return self.blocks(x).flatten(1)
