"""Sample grids carry column headers."""
import numpy as np

from colorizer.visualization import make_grid


def test_headers_add_a_title_strip_above_each_column():
    tiles = [[np.zeros((32, 32, 3), np.uint8)] * 4] * 2
    plain = make_grid(tiles)
    titled = make_grid(tiles, headers=['sketch', 'reference', 'output', 'target'])
    strip = titled.shape[0] - plain.shape[0]
    assert strip >= 12 and titled.shape[1] == plain.shape[1]
    np.testing.assert_array_equal(titled[strip:], plain)
    for j in range(4):  # text over every column
        left = 2 + j * 34
        assert (titled[:strip, left:left + 32] < 128).any()
