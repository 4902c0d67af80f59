# The demo's small SGA model trained on YOUR folder of colour images, no pretrained weights:
#   python tools/train.py configs/sga/sga_folder.py --data-root MY_DIR
#   python tools/test.py configs/sga/sga_folder.py work_dirs/sga_folder/iter_1500.pth \
#       --data-root MY_DIR
# 64 px (set --cfg-options img_size=128 for more detail, about 4x slower). The sketches are drawn
# by XDoG from the images; validation colours each held-out sketch with another held-out image
# as reference (random-reference protocol) and scores SSIM / PSNR against the original image.
# FID would need the Inception weights and the demo's RegionColorError needs the synthetic
# set's oracle renderings; neither exists for a folder.
_base_ = [
    '../_base_/models/sga.py',
    '../_base_/datasets/image_folder.py',
    '../_base_/default_runtime.py',
]
method = 'SGA'
dataset_name = 'image_folder'

model = dict(
    # As configs/sga/sga_demo.py: 64 px with 4 levels, 8x8 attention tokens of 120 channels.
    generator=dict(base_channels=4, num_levels=4),
    discriminator=dict(base_channels=16, num_layers=3),
    # No VGG: its weights cannot be assumed on every machine. L1 + LSGAN only.
    perceptual_loss=None)

optim_wrapper = dict(
    constructor='GANOptimWrapperConstructor',
    generator=dict(optimizer=dict(type='Adam', lr=1e-3, betas=(0.5, 0.999))),
    discriminator=dict(optimizer=dict(type='Adam', lr=2e-3, betas=(0.5, 0.999))),
)
train_cfg = dict(type='IterBasedTrainLoop', max_iters=1500, val_interval=500)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

val_evaluator = [
    dict(type='SSIM'),
    dict(type='PSNR'),
]
test_evaluator = val_evaluator

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50),
    checkpoint=dict(type='CheckpointHook', interval=500, by_epoch=False, max_keep_ckpts=2,
                    save_best='random_ref/ssim', rule='greater'),
)
custom_hooks = [
    dict(type='SafeCheckpointHook'),
    dict(type='SampleGridHook', interval=250, num_samples=8),
]
log_processor = dict(by_epoch=False)
