"""Segment accuracy and ΔE of trivial outputs on the real line-art test split: the floors and
the copy baseline that every trained model's score on that split is read against.

Outputs scored (``SegmentAccuracy``'s per-sample scores, pooled like the metric; paper not
scored): the sketch itself (every region white), a constant mid-gray, the warped reference
copied in place (what a model that ignores the sketch and copies pixels would give), and the
target (1.0 / 0.0, a check of the scoring).

Example::

    python benchmarks/real_line_art_floors.py --data-root data/openclipart_line_art \\
        --out docs/records/real_line_art_floors.json
"""
import argparse
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchmark_record import LoadWatch, write_record  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--data-root', required=True, help='converted real line-art folder')
    parser.add_argument('--config', default='configs/sga/sga_real_line_art.py',
                        help='config whose test split and pipeline are scored')
    parser.add_argument('--img-size', type=int, help='image size (default: the config)')
    parser.add_argument('--out', required=True, help='JSON record to write')
    args = parser.parse_args(argv)
    from mmengine.config import Config

    import colorizer.datasets  # noqa: F401  (registers the dataset and transforms)
    from colorizer.evaluation.metrics.segment_accuracy import segment_scores
    from colorizer.registry import DATASETS
    from colorizer.visualization.image_grid import tensor_to_image
    watch = LoadWatch()
    cfg = Config.fromfile(str(ROOT / args.config))
    dataset_cfg = dict(cfg.test_dataloader.dataset, data_root=args.data_root)
    if args.img_size:
        dataset_cfg['img_size'] = args.img_size
    dataset = DATASETS.build(dataset_cfg)
    arms = ('sketch', 'gray', 'reference_in_place', 'target')
    scores = {arm: [] for arm in arms}
    for index in range(len(dataset)):
        sample = dataset[index]
        target = tensor_to_image(sample['data_samples'].target)
        labels = np.asarray(sample['data_samples'].labels).reshape(target.shape[:2])
        outputs = dict(sketch=tensor_to_image(sample['inputs']['sketch'].repeat(3, 1, 1)),
                       gray=np.full_like(target, 128),
                       reference_in_place=tensor_to_image(sample['inputs']['reference']),
                       target=target)
        for arm in arms:
            scores[arm].append(segment_scores(outputs[arm], target, labels, 20, 0))
    result = dict(config=args.config, data_root=os.path.abspath(args.data_root),
                  drawings=len(dataset), regions=sum(s['regions'] for s in scores['target']))
    for arm in arms:
        regions = sum(s['regions'] for s in scores[arm])
        pixels = sum(s['pixels'] for s in scores[arm])
        result[arm] = dict(segment_accuracy=sum(s['correct'] for s in scores[arm]) / regions,
                           segment_delta_e=sum(s['delta_e_sum'] for s in scores[arm]) / pixels)
    return write_record(args.out, result, watch)


if __name__ == '__main__':
    main()
