"""Gradient-cosine distributions of a trained model, one loss term at a time (paper Fig. 5).

Loads CHECKPOINT into the model of CONFIG and, for ``--num-batches`` training batches (the
self-supervised triplets, which have the ground truth every loss needs), runs the generator
once with branch capture on, then back-propagates each term of ``model.generator_losses(...)``
alone (``loss_rec``, ``loss_g_adv``, and ``loss_perceptual`` / ``loss_style`` when the config
has the VGG loss) and, last, their sum (``total``, what training uses). After each backward the
per-branch gradients of the attention module(s) give the same cosine pairs and statistics as
``GradientCosineHook``, computed by the same functions
(``colorizer/engine/hooks/gradient_cosine_stats.py``). Nothing is updated. The model stays in
train mode (BatchNorm with batch statistics, as during training) unless ``--eval-mode`` is
given.

Writes into ``--out``:

- ``gradient_cosine_per_loss.json``: settings, ``bin_edges``, and per loss term and module the
  same summary as one period of the hook's ``summary.json`` (present / absent branches, gradient
  norms, per pair and per pixel / instance: count, share negative, share above 0.935, mean, std,
  median, histogram counts);
- ``gradient_cosine_per_loss.npz``: raw cosines, keys ``'<loss>/<module>/<pair>/<per>'``;
- ``per_loss_<loss>.png``: one figure per loss term, a panel per pair, pixel and instance
  histograms overlaid.

Example::

    python tools/analysis_tools/gradient_cosine_per_loss.py configs/scft/scft_demo.py \\
        work_dirs/scft_demo/iter_1500.pth --out figs/per_loss --num-batches 8
"""
import argparse
import os
import os.path as osp
import sys
from collections import OrderedDict
from typing import Dict, List

import numpy as np
import torch
from mmengine.config import DictAction
from torch import nn

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from plot_gradient_cosine import histogram_figure, slug  # noqa: E402
from spectrum import build  # noqa: E402

from colorizer.engine.checkpoint_errors import CheckpointError  # noqa: E402
from colorizer.fileio import strict_dumps  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Gradient cosine per loss term (Fig. 5)')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', required=True, help='output folder')
    parser.add_argument('--num-batches', type=int, default=4, help='training batches')
    parser.add_argument('--split', choices=['train', 'val', 'test'], default='train',
                        help='dataloader (default: train, whose samples have the ground truth)')
    parser.add_argument('--modules', nargs='+', help='attention module names '
                        '(default: every attention module of the generator)')
    parser.add_argument('--bins', type=int, default=100, help='histogram bins on [-1, 1]')
    parser.add_argument('--eval-mode', action='store_true',
                        help='BatchNorm with running statistics instead of batch statistics')
    parser.add_argument('--device', default=None, help='default: cuda if available, else cpu')
    parser.add_argument('--num-workers', type=int, default=0, help='dataloader workers')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, e.g. model.perceptual_loss=None')
    return parser.parse_args(argv)


def branch_gradients(loss: torch.Tensor, modules: Dict[str, nn.Module],
                     retain_graph: bool = False) -> Dict[str, Dict[str, torch.Tensor]]:
    """Gradient of ``loss`` through each recorded branch, by ``torch.autograd.grad``.

    The modules must have run their forward with ``capture_branches`` on, so that
    ``module.branches`` holds one handle per branch. The gradient w.r.t. a handle is the
    gradient that reaches the input through that branch alone. ``autograd.grad`` rather than
    ``backward``: no parameter ``.grad`` is touched and the backward stops at the handles, so
    each loss term is measured alone on one forward.

    Returns:
        module name -> {branch: detached (B, N, C) gradient}; stopped branches are absent.
    """
    handles = [(mname, bname, h) for mname, m in modules.items()
               for bname, h in getattr(m, 'branches', {}).items()]
    out: Dict[str, Dict[str, torch.Tensor]] = OrderedDict((m, OrderedDict()) for m in modules)
    if not handles:
        return out
    grads = torch.autograd.grad(loss, [h for _, _, h in handles], retain_graph=retain_graph,
                                allow_unused=True)
    for (mname, bname, _), grad in zip(handles, grads):
        if grad is not None:
            out[mname][bname] = grad.detach()
    return out


