# The demo's small SGA model on real artists' line art (configs/_base_/datasets/real_line_art.py):
#   train with palette swaps:  python tools/train.py configs/sga/sga_real_line_art.py \
#                                  --data-root data/openclipart_line_art
#   test ANY small-SGA checkpoint (e.g. configs/sga/sga_demo.py's, trained on XDoG sketches of
#   the synthetic cartoons) on the real test split:
#       python tools/test.py configs/sga/sga_real_line_art.py work_dirs/sga_demo/iter_1500.pth \
#           --data-root data/openclipart_line_art
_base_ = [
    '../_base_/models/sga_small.py',
    '../_base_/datasets/real_line_art.py',
    '../_base_/schedules/demo_1500i.py',
]
method = 'SGA'
dataset_name = 'real_line_art'
# val_step / test_step attach the cross map for the evaluators' CorrespondenceMetric
model = dict(correspondence_outputs=True)

default_hooks = dict(checkpoint=dict(save_best='self_ref/segment_accuracy', rule='greater'))
