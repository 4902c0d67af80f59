# Ablation: the paper's self-reference training triples only (TPS-warped references, colour
# jitter as in configs/_base_/datasets/synthetic_toon.py), no palette-swapped references.
_base_ = ['./corr_sga_demo.py']
method = 'CorrSGA w/o palette swap'
train_pipeline = [
    dict(type='RandomFlip', prob=0.5),
    dict(type='ColorJitter', brightness=0.2, contrast=0.2, saturation=0.2, hue=0.05),
    dict(type='XDoG', sigmas=(0.3, 0.4, 0.5)),
    dict(type='TPSWarp', strength=0.25, num_points=2),
    dict(type='PackColorizationInputs'),
]
train_dataloader = dict(dataset=dict(random_reference_prob=0.0, pipeline=train_pipeline))
