"""SGA's attention as written in the paper against the project's chunked implementation.

Paper form (Algorithm 1 and the authors' code): the (B, N, N) map ``A = X Yᵀ`` is materialised
under ``no_grad``, softmax over keys, L1-normalised over queries (``F.normalize(p=1, dim=-2)``),
then ``bmm`` with the values. Project form: ``sga_aggregate(..., implementation='chunked')``
(column sums accumulated in chunks of query rows, then one fused attention call on the
re-scaled values; the values' gradient is one more fused call).

For every token count N (C channels, batch B) it reports, per variant:

* time of a forward (``no_grad``, inference) and of a forward + backward of the values branch
  (training): median of ``--repeats`` runs, the variants interleaved (A, B, A, B...);
* peak extra memory of each: on CPU the growth of the peak resident set (``VmHWM``, reset
  through ``/proc/self/clear_refs``; ``ru_maxrss`` where that is refused) in a fresh
  subprocess per (variant, N, mode), so that one run's allocations cannot hide another's;
  on CUDA ``torch.cuda.max_memory_allocated`` above the inputs;
* the largest absolute difference between the variants' outputs and between their gradients
  with respect to the values.

Example::

    python benchmarks/bench_attention.py --out work_dirs/bench_attention.json
    python benchmarks/bench_attention.py --sizes 256 1024 --channels 64 --repeats 3
"""
import argparse
import inspect
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from typing import Callable, Dict, List

import torch
from benchmark_record import LoadWatch, write_record
import torch.nn.functional as F

from colorizer.models.attention.sga_kernels import sga_aggregate
from colorizer.fileio import strict_dumps

VARIANTS = ('paper', 'chunked')
DEFAULT_CHUNK = inspect.signature(sga_aggregate).parameters['chunk_size'].default
MODES = ('forward', 'train')


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--sizes', type=int, nargs='+', default=[256, 1024, 4096, 16384],
                        help='token counts N (= H·W of the attention)')
    parser.add_argument('--channels', type=int, default=256, help='C')
    parser.add_argument('--batch', type=int, default=2, help='B')
    parser.add_argument('--repeats', type=int, default=3, help='timed runs per variant')
    parser.add_argument('--chunk-size', type=int, default=DEFAULT_CHUNK,
                        help='query rows per chunk of the chunked path (default: SGA\'s)')
    parser.add_argument('--logit-std', type=float, default=4.0,
                        help='standard deviation of the logits x·y: larger = peakier maps')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--threads', type=int, default=None,
                        help="torch CPU threads (default: torch's); 1 keeps a loaded machine's "
                        'CPU times free of other threads spinning at barriers')
    parser.add_argument('--no-memory', action='store_true', help='skip the memory runs')
    parser.add_argument('--no-reference', action='store_true',
                        help='skip the float64 reference (the errors of both variants)')
    parser.add_argument('--out', default='work_dirs/bench_attention.json', help='JSON record')
    parser.add_argument('--quick', action='store_true',
                        help='tiny sizes for a smoke test (N=48, C=8, B=1, one repeat)')
    parser.add_argument('--measure-memory', nargs=3, metavar=('VARIANT', 'N', 'MODE'),
                        help=argparse.SUPPRESS)  # internal: one memory run in this process
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.channels, args.batch, args.repeats, args.chunk_size = [48], 8, 1, 1, 16
    return args


