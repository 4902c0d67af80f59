"""One training iteration: the authors' step structure against the project's.

Both forms are built from the same modules (``configs/_base_/models/sga.py``, width-scaled for
a CPU) and start from the same weights:

* ``authors``: the step of the authors' ``solver.py``: the generator runs twice per iteration
  (once for the discriminator step, once for the generator step), the discriminator is not
  frozen in the generator step, the VGG is not frozen and the target's VGG features are
  computed with gradient, the attention map is materialised (``implementation='naive'``),
  fp32, contiguous (NCHW) tensors;
* ``project``: ``ReferenceColorizer.train_step``: one generator forward, chunked attention,
  VGG targets under ``no_grad``, frozen discriminator in the generator step; fp32, NCHW (the
  configs' ``channels_last=True`` default is the ``project_channels_last`` variant).

Optional variants of the project's step (each on top of ``project``): ``--amp`` (bf16 autocast
on CPU, fp16 with loss scaling on CUDA), ``--channels-last`` (data preprocessor and weights in
``torch.channels_last``), ``--compile`` (``compile_generator=True``). ``--ablate`` adds the
authors' step with one of its choices replaced by the project's, to split the difference.

Reports training images/s of every variant (median of ``--repeats`` timed samples, the variants
interleaved), their ratios to ``authors``, the loss terms of ``authors`` and ``project`` after
one step each from the same weights on the same batch (they must agree), and inference
images/s (eval mode, ``no_grad``). ``--memory`` adds the peak memory of one generator forward
and backward (L1 loss) with naive and chunked attention, each in a fresh subprocess. The VGG
has random weights (``pretrained=None``): the cost is the same as with the real file.

Example::

    python benchmarks/bench_train_step.py --size 128 --width 8 --batch 4 --amp --channels-last
    python benchmarks/bench_train_step.py --config configs/sga/sga_afhq_dog_512.py --size 512 \\
        --batch 1 --memory --no-speed
"""
import argparse
import copy
import json
import os
import subprocess
import sys
import warnings
from contextlib import nullcontext
from functools import partial
from pathlib import Path
from typing import Dict, List

import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.optim import AmpOptimWrapper, OptimWrapper, OptimWrapperDict

import colorizer.models  # noqa: F401  (registers the model parts)
from colorizer.engine.amp import AutocastOptimWrapper
from colorizer.models.losses.perceptual_loss import gram_matrix
from colorizer.models.reference_colorizer import frozen
from colorizer.registry import MODELS
from colorizer.structures import ColorizationDataSample

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_attention import environment, measure_memory  # noqa: E402
from benchmark_record import LoadWatch, write_record  # noqa: E402
from step_timing import amp_dtype, inference_throughput, train_throughput  # noqa: E402
from colorizer.fileio import strict_dumps  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG = ROOT / 'configs' / '_base_' / 'models' / 'sga.py'


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--config', default=str(DEFAULT_CONFIG),
                        help='config (or model base file) whose `model` to build')
    parser.add_argument('--size', type=int, default=128, help='image side, px')
    parser.add_argument('--width', type=int, default=8,
                        help='generator base_channels (16 in the paper)')
    parser.add_argument('--num-levels', type=int, default=None,
                        help="generator num_levels (default: the config's)")
    parser.add_argument('--batch', type=int, default=4)
    parser.add_argument('--chunk-size', type=int, default=None,
                        help="SGA chunk_size of the project's variants (default: SGA's, 1024); "
                        'below the token count it takes the two-pass chunked path')
    parser.add_argument('--repeats', type=int, default=5, help='timed samples per variant')
    parser.add_argument('--iters', type=int, default=1, help='iterations per timed sample')
    parser.add_argument('--amp', action='store_true', help='add the project step with --amp')
    parser.add_argument('--channels-last', action='store_true',
                        help='add the project step with channels_last tensors and weights')
    parser.add_argument('--compile', action='store_true',
                        help='add the project step with compile_generator=True')
    parser.add_argument('--ablate', action='store_true',
                        help="add the authors' step with one of its choices made the project's")
    parser.add_argument('--no-speed', action='store_true', help='skip the throughput runs')
    parser.add_argument('--memory', action='store_true',
                        help='peak memory of one generator forward/backward, naive vs chunked')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--threads', type=int, default=None,
                        help="torch CPU threads (default: torch's); 1 keeps a loaded machine's "
                        'CPU times free of other threads spinning at barriers')
    parser.add_argument('--out', default='work_dirs/bench_train_step.json', help='JSON record')
    parser.add_argument('--amp-bf16', action='store_true',
                        help='add the project step with bf16 autocast (on CUDA; on CPU --amp '
                        'already is bf16)')
    parser.add_argument('--quick', action='store_true',
                        help='tiny sizes for a smoke test (16 px, width 2, one repeat, '
                        'chunked attention path, every optional variant but --compile)')
    parser.add_argument('--measure-memory', metavar='IMPLEMENTATION',
                        help=argparse.SUPPRESS)  # internal: one memory run in this process
    return parser.parse_args(argv)


