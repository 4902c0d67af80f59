import numpy as np
import torch

from colorizer.datasets.transforms import PackColorizationInputs
from colorizer.structures import ColorizationDataSample


def test_packed_format_matches_design():
    h, w = 8, 6
    results = dict(
        img=np.zeros((h, w, 3), np.uint8),
        target=np.full((h, w, 3), 7, np.uint8),
        sketch=np.full((h, w), 255, np.uint8),
        reference=np.ones((h, w, 3), np.uint8),
        oracle=np.full((h, w, 3), 9, np.uint8),
        labels=np.arange(h * w).reshape(h, w),
        img_path='a.jpg',
        reference_path='b.jpg',
        index=3,
        reference_index=5,
        protocol='random')
    out = PackColorizationInputs()(results)
    assert set(out) == {'inputs', 'data_samples'}
    sketch, ref = out['inputs']['sketch'], out['inputs']['reference']
    assert sketch.shape == (1, h, w) and sketch.dtype == torch.uint8
    assert ref.shape == (3, h, w) and ref.dtype == torch.uint8
    ds = out['data_samples']
    assert isinstance(ds, ColorizationDataSample)
    assert ds.target.shape == (3, h, w) and ds.target.dtype == torch.uint8 and ds.target.max() == 7
    assert ds.oracle.shape == (3, h, w) and ds.labels.dtype == torch.int64
    assert ds.labels.shape == (h, w)
    meta = ds.metainfo
    assert meta['sketch_path'] == 'a.jpg' and meta['reference_path'] == 'b.jpg'
    assert (meta['index'], meta['reference_index'], meta['protocol']) == (3, 5, 'random')
    assert meta['img_shape'] == (h, w)


def test_defaults_without_jitter_or_extras():
    h, w = 4, 4
    out = PackColorizationInputs()(
        dict(img=np.full((h, w, 3), 3, np.uint8), sketch=np.zeros((h, w, 1), np.uint8),
             reference=np.zeros((h, w, 3), np.uint8), img_path='x.png', sample_idx=2))
    ds = out['data_samples']
    assert ds.target.max() == 3  # falls back to img
    assert 'oracle' not in ds and 'labels' not in ds
    meta = ds.metainfo
    assert meta['reference_path'] == 'x.png' and meta['index'] == 2
    assert meta['reference_index'] == 2 and meta['protocol'] == 'train'


def test_read_only_inputs_are_copied():
    img = np.zeros((4, 4, 3), np.uint8)
    img.setflags(write=False)
    sketch = np.zeros((4, 4), np.uint8)
    sketch.setflags(write=False)
    out = PackColorizationInputs()(dict(img=img, sketch=sketch, reference=img))
    out['inputs']['sketch'][0, 0, 0] = 5  # must not touch the read-only source
    assert sketch[0, 0] == 0
