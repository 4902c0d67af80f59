# Ablation: the cosine stop-gradient map and palette-swapped references, without the
# correspondence loss (nothing trains the encoders to match).
_base_ = ['./corr_sga_demo.py']
method = 'CorrSGA w/o loss'
model = dict(correspondence_loss=None)
