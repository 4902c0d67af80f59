# The paper's evaluation (§4.1, Table 2): FID and SSIM under the random-reference protocol.
# FID needs pytorch-fid's pt_inception-2015-12-05-6726825d.pth (explicit path or the torch hub
# cache); without it the config stops at start-up saying where to put it. Both SSIM
# definitions are logged: windowed (the usual, random_ref/ssim) and the authors' single-window
# grayscale one (random_ref/ssim_global).
val_evaluator = [
    dict(type='FID', inception_weights='auto'),
    dict(type='SSIM', mode='windowed'),
    dict(type='SSIM', mode='global'),
]
test_evaluator = val_evaluator
