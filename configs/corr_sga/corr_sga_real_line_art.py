# The correspondence-trained SGA (configs/corr_sga/corr_sga_demo.py: CosineMatchSGA + a region
# InfoNCE loss on the encoder tokens) on real artists' line art: configs/sga/sga_real_line_art.py
# with only the model parts changed. LineArtDataset's training mode already draws a new palette
# per sample (a palette swap with an exact target) and TPS-warps ``labels`` into
# ``reference_labels``, which the loss reads (positives: reference tokens of the same shape).
#   train:  python tools/train.py configs/corr_sga/corr_sga_real_line_art.py \
#               --data-root data/openclipart_line_art
#   test any corr_sga checkpoint (e.g. configs/corr_sga/corr_sga_demo.py's) on the real split:
#       python tools/test.py configs/corr_sga/corr_sga_real_line_art.py CKPT \
#           --data-root data/openclipart_line_art
_base_ = ['../sga/sga_real_line_art.py']
method = 'CorrSGA'
model = dict(
    generator=dict(attention=dict(type='CosineMatchSGA', temperature=0.1)),
    correspondence_loss=dict(type='RegionInfoNCELoss', loss_weight=1.0, temperature=0.1,
                             positives='region'))
