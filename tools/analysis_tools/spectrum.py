"""Spectrum concentration of the features before and after the attention module (paper Fig. 8).

For each validation sample the feature map is unfolded to a C x HW matrix; with σ_1 ≥ σ_2 ≥ ...
its singular values, the cumulative ratio is

    ratio(r) = Σ_{i ≤ r} σ_i² / Σ_i σ_i²,   r = 1 .. min(C, HW)

averaged over the samples of ``--num-batches`` validation batches (as the authors' ``svd.py``,
which averages per-sample curves). Three curves: the sketch features (the module's first input,
"before"), the reference features (second input) and the module's output ("after"), taken with a
forward hook on the generator's ``attention`` module (``--module`` for another one). The
validation set uses the random-reference pairing, as the authors' script shifts references.

Writes ``spectrum.csv`` (columns ``r, sketch_before, reference_before, after``) and
``spectrum.png`` into ``--out``.

Example::

    python tools/analysis_tools/spectrum.py configs/sga/sga_demo.py \\
        work_dirs/sga_demo/iter_1500.pth --num-batches 4 --out figs/spectrum_sga
"""
import argparse
import copy
import csv
import os
import os.path as osp
import sys
from typing import Dict, List, Optional

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from mmengine.config import DictAction  # noqa: E402
from mmengine.registry import init_default_scope  # noqa: E402
from mmengine.runner import Runner  # noqa: E402
from mmengine.utils import import_modules_from_strings  # noqa: E402

from colorizer.engine.checkpoint_errors import CheckpointError  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Singular-value spectrum before / after the '
                                     'attention module (Fig. 8)')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', required=True, help='output folder')
    parser.add_argument('--num-batches', type=int, default=4, help='validation batches')
    parser.add_argument('--split', choices=['val', 'test', 'train'], default='val')
    parser.add_argument('--module', default='generator.attention',
                        help='module whose inputs / output are analysed')
    parser.add_argument('--device', default=None, help='default: cuda if available, else cpu')
    parser.add_argument('--num-workers', type=int, default=0, help='dataloader workers')
    parser.add_argument('--label', default=None, help='title of the figure (default: config)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings')
    return parser.parse_args(argv)


def build(config: str, checkpoint: Optional[str], split: str, num_workers: int = 0,
          cfg_options: Optional[dict] = None, device: Optional[str] = None):
    """Model with the checkpoint's weights (loaded strictly), and a dataloader of ``split``."""
    import colorizer.datasets  # noqa: F401  (registers)
    import colorizer.models  # noqa: F401
    from colorizer.engine.run_config import load_run_config
    from colorizer.registry import MODELS

    from colorizer.engine.checkpoint_sources import is_remote
    if checkpoint is not None and not is_remote(checkpoint) and not osp.isfile(checkpoint):
        raise FileNotFoundError(f'checkpoint {checkpoint} does not exist')
    cfg = load_run_config(config, cfg_options)
    if cfg.get('custom_imports'):  # third-party plugins register themselves on import
        import_modules_from_strings(**cfg.custom_imports)
    init_default_scope(cfg.get('default_scope', 'colorizer'))
    model = MODELS.build(cfg.model)
    if checkpoint is not None:
        load_weights(model, checkpoint)
    device = device or ('cuda' if torch.cuda.is_available() else 'cpu')
    model.to(device)
    loader_cfg = cfg.get(f'{split}_dataloader')
    if loader_cfg is None:
        raise KeyError(f'the config has no {split}_dataloader')
    loader_cfg = copy.deepcopy(loader_cfg)
    loader_cfg.update(num_workers=num_workers, persistent_workers=False)
    if num_workers == 0:
        loader_cfg.pop('prefetch_factor', None)
    loader = Runner.build_dataloader(loader_cfg, seed=0)
    return cfg, model, loader, device


def load_weights(model: torch.nn.Module, checkpoint: str) -> None:
    """Load every weight of the checkpoint, or stop naming the keys that do not fit.

    The same loader as :func:`colorizer.apis.init_model` (allow-listed unpickling, any
    scheme, DDP key names accepted); the frozen VGG19 of the perceptual loss is exempt: it
    comes from its own weights file.
    """
    from colorizer.apis import load_checkpoint_strictly
    load_checkpoint_strictly(model, checkpoint)


