import numpy as np
from data_helpers import smooth_image

from colorizer.datasets.transforms import ColorJitter


def test_target_is_jittered_and_img_untouched():
    img = smooth_image(32)
    keep = img.copy()
    out = ColorJitter(brightness=0.4, contrast=0.4, saturation=0.4, hue=0.1)(dict(img=img))
    np.testing.assert_array_equal(out['img'], keep)
    assert out['target'].shape == img.shape and out['target'].dtype == np.uint8
    assert np.abs(out['target'].astype(int) - img).mean() > 1


def test_zero_jitter_is_identity():
    img = smooth_image(16)
    out = ColorJitter(brightness=0, contrast=0, saturation=0, hue=0)(dict(img=img))
    assert np.abs(out['target'].astype(int) - img).max() <= 1


def test_prob_zero_copies():
    img = smooth_image(16)
    out = ColorJitter(prob=0.0)(dict(img=img))
    np.testing.assert_array_equal(out['target'], img)
    assert out['target'] is not img


def test_supplied_reference_gets_its_own_draw_and_seed_is_deterministic():
    img = smooth_image(16)
    t = ColorJitter(brightness=0.5, hue=0.2)
    a = t(dict(img=img, reference=img, sample_seed=1))
    b = t(dict(img=img, reference=img, sample_seed=1))
    np.testing.assert_array_equal(a['target'], b['target'])
    np.testing.assert_array_equal(a['reference'], b['reference'])
    assert not np.array_equal(a['target'], a['reference'])
    off = ColorJitter(jitter_reference=False)(dict(img=img, reference=img))
    assert off['reference'] is img
