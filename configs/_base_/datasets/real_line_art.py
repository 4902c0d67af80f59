# Real artists' line art (Debian's public-domain openclipart-svg, converted by
# tools/dataset_converters/openclipart_line_art.py). Every split is the self-reference protocol
# with an exact target: the sketch is the artist's line art, the reference the same drawing in a
# random palette (one new colour per original fill colour), TPS-warped, and the target the line
# art in that palette. Training draws a new palette per sample and iteration; validation and
# test draw a fixed one per drawing (pairing_seed). Splits: colorizer/datasets/splits/
# openclipart_line_art.json (test and validation drawings never share an artist's series or a
# near-duplicate with training). `--data-root DIR` reaches every dataset below.
data_root = 'data/openclipart_line_art'
img_size = 64
dataset_type = 'LineArtDataset'

train_pipeline = [
    dict(type='RandomFlip', prob=0.5),
    dict(type='TPSWarp', strength=0.25, num_points=2),
    dict(type='PackColorizationInputs'),
]
val_pipeline = [
    dict(type='TPSWarp', strength=0.25, num_points=2),
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
        data_root=data_root,
        split='train',
        img_size=img_size,
        mode='train',
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
        data_root=data_root,
        split='val',
        img_size=img_size,
        mode='self_reference',
        pairing_seed=0,
        test_mode=True,
        pipeline=val_pipeline))
test_dataloader = dict(val_dataloader, dataset=dict(val_dataloader['dataset'], split='test'))

# Segment accuracy over the drawn shapes (the paper, label 0, is not scored), with SSIM / PSNR
# against the exact target, and the correspondence statistics of the cross map against the SVG
# shapes (corr/region_mass vs corr/region_chance over the drawn shapes' tokens, the paper left
# out). The method configs build the model with correspondence_outputs=True, so that val_step
# and test_step attach the maps these statistics read.
val_evaluator = [
    dict(type='SegmentAccuracy', ignore_index=0),
    dict(type='SSIM'),
    dict(type='PSNR'),
    dict(type='CorrespondenceMetric', ignore_index=0),
]
test_evaluator = val_evaluator
