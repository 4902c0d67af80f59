# Ablation: position positives (sketch token i <-> token i of the pixel-aligned target through
# the reference encoder) instead of region positives; needs no region labels.
_base_ = ['./corr_sga_demo.py']
method = 'CorrSGA, position positives'
model = dict(correspondence_loss=dict(positives='position'))