# ----------------------------------------------------------------------------- the two forms
def paper_attention(x: torch.Tensor, y: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
    """Algorithm 1 verbatim: materialised map, softmax, L1 over the query axis, bmm."""
    with torch.no_grad():
        attn = torch.bmm(x, y.transpose(1, 2)).softmax(dim=-1)  # (B, N, N)
        attn = F.normalize(attn, p=1, dim=-2)
    return torch.bmm(attn, value)  # (B, N, C)


def chunked_attention(chunk_size: int) -> Callable:
    """The project's path, as SGA(implementation='chunked') calls it."""
    def attention(x, y, value):
        return sga_aggregate(x, y, value, norm='double', stop_grad=True,
                             implementation='chunked', chunk_size=chunk_size)
    return attention


def make_inputs(n: int, args, seed: int = 0) -> Dict[str, torch.Tensor]:
    """x, y (B, N, C) with logits of std ``logit_std``; values and an output gradient."""
    g = torch.Generator().manual_seed(seed)
    std = (args.logit_std / args.channels**0.5)**0.5  # std(x·y) = std² · sqrt(C)
    shape = (args.batch, n, args.channels)
    tensors = dict(x=std * torch.randn(shape, generator=g), y=std * torch.randn(shape, generator=g),
                   value=torch.randn(shape, generator=g), grad=torch.randn(shape, generator=g))
    return {k: v.to(args.device) for k, v in tensors.items()}


def run_once(fn: Callable, inputs: dict, mode: str):
    """One forward (no_grad) or forward + backward of the values branch.

    Returns:
        (output, gradient of the values or None).
    """
    if mode == 'forward':
        with torch.no_grad():
            return fn(inputs['x'], inputs['y'], inputs['value']), None
    value = inputs['value'].detach().requires_grad_()
    out = fn(inputs['x'], inputs['y'], value)
    out.backward(inputs['grad'])
    return out.detach(), value.grad


def _sync(device: str) -> None:
    if device.startswith('cuda'):
        torch.cuda.synchronize()


# ----------------------------------------------------------------------------- memory
def _rss_kib(field: str) -> int:
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1])
    raise KeyError(field)


def _reset_peak_rss() -> bool:
    # Linux: writing 5 resets VmHWM to the current RSS, so the peak belongs to what follows
    try:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')
        return True
    except OSError:
        return False


def measure_memory(work: Callable[[], object], device: str) -> float:
    """Peak memory (MiB) that calling ``work()`` adds to what is allocated before it."""
    if device.startswith('cuda'):
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        work()
        torch.cuda.synchronize()
        return (torch.cuda.max_memory_allocated() - base) / 2**20
    if _reset_peak_rss():
        # VmHWM, not VmRSS: the reset set it to the RSS of that instant, and it only grows, so
        # pages touched between the reset and this read cannot make the growth negative.
        base = _rss_kib('VmHWM')
        work()
        return (_rss_kib('VmHWM') - base) / 1024
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    work()
    return (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) / 1024


def _memory_child(args) -> None:
    variant, n, mode = args.measure_memory[0], int(args.measure_memory[1]), args.measure_memory[2]
    fn = variant_fn(variant, args)
    run_once(fn, make_inputs(min(n, 64), args, seed=1), mode)  # load kernels, thread pools
    inputs = make_inputs(n, args)
    peak = measure_memory(lambda: run_once(fn, inputs, mode), args.device)
    print(strict_dumps(dict(peak_mib=peak)))


def memory_in_subprocess(variant: str, n: int, mode: str, args) -> float:
    """Run :func:`measure_memory` in a fresh interpreter; returns MiB."""
    cmd = [sys.executable, os.path.abspath(__file__), '--measure-memory', variant, str(n), mode,
           '--channels', str(args.channels), '--batch', str(args.batch),
           '--chunk-size', str(args.chunk_size), '--logit-std', str(args.logit_std),
           '--device', args.device]
    if args.threads:
        cmd += ['--threads', str(args.threads)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])['peak_mib']


# ----------------------------------------------------------------------------- timing
def variant_fn(variant: str, args) -> Callable:
    return paper_attention if variant == 'paper' else chunked_attention(args.chunk_size)


def time_interleaved(fns: Dict[str, Callable], inputs: dict, mode: str, args) -> Dict:
    """Median wall and CPU seconds per variant, runs interleaved; also the last results.

    CPU time (all threads of this process) is reported beside wall time because on a shared
    machine the wall time also measures the other processes.
    """
    times = {name: dict(wall=[], cpu=[]) for name in fns}
    results = {}
    for name, fn in fns.items():  # warm-up at a small size: kernel choice, thread pools
        run_once(fn, make_inputs(min(inputs['x'].shape[1], 256), args, seed=1), mode)
    for _ in range(args.repeats):
        for name, fn in fns.items():
            _sync(args.device)
            wall, cpu = time.perf_counter(), time.process_time()
            results[name] = run_once(fn, inputs, mode)
            _sync(args.device)
            times[name]['wall'].append(time.perf_counter() - wall)
            times[name]['cpu'].append(time.process_time() - cpu)
    return dict(times=times, results=results)


