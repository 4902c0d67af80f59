"""Region labels of the reference: drawn with it (random reference) or warped with it (TPS)."""
import cv2
import numpy as np
import torch

from colorizer.datasets import SyntheticToonDataset
from colorizer.datasets.transforms import PackColorizationInputs, TPSWarp
from colorizer.models.data_preprocessors.colorization_data_preprocessor import \
    ColorizationDataPreprocessor
from mmengine.dataset import pseudo_collate

PIPELINE = [dict(type='XDoG'), dict(type='TPSWarp'), dict(type='PackColorizationInputs')]


def _mode_color(img, mask):
    # well inside the region: the warp's bilinear sampling blends colours near the outlines
    inner = cv2.erode(mask.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    if inner.sum() < 20:
        return None
    colors, counts = np.unique(img[inner].reshape(-1, 3), axis=0, return_counts=True)
    return tuple(colors[counts.argmax()])


def _regions_match_colours(image, labels, palette):
    """Every region of ``labels`` with interior pixels shows its palette colour in ``image``."""
    checked = 0
    for region in np.unique(labels):
        color = _mode_color(image, labels == region)
        if color is None:
            continue
        assert color == tuple(palette[region]), region
        checked += 1
    return checked


def test_random_reference_carries_the_references_labels():
    ds = SyntheticToonDataset(img_size=64, length=4, mode='random_reference', pipeline=PIPELINE)
    for i in range(len(ds)):
        sample = ds[i]['data_samples']
        j = sample.metainfo['reference_index']
        _, expected = ds.render(ds.geometry(j), ds.palette(j))
        assert sample.reference_labels.dtype == torch.int64
        np.testing.assert_array_equal(sample.reference_labels.numpy(), expected)


def test_training_reference_labels_are_warped_with_the_reference():
    # no colour jitter: the reference shows the palette itself, region by region
    ds = SyntheticToonDataset(img_size=64, length=6, mode='train', deterministic=True,
                              pipeline=PIPELINE)
    for i in range(len(ds)):
        out = ds[i]
        sample = out['data_samples']
        reference = out['inputs']['reference'].numpy().transpose(1, 2, 0)
        labels, ref_labels = sample.labels.numpy(), sample.reference_labels.numpy()
        assert ref_labels.shape == labels.shape
        assert not np.array_equal(labels, ref_labels)  # moved with the pixels
        assert _regions_match_colours(reference, ref_labels, ds.palette(i)) >= 3


def test_tps_warp_moves_labels_by_nearest_with_the_image_map():
    size = 48
    labels = (np.arange(size)[:, None] // 12 * 4 + np.arange(size)[None, :] // 12).astype(np.int64)
    image = np.repeat((labels * 15).astype(np.uint8)[..., None], 3, axis=2)
    out = TPSWarp(strength=0.25)(dict(target=image, labels=labels, sample_seed=7))
    ref, ref_labels = out['reference'], out['reference_labels']
    assert ref_labels.dtype == np.int64 and ref_labels.shape == labels.shape
    assert set(np.unique(ref_labels)) <= set(np.unique(labels))  # ids never blend
    assert not np.array_equal(ref_labels, labels)
    # the same map: away from region borders the warped image shows the warped labels' grey
    # (at the borders the image is interpolated bilinearly, the labels are not)
    kernel = np.ones((3, 3), np.uint8)
    low = cv2.erode(ref_labels.astype(np.uint8), kernel)
    high = cv2.dilate(ref_labels.astype(np.uint8), kernel)
    interior = low == high
    agree = np.abs(ref[..., 0].astype(int) - ref_labels * 15) <= 1
    assert interior.mean() > 0.5 and agree[interior].mean() > 0.99


def test_tps_warp_labels_without_warp_and_switched_off():
    labels = np.arange(64).reshape(8, 8)
    image = np.zeros((8, 8, 3), np.uint8)
    out = TPSWarp(prob=0.0)(dict(target=image, labels=labels))
    np.testing.assert_array_equal(out['reference_labels'], labels)
    out = TPSWarp(label_keys=None)(dict(target=image, labels=labels))
    assert 'reference_labels' not in out


def test_pack_and_preprocessor_batch_both_label_maps():
    packed = [PackColorizationInputs()(dict(
        img=np.zeros((8, 8, 3), np.uint8), sketch=np.zeros((8, 8), np.uint8),
        reference=np.zeros((8, 8, 3), np.uint8), labels=np.full((8, 8), k),
        reference_labels=np.full((8, 8), k + 1))) for k in range(2)]
    assert packed[0]['data_samples'].reference_labels.dtype == torch.int64
    batch = ColorizationDataPreprocessor()(pseudo_collate(packed))['inputs']
    assert batch['sketch_labels'].shape == (2, 8, 8)
    assert batch['reference_labels'][1].unique().tolist() == [2]
    # samples without labels: no label entries
    for sample in packed:
        del sample['data_samples'].labels
    assert 'sketch_labels' not in ColorizationDataPreprocessor()(pseudo_collate(packed))['inputs']