# ----------------------------------------------------------------------------- building
def model_config(args, implementation: str, channels_last: bool = False,
                 compile_generator: bool = False) -> dict:
    """The config's model, width-scaled, with random VGG weights and the given switches."""
    model = copy.deepcopy(Config.fromfile(args.config).model)
    generator = model.generator
    generator.base_channels = args.width
    if args.num_levels is not None:
        generator.num_levels = args.num_levels
    if generator.attention.get('type') != 'SGA':
        raise ValueError(f'the config must use SGA attention, got {generator.attention.type}')
    generator.attention.implementation = implementation
    if implementation == 'chunked' and args.chunk_size is not None:
        generator.attention.chunk_size = args.chunk_size
    if model.get('perceptual_loss'):
        model.perceptual_loss.pretrained = None
    model.data_preprocessor = dict(type='ColorizationDataPreprocessor',
                                   channels_last=channels_last)
    model.compile_generator = compile_generator
    return model.to_dict()


def build_model(cfg: dict, state: dict, device: str):
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # PerceptualLoss(pretrained=None) says it is random
        model = MODELS.build(cfg)
    model.load_state_dict(state)
    return model.to(device).train()


def optim_wrappers(model, amp, device: str) -> OptimWrapperDict:
    """Adam(0.5, 0.999) per sub-network, lr of the paper; bf16 / fp16 wrappers for ``amp``."""
    def wrap(module, lr):
        optimizer = torch.optim.Adam(module.parameters(), lr=lr, betas=(0.5, 0.999))
        if not amp:
            return OptimWrapper(optimizer)
        if device.startswith('cuda'):
            # fp16 needs loss scaling; bf16 has fp32's range and needs none
            dtype = amp_dtype(amp, device)
            return AmpOptimWrapper(optimizer=optimizer, dtype=dtype,
                                   loss_scale='dynamic' if dtype == torch.float16 else 1.0)
        return AutocastOptimWrapper(optimizer=optimizer, dtype='bfloat16', device_type='cpu')
    return OptimWrapperDict(generator=wrap(model.generator, 1e-4),
                            discriminator=wrap(model.discriminator, 2e-4))


def make_batch(args, seed: int = 0) -> dict:
    """A collated batch of random uint8 images, as the dataloader hands it to train_step."""
    g = torch.Generator().manual_seed(seed)

    def image(channels):
        return torch.randint(0, 256, (channels, args.size, args.size), generator=g,
                             dtype=torch.uint8)
    return dict(inputs=dict(sketch=[image(1) for _ in range(args.batch)],
                            reference=[image(3) for _ in range(args.batch)]),
                data_samples=[ColorizationDataSample(target=image(3))
                              for _ in range(args.batch)])


# ----------------------------------------------------------------------------- the two steps
def authors_perceptual(loss, fake: torch.Tensor, real: torch.Tensor) -> Dict[str, torch.Tensor]:
    """``PerceptualLoss.forward`` as the authors' ``percep_style``: target features with grad."""
    fake_feats, real_feats = loss._features(fake), loss._features(real)
    perceptual = sum(F.l1_loss(f, r) for f, r in zip(fake_feats, real_feats))
    style = sum(F.l1_loss(gram_matrix(f, loss.gram_mode), gram_matrix(r, loss.gram_mode))
                for f, r in zip(fake_feats, real_feats))
    return dict(loss_perceptual=loss.perceptual_weight * perceptual,
                loss_style=loss.style_weight * style)


def _authors_update(losses: dict, optim_wrapper: OptimWrapperDict, name: str) -> None:
    for wrapper in optim_wrapper.values():  # the authors' reset_grad: both optimisers
        wrapper.optimizer.zero_grad()
    sum(losses.values()).backward()
    optim_wrapper[name].optimizer.step()