def per_loss_cosines(model, loader, device: str, num_batches: int, modules=None,
                     bins: int = 100, eval_mode: bool = False) -> Dict[str, object]:
    """Accumulate the branch cosines of each loss term back-propagated alone.

    Returns:
        ``{'accumulators': {loss: CosineAccumulator}, 'modules': {name: module},
        'specs': {name: spec}}``.
    """
    from colorizer.engine.hooks.gradient_cosine_hook import branch_spec, find_capture_modules
    from colorizer.engine.hooks.gradient_cosine_stats import CosineAccumulator
    from colorizer.models.reference_colorizer import frozen

    found = find_capture_modules(model, modules)
    if not found:
        raise RuntimeError('no attention module with the branch-capture interface')
    specs = {name: branch_spec(m) for name, m in found.items()}
    accs: Dict[str, CosineAccumulator] = OrderedDict()
    model.train(not eval_mode)
    for module in found.values():
        module.capture_branches = True
    try:
        for i, batch in enumerate(loader):
            if i >= num_batches:
                break
            data = model.data_preprocessor(batch, True)
            inputs = {k: v.to(device) for k, v in data['inputs'].items()}
            if 'target' not in inputs:
                raise KeyError('the batches have no target (ground truth); use --split train')
            fake = model.generator(inputs['sketch'], inputs['reference'])
            with frozen(model.discriminator) as disc:
                losses = model.generator_losses(inputs['sketch'], inputs['target'], fake, disc)
                terms = list(losses.items()) + [('total', sum(losses.values()))]
                for k, (name, loss) in enumerate(terms):
                    # this term alone, down to the branch handles only (no parameter .grad)
                    grads = branch_gradients(loss, found, retain_graph=k < len(terms) - 1)
                    accs.setdefault(name, CosineAccumulator(bins=bins)).add_capture(grads, specs)
    finally:
        for module in found.values():
            module.capture_branches = False
            module.branches, module.branch_grads = {}, {}
    return dict(accumulators=accs, modules=found, specs=specs)


def write_outputs(result: dict, out: str, meta: dict) -> List[str]:
    """Write the JSON summary, the NPZ of raw cosines and one figure per loss term.

    Returns:
        The paths written.
    """
    from colorizer.engine.hooks.gradient_cosine_hook import spec_record
    from colorizer.engine.hooks.gradient_cosine_stats import HIGH_COSINE, bin_edges

    os.makedirs(out, exist_ok=True)
    accs, specs = result['accumulators'], result['specs']
    edges = next(iter(accs.values())).edges if accs else bin_edges()
    record = OrderedDict(meta, bin_edges=[float(e) for e in edges], high=HIGH_COSINE,
                         modules={n: spec_record(s) for n, s in specs.items()},
                         losses=OrderedDict())
    arrays, written = {}, []
    for loss, acc in accs.items():
        record['losses'][loss] = OrderedDict(num_batches=acc.captures, modules=OrderedDict())
        for name in specs:
            summary = acc.summary(name, specs[name])
            record['losses'][loss]['modules'][name] = summary
            for pair, per_values in acc.arrays(name).items():
                for per, values in per_values.items():
                    arrays[f'{loss}/{name}/{pair}/{per}'] = values.astype(np.float32)
            pairs = list(summary['pairs'])
            if not pairs:
                continue
            labels = {p: e['label'] for p, e in summary['pairs'].items()}
            series = [(per, {p: e[per] for p, e in summary['pairs'].items() if per in e})
                      for per in ('pixel', 'instance')]
            suffix = '' if len(specs) == 1 else f'_{slug(name)}'
            absent = summary['absent_branches']
            note = f' — no gradient in {", ".join(absent)}' if absent else ''
            written.append(histogram_figure(
                series, pairs, labels, edges, osp.join(out, f'per_loss_{slug(loss)}{suffix}.png'),
                f'{loss} alone, {name} [{specs[name]["type"]}]{note}'))
    json_path = osp.join(out, 'gradient_cosine_per_loss.json')
    with open(json_path, 'w') as f:
        f.write(strict_dumps(record, indent=1))
    npz_path = osp.join(out, 'gradient_cosine_per_loss.npz')
    np.savez_compressed(npz_path, **arrays)
    return [json_path, npz_path] + written


def main(argv=None) -> List[str]:
    from colorizer.engine.hooks.gradient_cosine_stats import headlines

    args = parse_args(argv)
    torch.manual_seed(args.seed)
    try:
        cfg, model, loader, device = build(args.config, args.checkpoint, args.split,
                                           args.num_workers, args.cfg_options, args.device)
    except (FileNotFoundError, KeyError, ValueError, CheckpointError) as error:
        sys.exit(f'error: {error}')
    result = per_loss_cosines(model, loader, device, args.num_batches, args.modules, args.bins,
                              args.eval_mode)
    meta = OrderedDict(config=osp.abspath(args.config), checkpoint=osp.abspath(args.checkpoint),
                       method=cfg.get('method'), split=args.split,
                       num_batches=args.num_batches, train_mode=not args.eval_mode)
    paths = write_outputs(result, args.out, meta)
    for loss, acc in result['accumulators'].items():
        for name, spec in result['specs'].items():
            print(f'{loss:>16s} {name}: ' + '; '.join(headlines(acc.summary(name, spec))))
    for path in paths:
        print(path)
    return paths


if __name__ == '__main__':
    main()
