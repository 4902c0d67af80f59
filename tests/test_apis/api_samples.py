"""Test images and helpers shared by the inference tests."""
import importlib.util
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[2]


def load_tool(relative_path: str):
    """Import a script under tools/ as a module (the tools folder is no package)."""
    path = ROOT / 'tools' / relative_path
    spec = importlib.util.spec_from_file_location(f'_tool_{path.stem}', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def line_drawing(height: int, width: int) -> np.ndarray:
    """A gray (H, W) uint8 line art: an ellipse and a cross on white paper."""
    image = np.full((height, width), 255, np.uint8)
    center = (width // 2, height // 2)
    cv2.ellipse(image, center, (width // 3, height // 3), 0, 0, 360, 0, max(1, height // 40))
    cv2.line(image, (0, 0), (width - 1, height - 1), 0, max(1, height // 60))
    return image


def color_picture(height: int, width: int, seed: int = 0) -> np.ndarray:
    """An (H, W, 3) uint8 RGB picture of flat coloured blobs."""
    rng = np.random.default_rng(seed)
    image = np.full((height, width, 3), rng.integers(0, 256, 3), np.uint8)
    for _ in range(4):
        center = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        radius = int(rng.integers(max(2, min(height, width) // 8), max(3, min(height, width) // 3)))
        cv2.circle(image, center, radius, tuple(int(v) for v in rng.integers(0, 256, 3)), -1)
    return image


def write_png(path, image: np.ndarray) -> str:
    """Write an RGB / RGBA / gray uint8 array as PNG (channels in RGB order)."""
    if image.ndim == 3 and image.shape[2] == 3:
        image = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    elif image.ndim == 3 and image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_RGBA2BGRA)
    assert cv2.imwrite(str(path), image)
    return str(path)
