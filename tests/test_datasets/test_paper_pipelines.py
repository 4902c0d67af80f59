"""The paper configs train on the paper's pipeline; augmentation is an explicit opt-in."""
from pathlib import Path

import pytest
from mmengine.config import Config

ROOT = Path(__file__).resolve().parents[2]
PAPER_DATASETS = ('afhq_cat', 'afhq_dog', 'afhq_wild', 'anime')
PAPER_STEPS = ['LoadColorImage', 'LoadSketch', 'Resize', 'ColorJitter', 'XDoG', 'TPSWarp',
               'PackColorizationInputs']


def _types(pipeline):
    return [step['type'] for step in pipeline]


@pytest.mark.parametrize('dataset', PAPER_DATASETS)
def test_paper_training_pipeline_only_resizes(dataset):
    """Authors' code: resize to 256 px; no random crop, no flip (paper §3.1)."""
    cfg = Config.fromfile(str(ROOT / f'configs/sga/sga_{dataset}.py'))
    pipeline = cfg.train_dataloader.dataset.pipeline
    assert _types(pipeline) == PAPER_STEPS
    assert pipeline[2]['size'] == 256 and pipeline[0]['min_size'] == 256


@pytest.mark.parametrize('dataset', PAPER_DATASETS)
def test_augmentation_is_an_opt_in(dataset, tmp_path):
    child = tmp_path / 'augmented.py'
    child.write_text(f"_base_ = ['{ROOT}/configs/sga/sga_{dataset}.py']\n"
                     'train_dataloader = dict(dataset=dict('
                     'pipeline={{_base_._augmented_train_pipeline}}))\n')
    cfg = Config.fromfile(str(child))
    pipeline = cfg.train_dataloader.dataset.pipeline
    assert _types(pipeline) == ['LoadColorImage', 'LoadSketch', 'RandomResizedCrop',
                                'RandomFlip', 'ColorJitter', 'XDoG', 'TPSWarp',
                                'PackColorizationInputs']
    # the crop needs the full resolution of its window
    assert pipeline[0].get('min_size') is None
    assert cfg.train_dataloader.batch_size == 16  # the rest of the config is inherited
