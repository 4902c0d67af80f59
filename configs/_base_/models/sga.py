# SGA model of the paper (§3.4, Fig. 6): SCFT-family generator with cross-SGA + self-SGA,
# conditional PatchGAN, L1 (30) + LSGAN (1) + VGG19 perceptual (0.01) + style (50) losses.
model = dict(
    type='ReferenceColorizer',
    # channels_last batches (and, through the model, weights): +14-19% inference and 0.97-1.09x
    # training images/s on CPU at 256 px (docs/benchmarks.md); same results up to float rounding.
    data_preprocessor=dict(type='ColorizationDataPreprocessor', channels_last=True),
    generator=dict(
        type='SCFTGenerator',
        base_channels=16,  # widths 16,16,32,32,...,256,256 -> 992 fused channels
        num_levels=5,
        # Only the type here: the class defaults are the paper's settings (stop_grad=True,
        # norm='double', self_attention=True), and a config that swaps the module for another
        # type inherits no stray keys.
        attention=dict(type='SGA')),
    discriminator=dict(type='PatchDiscriminator', in_channels=4, base_channels=16, num_layers=4),
    reconstruction_loss=dict(type='L1Loss', loss_weight=30.0),
    adversarial_loss=dict(type='LSGANLoss', loss_weight=1.0),
    # relu1_2 and relu2_2 as in the authors' code. 'auto' = torchvision's vgg19-dcbb9e9d.pth in the
    # torch hub cache; a missing file stops at start-up with where to put it. input_norm='none':
    # VGG gets the [-1, 1] images as in the authors' code, the input lambda2 = 0.01 and
    # lambda3 = 50 were set with ('imagenet' normalises for VGG's training statistics and so
    # reweighs both losses).
    perceptual_loss=dict(
        type='PerceptualLoss', layers=(3, 8), perceptual_weight=0.01, style_weight=50.0,
        pretrained='auto', input_norm='none'),
)
