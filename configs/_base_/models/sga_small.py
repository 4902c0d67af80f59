# The CPU demos' small SGA model: 64 px with 4 levels, 8x8 = 64 attention tokens of
# 4+4+8+8+16+16+32+32 = 120 channels.
_base_ = ['./sga.py']
model = dict(
    generator=dict(base_channels=4, num_levels=4),
    discriminator=dict(base_channels=16, num_layers=3),
    # No VGG: its weights cannot be assumed on every machine, and with random weights the
    # perceptual and style terms would measure random features. L1 + LSGAN only.
    perceptual_loss=None)
