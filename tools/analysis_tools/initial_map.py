"""SGA's cross map at initialisation: how peaked it is and what decides it.

SGA's map is softmax(X Yᵀ) on the raw, unscaled encoder tokens (paper §3.4, Algorithm 1), then
L1-normalised over the query axis (Â). This tool builds freshly initialised encoders at a given
width and token count (the paper's: C = 992, N = 256 at 256 px; the demo's: C = 120, N = 64 at
64 px), feeds SyntheticToon training triples (XDoG sketch, TPS-warped reference; batch norm on
batch statistics, as in the first training step) and measures, per sample, then mean ± std
over samples and initialisation seeds:

- ``entropy`` (nats) and ``row_max`` of Ã's rows (softmax over the reference tokens), against
  log N' for a uniform row;
- ``spearman``: rank correlation between the mass reference token j receives, c_j = Σ_i Ã_ij,
  and its norm ||y_j||;
- ``below_eps``: share of reference tokens with c_j below ``F.normalize``'s eps (1e-12): in
  Â = Ã / max(c, eps) such a column is scaled by c_j / eps < 1, i.e. partly or wholly dropped;
- ``region_mass`` / ``region_chance`` of Ã and of Â (row-normalised), as in
  ``colorizer.evaluation.correspondence_stats``;
- ``logit_std``: the standard deviation of a row's logits x_i · y_j (softmax temperature 1).

Writes a JSON file; :func:`markdown` renders it (``run_study.py`` includes the table when the
JSON is in its assets folder).

Example::

    python tools/analysis_tools/initial_map.py --out docs/figures/study/initial_map.json
"""
import argparse
import os
import os.path as osp
import sys
from typing import Dict, List

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.dataset import pseudo_collate

from colorizer.datasets import SyntheticToonDataset
from colorizer.fileio import strict_dumps
from colorizer.evaluation.correspondence_stats import correspondence_statistics
from colorizer.structures.token_grid import pool_labels, token_grid
from colorizer.models.attention import to_tokens
from colorizer.models.data_preprocessors.colorization_data_preprocessor import \
    ColorizationDataPreprocessor
from colorizer.models.generators import Encoder

#: name -> (base width, levels, image size): the paper's model and the demo's.
SCALES = {'paper': (16, 5, 256), 'demo': (4, 4, 64)}
EPS = 1e-12  # F.normalize's default
STATS = [('entropy', 'row entropy of Ã (nats)', 2), ('entropy_max', 'log N\'', 2),
         ('row_max', 'row max of Ã', 3), ('spearman', 'Spearman(c_j, ‖y_j‖)', 2),
         ('below_eps', 'share of columns with c_j < 1e-12', 3),
         ('region_mass', 'region mass of Ã', 3), ('region_mass_hat', 'region mass of Â', 3),
         ('region_chance', 'region chance', 3), ('logit_std', 'std of a row\'s logits', 2)]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description="SGA's cross map at initialisation")
    parser.add_argument('--scales', nargs='+', default=['paper', 'demo'], choices=sorted(SCALES))
    parser.add_argument('--seeds', nargs='+', type=int, default=[0, 1, 2],
                        help='initialisation seeds')
    parser.add_argument('--batch-size', type=int, default=4, help='samples per seed')
    parser.add_argument('--size', type=int, help='override the image size of every scale '
                        '(tests)')
    parser.add_argument('--out', required=True, help='JSON file')
    return parser.parse_args(argv)


def batch_of(size: int, count: int, seed: int) -> dict:
    """``count`` SyntheticToon training triples at ``size`` px, deterministic in ``seed``."""
    pipeline = [dict(type='XDoG', sigmas=(0.3, 0.4, 0.5)),
                dict(type='TPSWarp', strength=0.25, num_points=2),
                dict(type='PackColorizationInputs')]
    dataset = SyntheticToonDataset(img_size=size, length=count, seed=100 + seed, mode='train',
                                   deterministic=True, pairing_seed=seed, pipeline=pipeline)
    data = ColorizationDataPreprocessor()(pseudo_collate([dataset[i] for i in range(count)]))
    return data['inputs']


