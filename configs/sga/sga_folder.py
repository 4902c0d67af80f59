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
    '../_base_/models/sga_small.py',
    '../_base_/datasets/image_folder.py',
    '../_base_/schedules/demo_1500i.py',
]
method = 'SGA'
dataset_name = 'image_folder'

val_evaluator = [
    dict(type='SSIM'),
    dict(type='PSNR'),
]
test_evaluator = val_evaluator

default_hooks = dict(checkpoint=dict(save_best='random_ref/ssim', rule='greater'))
