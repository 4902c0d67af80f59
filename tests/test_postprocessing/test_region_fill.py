"""Region fill: trapped-ball segmentation and one robust colour per closed region."""
import numpy as np
import pytest
from skimage.color import rgb2lab

from colorizer.postprocessing import LINE, RegionFill, segment_regions


def _square_drawing(size=32, gap=0):
    """White paper, a 1 px black square outline from (8, 8) to (23, 23); ``gap`` pixels of
    its right side left open."""
    art = np.full((size, size), 255, np.uint8)
    art[8, 8:24] = art[23, 8:24] = 0
    art[8:24, 8] = art[8:24, 23] = 0
    if gap:
        art[14:14 + gap, 23] = 255
    return art


def test_closed_square_gives_inside_and_outside_exactly():
    art = _square_drawing()
    labels = segment_regions(art, gap_radius=1)
    assert (labels[art == 0] == LINE).all()
    inside, outside = labels[15, 15], labels[2, 2]
    assert inside != outside and inside >= 0 and outside >= 0
    expected_inside = np.zeros_like(art, bool)
    expected_inside[9:23, 9:23] = True
    assert ((labels == inside) == expected_inside).all()
    assert ((labels == outside) == ((art == 255) & ~expected_inside)).all()
    assert set(np.unique(labels)) == {LINE, 0, 1}


@pytest.mark.parametrize('gap', [1, 2])
def test_a_gap_of_one_or_two_pixels_is_closed(gap):
    art = _square_drawing(gap=gap)
    # plain flood fill leaks through the gap: one region
    assert len(np.unique(segment_regions(art, gap_radius=0)[art == 255])) == 1
    labels = segment_regions(art, gap_radius=1)
    assert labels[15, 15] != labels[2, 2]
    # the gap pixels belong to one side or the other, not to the line
    assert (labels[14:14 + gap, 23] >= 0).all()


def test_narrow_region_below_the_ball_is_still_a_region():
    art = np.full((20, 20), 255, np.uint8)
    art[:, 5] = art[:, 8] = 0  # a 2 px wide closed strip between two lines
    labels = segment_regions(art, gap_radius=2)
    strip = np.unique(labels[:, 6:8])
    assert len(strip) == 1 and strip[0] >= 0
    assert strip[0] not in (labels[0, 0], labels[0, 15])


def test_fill_gives_each_closed_region_its_median_colour():
    art = _square_drawing()
    rng = np.random.default_rng(0)
    out = np.zeros((32, 32, 3), np.uint8)
    out[:] = (200, 40, 40)
    out[9:23, 9:23] = (30, 160, 60)
    noisy = out.copy()
    # 10% salt inside the square: the median ignores it
    salt = rng.random((32, 32)) < 0.1
    noisy[salt] = (255, 255, 0)
    fill = RegionFill(gap_radius=1, max_region_share=1.0)
    result = fill(noisy, art)
    inside = result[9:23, 9:23].reshape(-1, 3)
    assert (np.abs(inside.astype(int) - (30, 160, 60)) <= 1).all()
    assert (np.abs(result[2, 2].astype(int) - (200, 40, 40)) <= 1).all()
    # line pixels keep the network's output
    assert (result[art == 0] == noisy[art == 0]).all()


def test_open_drawing_does_not_paint_a_large_mixed_region_with_one_colour():
    # one open curve: the paper is one big region (over the share), half red half blue output
    art = np.full((40, 40), 255, np.uint8)
    art[20, 5:30] = 0
    out = np.zeros((40, 40, 3), np.uint8)
    out[:20] = (220, 30, 30)
    out[20:] = (30, 30, 220)
    result = RegionFill(gap_radius=1, max_region_share=0.3)(out, art)
    assert (result == out).all()
    # the same region, uniformly coloured by the network, is filled (guard passes)
    out[:] = (220, 30, 30)
    out[30, 30] = (0, 255, 0)
    result = RegionFill(gap_radius=1, max_region_share=0.3)(out, art)
    assert tuple(result[30, 30]) != (0, 255, 0)


def test_fill_colour_is_the_lab_median():
    art = np.full((10, 10), 255, np.uint8)
    out = np.zeros((10, 10, 3), np.uint8)
    out[:, :4] = (250, 0, 0)
    out[:, 4:] = (0, 0, 250)  # the majority
    result = RegionFill(gap_radius=0, max_region_share=1.0, uniform_tolerance=1e9)(out, art)
    lab = rgb2lab(result[0, 0][None, None] / 255.0)[0, 0]
    expected = np.median(rgb2lab(out / 255.0).reshape(-1, 3), axis=0)
    assert np.allclose(lab, expected, atol=1.0)


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match='differ in size'):
        RegionFill()(np.zeros((8, 8, 3), np.uint8), np.zeros((9, 9), np.uint8))
    with pytest.raises(TypeError, match='uint8'):
        segment_regions(np.zeros((8, 8), np.float32))
    with pytest.raises(ValueError, match='max_region_share'):
        RegionFill(max_region_share=0)
