"""Helpers of the data tests: tiny natural-looking images."""
import cv2
import numpy as np


def smooth_image(size=48, seed=0) -> np.ndarray:
    """A natural-looking uint8 RGB image: blurred noise plus a few flat shapes with edges."""
    rng = np.random.default_rng(seed)
    img = cv2.GaussianBlur(rng.uniform(0, 255, (size, size, 3)).astype(np.float32), (0, 0), 3)
    img = cv2.normalize(img, None, 40, 220, cv2.NORM_MINMAX)
    for _ in range(3):
        center = tuple(int(c) for c in rng.integers(0, size, 2))
        color = tuple(int(c) for c in rng.integers(0, 255, 3))
        cv2.circle(img, center, int(rng.integers(1, max(2, size // 3))), color, -1)
    return img.astype(np.uint8)


def write_rgb(path, img, **params) -> str:
    """Write an RGB image with OpenCV (which expects BGR)."""
    flags = [cv2.IMWRITE_JPEG_QUALITY, 95] if str(path).endswith('.jpg') else []
    assert cv2.imwrite(str(path), cv2.cvtColor(img, cv2.COLOR_RGB2BGR), flags)
    return str(path)
