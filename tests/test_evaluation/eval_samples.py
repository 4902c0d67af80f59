"""Small data samples and a cheap FID feature extractor shared by the evaluation tests."""
import numpy as np
import torch
import torch.nn.functional as F

from colorizer.structures.colorization_data_sample import ColorizationDataSample


class TinyFeatures:
    """Deterministic FID stand-in: 4×4 average-pooled colours and their squares (96-d).

    Counts the images it sees, so tests can tell whether real features were recomputed.
    """

    cache_tag = 'tiny-v1'

    def __init__(self) -> None:
        self.images_seen = 0

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        self.images_seen += len(images)
        x = F.adaptive_avg_pool2d(images.float() / 255.0, 4).flatten(1)
        return torch.cat([x, x ** 2], dim=1)


def random_images(n: int, size: int = 32, seed: int = 0) -> torch.Tensor:
    """n smooth random uint8 RGB images (n, 3, size, size)."""
    generator = torch.Generator().manual_seed(seed)
    low = torch.rand(n, 3, 4, 4, generator=generator)
    images = F.interpolate(low, size=(size, size), mode='bilinear', align_corners=False)
    noise = 0.1 * torch.rand(n, 3, size, size, generator=generator)
    return ((images * 0.9 + noise) * 255).round().clamp(0, 255).to(torch.uint8)


def make_samples(outputs: torch.Tensor, targets: torch.Tensor, protocol: str = 'random',
                 as_dict: bool = False) -> list:
    """Data samples with ``output`` and ``target`` (and the metainfo the metrics read)."""
    samples = []
    for i, (output, target) in enumerate(zip(outputs, targets)):
        meta = dict(index=i, sketch_path=f'img_{i:03d}.png', protocol=protocol,
                    img_shape=tuple(target.shape[1:]))
        if as_dict:
            samples.append(dict(output=output, target=target, **meta))
        else:
            samples.append(ColorizationDataSample(output=output, target=target, metainfo=meta))
    return samples


def shifted(images: torch.Tensor, amount: int) -> torch.Tensor:
    """Images brightened by ``amount`` grey levels (saturating)."""
    return (images.int() + amount).clamp(0, 255).to(torch.uint8)


def region_sample(palette: np.ndarray, output_palette: np.ndarray, size: int = 16,
                  as_dict: bool = False):
    """A synthetic sample with three vertical stripe regions.

    ``oracle`` paints region r with ``palette[r]``, ``output`` with ``output_palette[r]``.
    """
    labels = np.repeat(np.arange(3), [size // 3, size // 3, size - 2 * (size // 3)])
    labels = np.tile(labels, (size, 1))
    oracle = torch.from_numpy(palette[labels].astype(np.uint8)).permute(2, 0, 1)
    output = torch.from_numpy(output_palette[labels].astype(np.uint8)).permute(2, 0, 1)
    fields = dict(output=output, oracle=oracle, target=oracle.clone(),
                  labels=torch.from_numpy(labels.astype(np.int64)))
    meta = dict(index=0, protocol='random')
    if as_dict:
        return dict(fields, metainfo=meta)
    return ColorizationDataSample(metainfo=meta, **fields)
