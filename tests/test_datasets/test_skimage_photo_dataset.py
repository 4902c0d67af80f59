import torch

from colorizer.datasets import SkimagePhotoDataset

PIPELINE = [
    dict(type='RandomResizedCrop', size=32, scale=(0.3, 1.0)),
    dict(type='XDoG'),
    dict(type='TPSWarp'),
    dict(type='PackColorizationInputs'),
]


def test_train_mode():
    ds = SkimagePhotoDataset(length=4, photos=('astronaut', 'coffee'), pipeline=PIPELINE)
    assert len(ds) == 4
    sample = ds[1]
    assert sample['inputs']['sketch'].shape == (1, 32, 32)
    assert sample['data_samples'].target.shape == (3, 32, 32)
    assert sample['data_samples'].metainfo['protocol'] == 'train'


def test_random_reference_uses_another_photo_and_is_deterministic():
    ds = SkimagePhotoDataset(length=6, photos=('astronaut', 'coffee', 'chelsea'),
                             mode='random_reference', pipeline=PIPELINE)
    for i in range(len(ds)):
        j = ds[i]['data_samples'].metainfo['reference_index']
        assert ds.get_data_info(j)['photo'] != ds.get_data_info(i)['photo']
    a, b = ds[4], ds[4]
    assert torch.equal(a['inputs']['reference'], b['inputs']['reference'])
    assert torch.equal(a['inputs']['sketch'], b['inputs']['sketch'])


def test_default_photos_available():
    ds = SkimagePhotoDataset(length=2, pipeline=[])
    assert len(ds.photo_names) >= 4
