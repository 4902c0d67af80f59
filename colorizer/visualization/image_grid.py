"""Image grids for people to look at: sketch | reference | output | target."""
import os
import os.path as osp
from typing import Sequence

import cv2
import numpy as np
import torch


def tensor_to_image(image: torch.Tensor) -> np.ndarray:
    """A (C, H, W) tensor, uint8 or float in [-1, 1], to an (H, W, 3) uint8 RGB array."""
    image = image.detach().cpu()
    if image.dtype != torch.uint8:
        image = ((image.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    array = image.permute(1, 2, 0).numpy()
    return np.repeat(array, 3, axis=2) if array.shape[2] == 1 else array


def make_grid(rows: Sequence[Sequence[np.ndarray]], padding: int = 2,
              fill: int = 255) -> np.ndarray:
    """Tile equally sized (H, W, 3) uint8 images into one image, row by row.

    Args:
        rows: ``rows[i][j]`` is the image at row i, column j (rows may have different lengths).
        padding (int): Pixels of ``fill`` between and around the images.
        fill (int): Value of the padding.

    Returns:
        np.ndarray: The grid, (H', W', 3) uint8.
    """
    height, width = rows[0][0].shape[:2]
    num_cols = max(len(row) for row in rows)
    grid = np.full((len(rows) * (height + padding) + padding,
                    num_cols * (width + padding) + padding, 3), fill, np.uint8)
    for i, row in enumerate(rows):
        for j, image in enumerate(row):
            if image.shape[:2] != (height, width):
                image = cv2.resize(image, (width, height), interpolation=cv2.INTER_NEAREST)
            if image.ndim == 2:
                image = np.repeat(image[..., None], 3, axis=2)
            top, left = padding + i * (height + padding), padding + j * (width + padding)
            grid[top:top + height, left:left + width] = image
    return grid


def save_image(path: str, image: np.ndarray) -> None:
    """Write an (H, W, 3) RGB uint8 array as PNG/JPEG, creating the folder."""
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    if not cv2.imwrite(path, cv2.cvtColor(image, cv2.COLOR_RGB2BGR)):
        raise OSError(f'could not write image {path}')
