"""Fixtures of the data tests."""
import pytest
from data_helpers import smooth_image, write_rgb


@pytest.fixture
def image_folder(tmp_path):
    """Five 48 px images, one in a sub-folder, mixed formats."""
    root = tmp_path / 'images'
    (root / 'sub').mkdir(parents=True)
    names = ['a.jpg', 'b.png', 'c.jpg', 'sub/d.png', 'sub/e.jpg']
    for i, name in enumerate(names):
        write_rgb(root / name, smooth_image(48, seed=i))
    return root