def reference_results(inputs: dict, args) -> Dict:
    """Output and values' gradient in float64 (chunked path: O(N) memory, same algebra)."""
    inputs64 = {k: v.double() for k, v in inputs.items()}
    return {mode: run_once(chunked_attention(args.chunk_size), inputs64, mode)
            for mode in MODES}


def _max_diff(a, b) -> float:
    return float((a - b).abs().max()) if a is not None and b is not None else float('nan')


def sdpa_backends(fn: Callable, inputs: dict, mode: str) -> List[str]:
    """The fused-attention kernels PyTorch dispatched ``fn`` to (profiler op names).

    ``scaled_dot_product_attention`` picks a backend at run time (flash, memory-efficient,
    cuDNN, or the math fallback that materialises the map); the aten op that ran names it,
    e.g. ``aten::_scaled_dot_product_efficient_attention``.
    """
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        run_once(fn, inputs, mode)
    names = {e.key for e in prof.key_averages()}
    return sorted(n for n in names if n.startswith('aten::_scaled_dot_product')
                  or n.startswith('aten::_flash_attention') or n.startswith(
                      'aten::_efficient_attention'))


def bench_size(n: int, args) -> dict:
    """Every measurement for one token count."""
    fns = {v: variant_fn(v, args) for v in VARIANTS}
    inputs = make_inputs(n, args)
    reference = None if args.no_reference else reference_results(inputs, args)
    row = dict(tokens=n, variants={v: {} for v in VARIANTS})
    # which fused kernel the chunked path's attention calls ran on (the math fallback would
    # materialise the map the chunking avoids)
    row['sdpa_backend'] = {mode: sdpa_backends(fns['chunked'], inputs, mode) for mode in MODES}
    for mode in MODES:
        timed = time_interleaved(fns, inputs, mode, args)
        for v in VARIANTS:
            r, (out, grad) = row['variants'][v], timed['results'][v]
            for clock in ('wall', 'cpu'):
                r[f'{mode}_{clock}_s'] = statistics.median(timed['times'][v][clock])
                r[f'{mode}_{clock}_runs_s'] = timed['times'][v][clock]
            if reference is not None:
                r[f'{mode}_err_out_vs_fp64'] = _max_diff(out, reference[mode][0])
                if mode == 'train':
                    r['train_err_grad_value_vs_fp64'] = _max_diff(grad, reference[mode][1])
        (out_p, grad_p), (out_c, grad_c) = (timed['results'][v] for v in VARIANTS)
        row[f'{mode}_max_abs_diff_out'] = _max_diff(out_p, out_c)
        if mode == 'train':
            row['train_max_abs_diff_grad_value'] = _max_diff(grad_p, grad_c)
            row['max_abs_out'] = float(out_p.abs().max())
        for clock in ('wall', 'cpu'):
            row[f'{mode}_speedup_{clock}'] = (row['variants']['paper'][f'{mode}_{clock}_s']
                                              / row['variants']['chunked'][f'{mode}_{clock}_s'])
    if not args.no_memory:
        for mode in MODES:
            for v in VARIANTS:
                row['variants'][v][f'{mode}_peak_mib'] = memory_in_subprocess(v, n, mode, args)
            paper = row['variants']['paper'][f'{mode}_peak_mib']
            # tiny sizes fit in memory the allocator already holds: no ratio to report
            row[f'{mode}_memory_ratio'] = (
                row['variants']['chunked'][f'{mode}_peak_mib'] / paper if paper > 1 else None)
    return row