def authors_step(model, data: dict, optim_wrapper: OptimWrapperDict, two_forwards: bool = True,
                 vgg_target_grad: bool = True,
                 train_d_in_g_step: bool = True) -> Dict[str, torch.Tensor]:
    """``Solver.D_train`` then ``Solver.G_train`` of the authors' code, on this model's parts.

    The keyword switches turn one of the authors' choices into the project's (``--ablate``):
    ``two_forwards=False`` reuses the D step's fake image, ``vgg_target_grad=False`` computes
    the target's VGG features under ``no_grad`` (with the VGG frozen by the caller),
    ``train_d_in_g_step=False`` freezes the discriminator in the generator step.
    """
    data = model.data_preprocessor(data, True)
    sketch, reference, target = (data['inputs'][k] for k in ('sketch', 'reference', 'target'))
    gen, disc, adv = model.generator, model.discriminator, model.adversarial_loss
    fake = gen(sketch, reference)  # D step: a generator forward of its own, with graph
    d_losses = dict(loss_d_real=adv(disc(target, sketch), True, True),
                    loss_d_fake=adv(disc(fake.detach(), sketch), False, True))
    _authors_update(d_losses, optim_wrapper, 'discriminator')
    if two_forwards:
        fake = gen(sketch, reference)  # G step: the second forward, same weights
    with nullcontext() if train_d_in_g_step else frozen(disc):
        g_losses = dict(loss_rec=model.reconstruction_loss(fake, target),
                        loss_g_adv=adv(disc(fake, sketch), True, False))
        if model.perceptual_loss is not None:
            g_losses.update(authors_perceptual(model.perceptual_loss, fake, target)
                            if vgg_target_grad else model.perceptual_loss(fake, target))
    _authors_update(g_losses, optim_wrapper, 'generator')
    return {k: v.detach() for k, v in {**d_losses, **g_losses}.items()}


def project_step(model, data: dict, optim_wrapper: OptimWrapperDict) -> Dict[str, torch.Tensor]:
    return model.train_step(data, optim_wrapper)


# name: how it differs from a chunked, fp32, NCHW, eager model; the authors' variants use the
# materialised map and an unfrozen VGG unless they say otherwise
AUTHORS = dict(implementation='naive', vgg_trainable=True)
VARIANT_SPECS = {
    'authors': dict(AUTHORS, step=authors_step),
    'authors+one_forward': dict(AUTHORS, step=partial(authors_step, two_forwards=False)),
    'authors+vgg_target_no_grad': dict(implementation='naive',
                                       step=partial(authors_step, vgg_target_grad=False)),
    'authors+frozen_d': dict(AUTHORS, step=partial(authors_step, train_d_in_g_step=False)),
    'project': dict(step=project_step),
    'project_amp': dict(step=project_step, amp=True),
    'project_amp_bf16': dict(step=project_step, amp='bfloat16'),
    'project_channels_last': dict(step=project_step, channels_last=True),
    'project_compile': dict(step=project_step, compile_generator=True),
}


def selected_variants(args) -> List[str]:
    names = ['authors']
    if args.ablate:
        names += ['authors+one_forward', 'authors+vgg_target_no_grad', 'authors+frozen_d']
    names.append('project')
    for flag, name in ((args.amp, 'project_amp'), (args.amp_bf16, 'project_amp_bf16'),
                       (args.channels_last, 'project_channels_last'),
                       (args.compile, 'project_compile')):
        if flag:
            names.append(name)
    return names


def build_variant(name: str, args, state: dict) -> dict:
    spec = VARIANT_SPECS[name]
    amp = spec.get('amp', False)
    cfg = model_config(args, spec.get('implementation', 'chunked'),
                       spec.get('channels_last', False), spec.get('compile_generator', False))
    model = build_model(cfg, state, args.device)
    if spec.get('vgg_trainable') and model.perceptual_loss is not None:
        model.perceptual_loss.vgg.requires_grad_(True)  # the authors' VGG is not frozen
    return dict(model=model, step=spec['step'], amp=amp,
                optim=optim_wrappers(model, amp, args.device))


# ----------------------------------------------------------------------------- measurements
def loss_agreement(args, state: dict, batch: dict) -> dict:
    """Loss terms of one authors' step and one project step, both from ``state``."""
    losses = {}
    for name in ('authors', 'project'):
        variant = build_variant(name, args, state)
        log = variant['step'](variant['model'], batch, variant['optim'])
        losses[name] = {k: float(v) for k, v in log.items()}
    diffs = {k: abs(losses['authors'][k] - losses['project'][k]) for k in losses['project']}
    rel = {k: d / max(abs(losses['authors'][k]), 1e-12) for k, d in diffs.items()}
    return dict(losses=losses, max_abs_diff=max(diffs.values()), max_rel_diff=max(rel.values()))


def _memory_child(args) -> None:
    torch.manual_seed(0)
    cfg = model_config(args, args.measure_memory)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        model = MODELS.build(cfg).to(args.device).train()

    def forward_backward(batch):
        inputs = model.data_preprocessor(batch, True)['inputs']
        fake = model.generator(inputs['sketch'], inputs['reference'])
        F.l1_loss(fake, inputs['target']).backward()
    # warm-up on the smallest valid input: kernels, thread pools and .grad buffers
    tiny = copy.copy(args)
    tiny.size, tiny.batch = 2 * model.generator.size_divisor, 2
    forward_backward(make_batch(tiny))
    batch = make_batch(args)
    peak = measure_memory(lambda: forward_backward(batch), args.device)
    print(strict_dumps(dict(peak_mib=peak)))


