"""The correspondence loss on the encoder tokens and the stop-gradient cosine map it trains."""
import math

import numpy as np
import pytest
import torch

from colorizer.datasets import SyntheticToonDataset
from colorizer.models.attention import CosineMatchMap, CosineMatchSGA, cosine_match_map
from colorizer.models.correspondence_training import EncoderTokens
from colorizer.models.generators import SCFTGenerator
from colorizer.models.losses import RegionInfoNCELoss, multi_positive_infonce
from colorizer.registry import CROSS_MAPS


def test_infonce_matches_a_hand_computation():
    q = torch.tensor([[[1.0, 0.0], [0.0, 2.0]]])  # (1, 2, 2)
    k = torch.tensor([[[3.0, 0.0], [0.0, 1.0], [1.0, 1.0]]])  # (1, 3, 2)
    pos = torch.tensor([[[True, False, True], [False, False, False]]])
    tau = 0.5
    # row 0: cosines 1, 0, 1/sqrt2; positives {0, 2}; row 1 has no positive: not counted
    logits = torch.tensor([1.0, 0.0, 1 / math.sqrt(2)]) / tau
    expected = -math.log((logits[0].exp() + logits[2].exp()) / logits.exp().sum())
    assert multi_positive_infonce(q, k, pos, tau).item() == pytest.approx(expected, rel=1e-5)


def test_region_loss_is_low_when_regions_match_and_needs_labels():
    labels = torch.tensor([[0, 0, 1, 1]])
    aligned = torch.tensor([[[1.0, 0.0], [1.0, 0.1], [0.0, 1.0], [0.1, 1.0]]])
    crossed = aligned.flip(1)  # the reference's region 0 tokens look like region 1
    loss = RegionInfoNCELoss(temperature=0.1)
    good = loss(aligned, aligned, labels, labels)
    bad = loss(aligned, crossed, labels, labels)
    assert good < 0.05 < 1.0 < bad
    with pytest.raises(ValueError, match='region labels'):
        loss(aligned, aligned)
    position = RegionInfoNCELoss(positives='position', temperature=0.1)
    assert position(aligned, crossed, aligned_tokens=aligned) < position(
        aligned, crossed, aligned_tokens=crossed)
    with pytest.raises(ValueError, match='positives'):
        RegionInfoNCELoss(positives='pixels')


def test_cosine_map_ignores_token_norms_and_is_double_normalised():
    torch.manual_seed(0)
    x, y = torch.randn(2, 6, 8), torch.randn(2, 5, 8)
    m = cosine_match_map(x, y, 0.2)
    assert torch.allclose(m.sum(dim=1), torch.ones(2, 5))  # every column sums to 1
    scaled = y * torch.rand(2, 5, 1) * 100  # norms changed, directions kept
    assert torch.allclose(cosine_match_map(x, scaled, 0.2), m, atol=1e-6)
    rows = cosine_match_map(x, y, 0.2, norm='softmax')
    assert torch.allclose(rows.sum(dim=-1), torch.ones(2, 6))
    built = CROSS_MAPS.build(dict(type='CosineMatchMap', temperature=0.2))
    assert torch.allclose(built.attention_map(x, y, {}), m)
    with pytest.raises(ValueError, match='temperature'):
        CosineMatchMap(temperature=0)


def test_the_map_passes_no_gradient_and_the_loss_reaches_both_encoders():
    torch.manual_seed(0)
    generator = SCFTGenerator(attention=dict(type='CosineMatchSGA', temperature=0.1),
                              base_channels=2, num_levels=3, num_res_blocks=1)
    assert isinstance(generator.attention, CosineMatchSGA)
    sketch, reference = torch.randn(2, 1, 16, 16), torch.randn(2, 3, 16, 16)
    labels = torch.randint(0, 3, (2, 16, 16))
    with EncoderTokens(generator) as capture:
        fake = generator(sketch, reference)
    # the map is a constant for autograd (stop-gradient), even for inputs that need gradient
    x = torch.randn(2, 4, 14, requires_grad=True)
    assert not generator.attention.cross.attention_map(x, x * 2, {}).requires_grad
    assert fake.requires_grad and capture.sketch_feat.requires_grad
    loss = capture.loss(RegionInfoNCELoss(), dict(sketch_labels=labels,
                                                  reference_labels=labels))
    loss.backward()
    assert loss.item() > 0
    for encoder in (generator.sketch_encoder, generator.reference_encoder):
        assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in encoder.parameters())
    assert generator.attention.cross.proj_x.weight.grad is None  # the loss skips the block


def test_palette_swapped_references_come_from_another_character():
    dataset = SyntheticToonDataset(img_size=32, length=12, random_reference_prob=1.0,
                                   deterministic=True, pipeline=[])
    for index in range(4):
        results = dataset.prepare_data(index)
        ref = results['reference_index']
        assert ref != index
        # the target is this character drawn in the reference character's palette
        palette = dataset.palette(ref)
        expected, _ = dataset.render(dataset.geometry(index), palette)
        np.testing.assert_array_equal(results['img'], expected)
        reference, ref_labels = dataset.render(dataset.geometry(ref), palette)
        np.testing.assert_array_equal(results['reference'], reference)
        np.testing.assert_array_equal(results['reference_labels'], ref_labels)
    plain = SyntheticToonDataset(img_size=32, length=12, pipeline=[])
    assert 'reference' not in plain.prepare_data(0)
    with pytest.raises(ValueError, match="mode='train' only"):
        SyntheticToonDataset(length=4, mode='random_reference', random_reference_prob=0.5)