# ----------------------------------------------------------------------------- report
def environment(device: str) -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        with open('/proc/cpuinfo') as f:
            cpu = next(line.split(':', 1)[1].strip() for line in f if line.startswith('model name'))
    except (OSError, StopIteration):
        pass
    env = dict(cpu=cpu, cores=os.cpu_count(), torch_threads=torch.get_num_threads(),
               torch=torch.__version__, python=platform.python_version(), device=device)
    if device.startswith('cuda'):
        env['gpu'] = torch.cuda.get_device_name()
    return env


def _fmt_mib(value) -> str:
    return f'{value:.0f}' if value is not None else '-'


def _fmt_err(row: dict, key: str) -> str:
    return f'{row[key]:.1e}' if key in row else '-'


def markdown(result: dict) -> str:
    cfg = result['config']
    load = result['load_average']
    lines = [f"B = {cfg['batch']}, C = {cfg['channels']}, chunk_size = {cfg['chunk_size']}, "
             f"logit std {cfg['logit_std']}, {result['environment']['device']}, "
             f"{result['environment']['torch_threads']} threads, median of {cfg['repeats']}, "
             f"load average {load['before'][0]:.1f} -> {load['after'][0]:.1f}",
             '',
             '| N | variant | fwd ms (wall / CPU) | fwd+bwd ms (wall / CPU) | peak MiB fwd | '
             'peak MiB fwd+bwd | err out vs fp64 | err grad V vs fp64 |',
             '|---:|---|---:|---:|---:|---:|---:|---:|']
    for row in result['rows']:
        for v in VARIANTS:
            r = row['variants'][v]
            lines.append(
                f"| {row['tokens']} | {v} | {1e3 * r['forward_wall_s']:.1f} / "
                f"{1e3 * r['forward_cpu_s']:.1f} | {1e3 * r['train_wall_s']:.1f} / "
                f"{1e3 * r['train_cpu_s']:.1f} | {_fmt_mib(r.get('forward_peak_mib'))} | "
                f"{_fmt_mib(r.get('train_peak_mib'))} | {_fmt_err(r, 'train_err_out_vs_fp64')} | "
                f"{_fmt_err(r, 'train_err_grad_value_vs_fp64')} |")
    lines += ['', '| N | speed-up fwd (wall / CPU) | speed-up fwd+bwd (wall / CPU) | '
              'memory fwd | memory fwd+bwd | max abs diff out | max abs diff grad V |',
              '|---:|---:|---:|---:|---:|---:|---:|']
    for row in result['rows']:
        mem = [f"1/{1 / row[f'{m}_memory_ratio']:.1f}" if row.get(f'{m}_memory_ratio') else '-'
               for m in MODES]
        lines.append(f"| {row['tokens']} | {row['forward_speedup_wall']:.2f}x / "
                     f"{row['forward_speedup_cpu']:.2f}x | {row['train_speedup_wall']:.2f}x / "
                     f"{row['train_speedup_cpu']:.2f}x | {mem[0]} | {mem[1]} | "
                     f"{row['train_max_abs_diff_out']:.1e} | "
                     f"{row['train_max_abs_diff_grad_value']:.1e} |")
    backends = {row['tokens']: row.get('sdpa_backend') for row in result['rows']}
    lines += ['', f'fused attention kernels of the chunked path (per N, forward / train): '
              f'{backends}']
    return '\n'.join(lines)


def main(argv=None) -> dict:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.measure_memory:
        _memory_child(args)
        return {}
    watch = LoadWatch()
    load_before = os.getloadavg()
    rows: List[dict] = []
    for n in args.sizes:
        rows.append(bench_size(n, args))
        print(f'N = {n} done', file=sys.stderr, flush=True)
    result = dict(config=dict(sizes=args.sizes, channels=args.channels, batch=args.batch,
                              repeats=args.repeats, chunk_size=args.chunk_size,
                              logit_std=args.logit_std, reference='chunked path in float64'),
                  environment=environment(args.device),
                  load_average=dict(before=load_before, after=os.getloadavg()), rows=rows)
    payload = write_record(args.out, result, watch)
    print(markdown(result))
    print(f'\nwrote {args.out}')
    return payload


if __name__ == '__main__':
    main()
