# A small real-photo set from the colour photos bundled with scikit-image (astronaut, chelsea,
# coffee, rocket, motorcycle, hubble_deep_field, immunohistochemistry; no download), 128 px
# random crops. For smoke tests on real photos; far too small to learn colourisation from.
img_size = 128
dataset_type = 'SkimagePhotoDataset'

train_pipeline = [
    dict(type='RandomResizedCrop', size=img_size, scale=(0.2, 1.0), ratio=(0.9, 1.1)),
    dict(type='RandomFlip', prob=0.5),
    dict(type='ColorJitter', brightness=0.2, contrast=0.2, saturation=0.2, hue=0.05),
    dict(type='XDoG', sigmas=(0.3, 0.4, 0.5)),
    dict(type='TPSWarp', strength=0.25, num_points=2),
    dict(type='PackColorizationInputs'),
]
# Evaluation crops are seeded per sample (the dataset is deterministic outside 'train').
val_pipeline = [
    dict(type='RandomResizedCrop', size=img_size, scale=(0.2, 1.0), ratio=(0.9, 1.1)),
    dict(type='XDoG', sigmas=(0.3, 0.4, 0.5)),
    dict(type='TPSWarp', strength=0.25, num_points=2),  # only used by the self-reference protocol
    dict(type='PackColorizationInputs'),
]

train_dataloader = dict(
    batch_size=8,
    num_workers=1,
    persistent_workers=True,
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(type=dataset_type, length=512, mode='train', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8,
    num_workers=1,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(
        type=dataset_type,
        length=28,
        mode='random_reference',
        pairing_seed=0,
        test_mode=True,
        pipeline=val_pipeline))
# Same photos for test as for val: this set has no held-out split.
test_dataloader = val_dataloader
