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


def header_row(headers: Sequence[str], width: int, padding: int, fill: int = 255,
               height: int = 0) -> np.ndarray:
    """A strip of column titles, one centred label per ``width``-pixel column.

    Args:
        headers: Column titles.
        width: Column width in pixels (the tiles' width).
        padding: Pixels between the columns (as in :func:`make_grid`).
        fill: Background value.
        height: Strip height; default: fits the font (12 px or more).

    Returns:
        (h, len(headers) * (width + padding) + padding, 3) uint8, dark text on ``fill``.
    """
    font, scale, thickness = cv2.FONT_HERSHEY_SIMPLEX, 0.35, 1
    text_h = cv2.getTextSize('Ag', font, scale, thickness)[0][1]
    height = height or max(12, text_h + 6)
    strip = np.full((height, len(headers) * (width + padding) + padding, 3), fill, np.uint8)
    for j, text in enumerate(headers):
        # shrink a title that is wider than its column
        size = scale
        tw = cv2.getTextSize(text, font, size, thickness)[0][0]
        if tw > width and tw > 0:
            size = max(0.2, size * width / tw)
            tw = cv2.getTextSize(text, font, size, thickness)[0][0]
        left = padding + j * (width + padding) + max(0, (width - tw) // 2)
        cv2.putText(strip, text, (left, height - 4), font, size, (40, 40, 40), thickness,
                    cv2.LINE_AA)
    return strip


def make_grid(rows: Sequence[Sequence[np.ndarray]], padding: int = 2,
              fill: int = 255, headers: Sequence[str] = ()) -> np.ndarray:
    """Tile equally sized (H, W, 3) uint8 images into one image, row by row.

    Args:
        rows: ``rows[i][j]`` is the image at row i, column j (rows may have different lengths).
        padding (int): Pixels of ``fill`` between and around the images.
        fill (int): Value of the padding.
        headers: Column titles written above the first row (e.g. ``sketch``, ``reference``,
            ``output``, ``target``); none by default.

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
    if headers:
        strip = header_row(headers, width, padding, fill)
        if strip.shape[1] < grid.shape[1]:
            strip = np.pad(strip, ((0, 0), (0, grid.shape[1] - strip.shape[1]), (0, 0)),
                           constant_values=fill)
        grid = np.concatenate([strip[:, :grid.shape[1]], grid], axis=0)
    return grid


def save_image(path: str, image: np.ndarray) -> None:
    """Write an (H, W, 3) RGB uint8 array as PNG/JPEG, creating the folder."""
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    if not cv2.imwrite(path, cv2.cvtColor(image, cv2.COLOR_RGB2BGR)):
        raise OSError(f'could not write image {path}')
