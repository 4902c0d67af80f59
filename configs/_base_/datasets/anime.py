# Anime portraits (the paper's "anime" set: 33 323 train / 1000 eval images), trained and
# evaluated at 256 px. Put the images under data/anime/train and data/anime/val (any sub-folder
# layout; jpg, jpeg, png, webp, bmp). The paper evaluates on the val folder:
# here that is the test split; validation uses a held-out 5% of the train folder.
data_root = 'data/anime'
img_size = 256
dataset_type = 'ColorizationDataset'

# The paper's training pipeline, as in the authors' code: every image is resized to
# 256 x 256 px and nothing else (no crop, no flip): sketch = XDoG(img), target = jitter(img),
# reference = TPS(target) (paper §3.1).
train_pipeline = [
    # JPEGs are decoded at the smallest DCT scale (1/2, 1/4, 1/8) still >= 256 px: a 512 px
    # AFHQ image is decoded at 256 px directly (the resize below is then a no-op).
    dict(type='LoadColorImage', min_size=img_size),
    dict(type='LoadSketch'),  # no-op unless the dataset has a sketch_root
    dict(type='Resize', size=img_size),
    # target = jitter(img); the sketch below is drawn from the un-jittered image (authors).
    dict(type='ColorJitter', brightness=0.2, contrast=0.2, saturation=0.2, hue=0.05),
    dict(type='XDoG', sigmas=(0.3, 0.4, 0.5)),
    dict(type='TPSWarp', strength=0.25, num_points=2),
    dict(type='PackColorizationInputs'),
]
# Opt-in augmentation, NOT in the paper: random crops of 50-100% of the image resized to
# 256 px, and horizontal flips, in place of the plain resize. To train with it, a config of
# your own:
#     _base_ = ['../sga/sga_anime.py']    # (path relative to your config)
#     train_dataloader = dict(dataset=dict(pipeline={{_base_._augmented_train_pipeline}}))
_augmentation = [
    dict(type='RandomResizedCrop', size=img_size, scale=(0.5, 1.0), ratio=(0.9, 1.1)),
    dict(type='RandomFlip', prob=0.5),
]
# The crop needs the full resolution of its window: full-size decode.
_augmented_train_pipeline = [dict(type='LoadColorImage'), *train_pipeline[1:2], *_augmentation,
                             *train_pipeline[3:]]
# Portraits may not be square: resize the short side and crop the centre.
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
    num_workers=8,
    persistent_workers=True,
    drop_last=True,  # a last batch of one would break BatchNorm
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=f'{data_root}/train',
        mode='train',
        holdout=0.05,  # 5% of the training images are kept out for validation (below)
        holdout_part='rest',
        on_bad_image='skip',  # large scraped sets contain a few broken files
        pipeline=train_pipeline))
# Validation (best-checkpoint choice) uses the 5% of the training images held out above, never
# the test images: the authors' evaluation script scored every checkpoint on the test split and kept
# the best, which selects on test data.
# The paper trained on every training image; set holdout=0 in train_dataloader and drop the
# validation to reproduce that exactly.
val_dataloader = dict(
    batch_size=16,
    num_workers=8,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=f'{data_root}/train',
        holdout=0.05,
        holdout_part='holdout',
        mode='random_reference',
        pairing_seed=0,
        test_mode=True,
        pipeline=val_pipeline))
# Test (tools/test.py only): the paper's evaluation folder, whole, same protocol and loader.
test_dataloader = dict(
    val_dataloader,
    dataset=dict(val_dataloader['dataset'], data_root=f'{data_root}/val', holdout=0.0,
                 holdout_part='rest'))
