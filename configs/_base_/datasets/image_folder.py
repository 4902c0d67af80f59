# Any folder of colour images (jpg, jpeg, png, webp, bmp; sub-folders included) at a small size.
# Training and validation both come from `data_root`: a seeded 10% is held out for validation
# (and for tools/test.py), never trained on. Give a separate test folder with
# --cfg-options test_dataloader.dataset.data_root=DIR test_dataloader.dataset.holdout=0
# test_dataloader.dataset.holdout_part=rest.
# `--data-root DIR` (or `--cfg-options data_root=DIR`) reaches every dataset below, and
# `--cfg-options img_size=N` every size (colorizer/engine/propagated_options.py).
data_root = 'data/my_images'
img_size = 64
dataset_type = 'ColorizationDataset'

train_pipeline = [
    dict(type='LoadColorImage'),
    dict(type='LoadSketch'),  # no-op unless the dataset has a sketch_root
    dict(type='RandomResizedCrop', size=img_size, scale=(0.5, 1.0), ratio=(0.9, 1.1)),
    dict(type='RandomFlip', prob=0.5),
    # target = jitter(img); the sketch below is drawn from the un-jittered image (authors).
    dict(type='ColorJitter', brightness=0.2, contrast=0.2, saturation=0.2, hue=0.05),
    dict(type='XDoG', sigmas=(0.3, 0.4, 0.5)),
    dict(type='TPSWarp', strength=0.25, num_points=2),
    dict(type='PackColorizationInputs'),
]
# Images may not be square: resize the short side and crop the centre.
val_pipeline = [
    dict(type='LoadColorImage'),
    dict(type='LoadSketch'),
    dict(type='CenterCrop', size=img_size),
    dict(type='XDoG', sigmas=(0.3, 0.4, 0.5)),
    dict(type='TPSWarp', strength=0.25, num_points=2),  # only used by the self-reference protocol
    dict(type='PackColorizationInputs'),
]

train_dataloader = dict(
    batch_size=16,
    num_workers=1,
    persistent_workers=True,
    drop_last=True,  # a last batch of one would break BatchNorm
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        mode='train',
        holdout=0.1,
        holdout_part='rest',
        on_bad_image='skip',  # a folder gathered by hand may hold a broken file
        pipeline=train_pipeline))
# Random-reference protocol (paper §4.1): sketch i coloured with the image of another held-out
# sample; SSIM / PSNR against image i. Needs at least two held-out images (20 in the folder).
val_dataloader = dict(
    batch_size=16,
    num_workers=1,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        holdout=0.1,
        holdout_part='holdout',
        mode='random_reference',
        pairing_seed=0,
        test_mode=True,
        pipeline=val_pipeline))
test_dataloader = val_dataloader