def peak_memory(args) -> Dict[str, float]:
    """Peak extra memory (MiB) of one generator forward + backward, per implementation."""
    out = {}
    for implementation in ('naive', 'chunked'):
        cmd = [sys.executable, os.path.abspath(__file__), '--measure-memory', implementation,
               '--config', args.config, '--size', str(args.size), '--width', str(args.width),
               '--batch', str(args.batch), '--device', args.device]
        for flag, value in (('--num-levels', args.num_levels), ('--chunk-size', args.chunk_size),
                            ('--threads', args.threads)):
            if value is not None:
                cmd += [flag, str(value)]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
        out[implementation] = json.loads(proc.stdout.strip().splitlines()[-1])['peak_mib']
    return out


# ----------------------------------------------------------------------------- report
def markdown(result: dict) -> str:
    cfg = result['config']
    load = result['load_average']
    lines = [f"{cfg['size']} px, base_channels {cfg['width']}, num_levels {cfg['num_levels']} "
             f"({cfg['tokens']} attention tokens, chunk_size {cfg['chunk_size']}), "
             f"batch {cfg['batch']}, {result['environment']['device']}, "
             f"{result['environment']['torch_threads']} threads, median of {cfg['repeats']}, "
             f"load average {load['before'][0]:.1f} -> {load['after'][0]:.1f}"]
    if 'train' in result:
        lines += ['', '| variant | train img/s | vs authors (wall / CPU) | inference img/s | '
                  'vs authors (wall / CPU) |', '|---|---:|---:|---:|---:|']
        for name in result['train']:
            cells = []
            for part in ('train', 'inference'):
                r, base = result[part][name], result[part]['authors']
                cells.append(f"{r['images_per_s']:.2f} | "
                             f"{r['images_per_s'] / base['images_per_s']:.2f}x / "
                             f"{r['images_per_cpu_s'] / base['images_per_cpu_s']:.2f}x")
            lines.append(f'| {name} | {cells[0]} | {cells[1]} |')
        agree = result['loss_agreement']
        lines += ['', '| loss | authors | project | abs diff |', '|---|---:|---:|---:|']
        for k, a in agree['losses']['authors'].items():
            p = agree['losses']['project'][k]
            lines.append(f'| {k} | {a:.7g} | {p:.7g} | {abs(a - p):.1e} |')
        lines.append(f"\nmax abs diff {agree['max_abs_diff']:.1e}, "
                     f"max rel diff {agree['max_rel_diff']:.1e}")
    if 'peak_memory_mib' in result:
        mem = result['peak_memory_mib']
        lines += ['', '| attention | peak MiB, one generator forward + backward |', '|---|---:|']
        lines += [f'| {k} | {v:.0f} |' for k, v in mem.items()]
    return '\n'.join(lines)


def run(args) -> dict:
    torch.manual_seed(0)
    reference_cfg = model_config(args, 'chunked')
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        state = copy.deepcopy(MODELS.build(reference_cfg).state_dict())
    generator = reference_cfg['generator']
    result = dict(config=dict(config=str(args.config), size=args.size, width=args.width,
                              num_levels=generator['num_levels'], batch=args.batch,
                              chunk_size=generator['attention'].get('chunk_size', 'default'),
                              repeats=args.repeats, iters=args.iters,
                              tokens=(args.size // 2**(generator['num_levels'] - 1))**2),
                  environment=environment(args.device), load_average=dict(before=os.getloadavg()))
    if not args.no_speed:
        batch = make_batch(args)
        result['loss_agreement'] = loss_agreement(args, state, batch)
        variants = {name: build_variant(name, args, state) for name in selected_variants(args)}
        result['train'] = train_throughput(variants, batch, args)
        result['inference'] = inference_throughput(variants, batch, args)
    if args.memory:
        result['peak_memory_mib'] = peak_memory(args)
    result['load_average']['after'] = os.getloadavg()
    return result


def main(argv=None) -> dict:
    args = parse_args(argv)
    if args.quick:
        args.size, args.width, args.num_levels, args.batch, args.repeats = 16, 2, 3, 2, 1
        args.chunk_size, args.amp, args.amp_bf16, args.channels_last = 8, True, True, True
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.measure_memory:
        _memory_child(args)
        return {}
    watch = LoadWatch()
    result = run(args)
    payload = write_record(args.out, result, watch)
    print(markdown(result))
    print(f'\nwrote {args.out}')
    return payload


if __name__ == '__main__':
    main()