def measure(base: int, levels: int, size: int, seed: int, batch_size: int) -> Dict[str, list]:
    """Per-sample statistics of freshly initialised encoders (seed ``seed``)."""
    torch.manual_seed(seed)
    sketch_encoder, reference_encoder = Encoder(1, base, levels), Encoder(3, base, levels)
    inputs = batch_of(size, batch_size, seed)
    with torch.no_grad():  # train mode: batch statistics, as in the first training step
        x = to_tokens(sketch_encoder(inputs['sketch'])[0]).double()  # (B, N, C)
        y = to_tokens(reference_encoder(inputs['reference'])[0]).double()  # (B, N', C)
    logits = x @ y.transpose(1, 2)  # (B, N, N')
    soft = logits.softmax(-1)  # Ã
    col = soft.sum(1)  # (B, N') c_j
    hat = F.normalize(soft, p=1, dim=-2)  # Â
    grid = token_grid(x.shape[1], inputs['sketch'].shape[-2:])
    rows = pool_labels(inputs['sketch_labels'], grid)
    cols = pool_labels(inputs['reference_labels'], grid)
    s_soft = correspondence_statistics(soft, rows, cols, y.norm(dim=-1))
    s_hat = correspondence_statistics(hat, rows, cols)
    return dict(
        entropy=s_soft['entropy'].tolist(), entropy_max=s_soft['entropy_max'].tolist(),
        row_max=s_soft['row_max'].tolist(), spearman=s_soft['mass_norm_spearman'].tolist(),
        below_eps=(col < EPS).double().mean(-1).tolist(),
        region_mass=s_soft['region_mass'].tolist(),
        region_mass_hat=s_hat['region_mass'].tolist(),
        region_chance=s_soft['region_chance'].tolist(),
        logit_std=logits.std(-1).mean(-1).tolist(),
        channels=x.shape[2], tokens=x.shape[1])


def run(args) -> dict:
    scales = []
    for name in args.scales:
        base, levels, size = SCALES[name]
        size = args.size or size
        values: Dict[str, list] = {}
        for seed in args.seeds:
            for key, vals in measure(base, levels, size, seed, args.batch_size).items():
                if isinstance(vals, list):
                    values.setdefault(key, []).extend(vals)
                else:
                    values[key] = vals
        stats = {key: dict(mean=float(np.mean(v)), std=float(np.std(v, ddof=1)) if len(v) > 1
                           else 0.0, n=len(v))
                 for key, v in values.items() if isinstance(v, list)}
        scales.append(dict(scale=name, base_channels=base, num_levels=levels, img_size=size,
                           channels=values['channels'], tokens=values['tokens'],
                           seeds=args.seeds, batch_size=args.batch_size, stats=stats))
    return dict(scales=scales)


def markdown(data: dict) -> List[str]:
    """A table: one column per scale, one row per statistic (mean ± std over samples)."""
    scales = data['scales']
    header = ['statistic'] + [f'{s["scale"]}: C = {s["channels"]}, N = {s["tokens"]} '
                              f'({s["img_size"]} px)' for s in scales]
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    for key, title, digits in STATS:
        cells = [title]
        for scale in scales:
            stat = scale['stats'].get(key)
            cells.append('–' if stat is None else
                         f'{stat["mean"]:.{digits}f} ± {stat["std"]:.{digits}f}')
        lines.append('| ' + ' | '.join(cells) + ' |')
    n = ', '.join(f'{s["scale"]}: {s["stats"]["entropy"]["n"]}' for s in scales)
    lines += ['', f'Freshly initialised encoders, SyntheticToon training triples (XDoG sketch, '
              f'TPS-warped reference), batch norm on batch statistics; mean ± std over samples '
              f'({n}; {len(scales[0]["seeds"])} initialisation seeds × '
              f'{scales[0]["batch_size"]} samples). Generated by '
              '`tools/analysis_tools/initial_map.py`.']
    return lines


def main(argv=None) -> dict:
    args = parse_args(argv)
    data = run(args)
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    with open(args.out, 'w') as f:
        f.write(strict_dumps(data, indent=1))
    print('\n'.join(markdown(data)))
    return data


if __name__ == '__main__':
    main()
    sys.exit(0)
