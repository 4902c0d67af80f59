# Correspondence-trained SGA on the embedded demo data (beyond the paper): SGA's block and
# stop-gradient, with a cross map over cosine similarities (CosineMatchSGA) that a region
# InfoNCE loss on the encoder tokens trains, and palette-swapped references for half of the
# training samples (another character in the sample's palette, so colours must be found by
# region, not copied in place). Everything else is configs/sga/sga_demo.py.
_base_ = ['../sga/sga_demo.py']
method = 'CorrSGA'
model = dict(
    generator=dict(attention=dict(type='CosineMatchSGA', temperature=0.1)),
    correspondence_loss=dict(type='RegionInfoNCELoss', loss_weight=1.0, temperature=0.1,
                             positives='region'))
train_pipeline = [
    dict(type='RandomFlip', prob=0.5),
    # no jitter: a jittered target would no longer match a palette-swapped reference
    dict(type='ColorJitter', prob=0.0, jitter_reference=False),
    dict(type='XDoG', sigmas=(0.3, 0.4, 0.5)),
    dict(type='TPSWarp', strength=0.25, num_points=2),  # leaves swapped references alone
    dict(type='PackColorizationInputs'),
]
train_dataloader = dict(dataset=dict(random_reference_prob=0.5, pipeline=train_pipeline))
