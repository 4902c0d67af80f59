# The embedded demo data: procedurally drawn cartoon characters (no files, no download), 64 px,
# small enough to train a small model on a laptop CPU in minutes. Validation and test use the
# random-reference protocol with an `oracle` (the true colourisation) and region `labels`.
img_size = 64
dataset_type = 'SyntheticToonDataset'

train_pipeline = [
    dict(type='RandomFlip', prob=0.5),
    dict(type='ColorJitter', brightness=0.2, contrast=0.2, saturation=0.2, hue=0.05),
    dict(type='XDoG', sigmas=(0.3, 0.4, 0.5)),  # skipped when the dataset has sketch='outline'
    dict(type='TPSWarp', strength=0.25, num_points=2),
    dict(type='PackColorizationInputs'),
]
val_pipeline = [
    dict(type='XDoG', sigmas=(0.3, 0.4, 0.5)),
    dict(type='TPSWarp', strength=0.25, num_points=2),  # only used by the self-reference protocol
    dict(type='PackColorizationInputs'),
]

train_dataloader = dict(
    batch_size=16,
    num_workers=1,
    persistent_workers=True,
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(
        type=dataset_type,
        img_size=img_size,
        length=2000,
        seed=0,
        mode='train',
        sketch='xdog',
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=16,
    num_workers=1,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(
        type=dataset_type,
        img_size=img_size,
        length=64,
        seed=1,  # other characters than the training set's
        mode='random_reference',
        pairing_seed=0,
        sketch='xdog',
        test_mode=True,
        pipeline=val_pipeline))
# Test: other characters again (seed 2), so the best checkpoint is never chosen on test data.
test_dataloader = dict(val_dataloader, dataset=dict(val_dataloader['dataset'], seed=2))