def cumulative_ratio(feat: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) features -> (B, min(C, HW)) cumulative ratios of squared singular values."""
    mat = feat.detach().flatten(2).to(torch.float64)  # (B, C, HW)
    energy = torch.linalg.svdvals(mat) ** 2  # descending
    return energy.cumsum(-1) / energy.sum(-1, keepdim=True).clamp_min(1e-300)


def get_module(model: torch.nn.Module, name: str) -> torch.nn.Module:
    try:
        return model.get_submodule(name)
    except AttributeError as error:
        raise KeyError(f'no module {name!r} in the model') from error


@torch.no_grad()
def spectrum(model, loader, device: str, num_batches: int,
             module_name: str = 'generator.attention') -> Dict[str, np.ndarray]:
    """Mean cumulative ratio curves: ``sketch_before``, ``reference_before``, ``after``."""
    module = get_module(model, module_name)
    captured = {}

    def hook(mod, args, kwargs, output):
        sketch = args[0] if len(args) > 0 else kwargs['sketch_feat']
        reference = args[1] if len(args) > 1 else kwargs['ref_feat']
        captured['sketch_before'] = sketch
        captured['reference_before'] = reference
        captured['after'] = output[0] if isinstance(output, (tuple, list)) else output

    handle = module.register_forward_hook(hook, with_kwargs=True)
    sums: Dict[str, torch.Tensor] = {}
    count = 0
    model.eval()
    try:
        for i, batch in enumerate(loader):
            if i >= num_batches:
                break
            data = model.data_preprocessor(batch, False)
            inputs = data['inputs']
            model.generator(inputs['sketch'].to(device), inputs['reference'].to(device))
            for key, feat in captured.items():
                ratio = cumulative_ratio(feat).sum(0).cpu()
                sums[key] = ratio if key not in sums else sums[key] + ratio
            count += inputs['sketch'].shape[0]
    finally:
        handle.remove()
    if not count:
        raise RuntimeError('the dataloader gave no batch')
    return {k: (v / count).numpy() for k, v in sums.items()}


def write_outputs(curves: Dict[str, np.ndarray], out: str, title: str) -> List[str]:
    os.makedirs(out, exist_ok=True)
    keys = ['sketch_before', 'reference_before', 'after']
    rank = max(len(curves[k]) for k in keys)
    csv_path = osp.join(out, 'spectrum.csv')
    with open(csv_path, 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(['r', *keys])
        for r in range(rank):
            writer.writerow([r + 1] + [f'{curves[k][r]:.6f}' if r < len(curves[k]) else ''
                                       for k in keys])
    fig, ax = plt.subplots(figsize=(5.5, 4))
    names = dict(sketch_before='before (sketch features)',
                 reference_before='before (reference features)', after='after attention')
    styles = dict(sketch_before='--', reference_before=':', after='-')
    for k in keys:
        ax.plot(np.arange(1, len(curves[k]) + 1), curves[k], styles[k], label=names[k], lw=1.5)
    ax.set_xlabel('r (top singular values)')
    ax.set_ylabel('cumulative ratio of squared singular values')
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    png_path = osp.join(out, 'spectrum.png')
    fig.savefig(png_path, dpi=110)
    plt.close(fig)
    return [csv_path, png_path]


def main(argv=None) -> List[str]:
    args = parse_args(argv)
    try:
        cfg, model, loader, device = build(args.config, args.checkpoint, args.split,
                                           args.num_workers, args.cfg_options, args.device)
    except (FileNotFoundError, KeyError, ValueError, CheckpointError) as error:
        sys.exit(f'error: {error}')
    curves = spectrum(model, loader, device, args.num_batches, args.module)
    title = args.label or f'{cfg.get("method", "")} {osp.basename(args.config)}'.strip()
    paths = write_outputs(curves, args.out, title)
    for key, curve in curves.items():
        r = min(len(curve), 8)
        print(f'{key}: ratio at r=1..{r}: ' + ' '.join(f'{v:.3f}' for v in curve[:r]))
    for path in paths:
        print(path)
    return paths


if __name__ == '__main__':
    main()
