"""Peak memory of inference (``colorize``) against input size, batch and batching policy.

Each case runs in a fresh subprocess: the model is built (random weights: memory does not
depend on their values), one tiny pair is colourised to load kernels and thread pools, then the
case's pairs are colourised once. Reported per case:

* ``peak_rss_mib``: the process's resident-set high-water mark at the end (``VmHWM``; the whole
  process: Python, libraries, model, images);
* ``added_mib``: growth of that high-water mark during the case, above the warmed-up model (the
  peak is reset through ``/proc/self/clear_refs`` where Linux allows, as in
  ``bench_attention.py``);
* ``passes``: the forward passes and their batch sizes; ``seconds``: wall time of the case;
* ``kept_attention_bytes`` / ``_mib``: memory the returned attention maps hold (cases with
  attention).

Batching policies: ``count`` is the former behaviour (``--batch-size`` pairs per pass, no pixel
budget); ``pixels`` is a pixel budget (``max_batch_pixels``). Attention policies: ``full`` keeps
the ``(N, N')`` map, ``pooled`` the default cap of cells, ``point`` one exact row.

Example::

    python benchmarks/bench_colorize_memory.py --out docs/records/bench_colorize_memory_cpu.json
"""
import argparse
import json
import os
import subprocess
import sys
import time
from typing import List

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # benchmark_record, bench_attention
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # colorizer

import numpy as np  # noqa: E402
from benchmark_record import LoadWatch, write_record  # noqa: E402
from colorizer.fileio import strict_dumps  # noqa: E402

_UNLIMITED = 10**12


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--config', default='configs/sga/sga_demo.py',
                        help='model config (default: the demo model, stride 8: a 1024² input '
                        'has 16384 attention tokens)')
    parser.add_argument('--sizes', type=int, nargs='+', default=[256, 512],
                        help='square input sides of the batch cases')
    parser.add_argument('--images', type=int, default=4, help='pairs per batch case')
    parser.add_argument('--budget', type=int, default=256 * 256,
                        help="max_batch_pixels of the 'pixels' policy in the batch cases")
    parser.add_argument('--large', type=int, default=768,
                        help='side of the one large sketch among small ones')
    parser.add_argument('--small', type=int, default=64, help='side of the small sketches')
    parser.add_argument('--num-small', type=int, default=16, help='small sketches')
    parser.add_argument('--attention-size', type=int, default=1024,
                        help='input side of the attention cases')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--out', help='JSON record (default: print only)')
    parser.add_argument('--child', help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def cases(args) -> List[dict]:
    out = []
    for size in args.sizes:
        for policy, budget, count in (('count', _UNLIMITED, args.images),
                                      ('pixels', args.budget, None)):
            out.append(dict(name=f'{args.images} x {size}² ({policy})', sizes=[size] * args.images,
                            policy=policy, max_batch_pixels=budget, batch_size=count))
    mixed = [args.small] * (args.num_small // 2) + [args.large] + [args.small] * (
        args.num_small - args.num_small // 2)
    out.append(dict(name=f'{args.num_small} x {args.small}² only', policy='pixels',
                    sizes=[args.small] * args.num_small, max_batch_pixels=args.budget,
                    batch_size=None))
    out.append(dict(name=f'1 x {args.large}² among {args.num_small} x {args.small}²',
                    policy='pixels', sizes=mixed, max_batch_pixels=args.budget,
                    batch_size=None))
    for attention in ('full', 'pooled', 'point'):
        out.append(dict(name=f'1 x {args.attention_size}², attention {attention}',
                        policy='pixels', sizes=[args.attention_size],
                        max_batch_pixels=args.budget, batch_size=None, attention=attention))
    return out


# ----------------------------------------------------------------------------- child
def run_case(case: dict, args) -> dict:
    import torch
    from mmengine.config import Config

    from bench_attention import measure_memory
    from colorizer.apis import colorize, init_model

    torch.manual_seed(0)
    model = init_model(Config.fromfile(args.config), None, device=args.device)
    rng = np.random.default_rng(0)

    def sketch(side):  # line art: white paper, dark strokes
        image = np.full((side, side), 255, np.uint8)
        image[rng.random((side, side)) < 0.05] = 0
        return image

    reference = rng.integers(0, 256, (256, 256, 3), dtype=np.uint8)
    colorize(model, sketch(32), reference)  # warm-up: kernels, thread pools
    sketches = [sketch(side) for side in case['sizes']]
    passes = []
    forward = model.generator.forward

    def counting(s, r, **kwargs):
        passes.append(int(s.shape[0]))
        return forward(s, r, **kwargs)

    model.generator.forward = counting
    attention = case.get('attention')
    kwargs = dict(max_batch_pixels=case['max_batch_pixels'], batch_size=case['batch_size'])
    if attention is not None:
        kwargs.update(return_attention=True,
                      attention_cells=None if attention == 'full' else 64 * 64,
                      attention_points=[(5.0, 5.0)] if attention == 'point' else None)
    result = {}

    def work():
        start = time.perf_counter()
        result['out'] = colorize(model, sketches, reference, **kwargs)
        result['seconds'] = time.perf_counter() - start

    added = measure_memory(work, args.device)
    with open('/proc/self/status') as f:
        hwm = next(int(line.split()[1]) for line in f if line.startswith('VmHWM:'))
    row = dict(case, added_mib=round(added, 1), peak_rss_mib=round(hwm / 1024, 1),
               passes=passes, seconds=round(result['seconds'], 2))
    if attention is not None:
        row['kept_attention_bytes'] = sum(m.nbytes for m in result['out'][1])
        row['kept_attention_mib'] = round(row['kept_attention_bytes'] / 2**20, 3)
        row['attention_grid'] = list(result['out'][1][0].sketch_grid)
    return row


# ----------------------------------------------------------------------------- parent
def markdown(result: dict) -> str:
    lines = ['| case | policy | passes (batch sizes) | peak RSS MiB | added MiB | kept attention '
             'MiB | s |', '|---|---|---|---:|---:|---:|---:|']
    for r in result['cases']:
        budget = ('no budget' if r['max_batch_pixels'] >= _UNLIMITED
                  else f"{r['max_batch_pixels']} px")
        policy = f"{r['policy']} ({budget}" + (
            f", {r['batch_size']} a pass)" if r['batch_size'] else ')')
        passes = r['passes'] if len(r['passes']) <= 6 else f"{len(r['passes'])} passes"
        kept = r.get('kept_attention_mib', '')
        lines.append(f"| {r['name']} | {policy} | {passes} | {r['peak_rss_mib']:.0f} | "
                     f"{r['added_mib']:.0f} | {kept} | {r['seconds']:.1f} |")
    return '\n'.join(lines)


def main(argv=None) -> dict:
    args = parse_args(argv)
    if args.child:
        print(strict_dumps(run_case(json.loads(args.child), args)))
        return {}
    watch = LoadWatch()
    rows = []
    for case in cases(args):
        cmd = [sys.executable, os.path.abspath(__file__), '--config', args.config,
               '--device', args.device, '--child', strict_dumps(case)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"case {case['name']} failed:\n{proc.stderr[-3000:]}")
        rows.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        print(f"{rows[-1]['name']}: peak {rows[-1]['peak_rss_mib']} MiB, added "
              f"{rows[-1]['added_mib']} MiB, passes {rows[-1]['passes']}", flush=True)
    import torch
    result = dict(config=args.config, device=args.device, cases=rows)
    if args.out:
        write_record(args.out, result, watch, torch.get_num_threads())
    print(markdown(result))
    return result


if __name__ == '__main__':
    main()
