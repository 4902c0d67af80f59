"""Real line art through a model: the oracle-map control and the correspondence and segment
metrics read LineArtDataset's labels."""
import warnings
from pathlib import Path

import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate

import colorizer.evaluation  # noqa: F401  (registers the metrics)
import colorizer.models  # noqa: F401
from colorizer.datasets import LineArtDataset
from colorizer.registry import METRICS, MODELS
from test_line_art_dataset import PIPELINE, converted  # noqa: F401  (the fixture)

ROOT = Path(__file__).resolve().parents[2]


def test_oracle_control_and_metrics_on_real_line_art(converted):  # noqa: F811
    dst, split_file = converted
    dataset = LineArtDataset(str(dst), split='test', split_file=str(split_file), img_size=32,
                             pipeline=PIPELINE)
    cfg = Config.fromfile(str(ROOT / 'configs/oracle/oracle_real_line_art.py'))
    cfg.model.generator.update(base_channels=2, num_levels=3)
    cfg.model.discriminator.update(base_channels=4, num_layers=2)
    assert cfg.model.correspondence_outputs  # the real-line-art configs ask for the maps
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        model = MODELS.build(cfg.model)
    model.eval()
    batch = pseudo_collate([dataset[0], dataset[1]])
    with torch.no_grad():
        outputs = model.val_step(batch)
    # the configs' own test evaluators: segment accuracy and the paper-free region mass
    metrics = {m['type']: METRICS.build(m) for m in cfg.test_evaluator}
    segment, correspondence = metrics['SegmentAccuracy'], metrics['CorrespondenceMetric']
    for metric in (segment, correspondence):
        metric.process(batch, outputs)
    scores = segment.evaluate(2)
    assert 0.0 <= scores['self_ref/segment_accuracy'] <= 1.0
    stats = correspondence.evaluate(2)
    # the oracle's map puts all of a labelled token's mass on its own region
    assert stats['self_ref/corr/region_mass'] > 0.99, stats
    assert stats['self_ref/corr/region_chance'] < 0.5, stats
