"""Smoke run of multi-process training through ``tools/dist_train.sh``; writes a JSON record.

On a machine with at least two CUDA devices it starts two processes over NCCL (one GPU each)
on the demo config for ``--iters`` iterations; ``--quick`` (or no CUDA) runs the same two
processes over gloo on the CPU for 2 iterations. The record holds the backend, the exit
status, the wall time, the last logged losses of rank 0 and the tail of the output.

Example::

    python benchmarks/bench_dist_smoke.py --out work_dirs/gpu/dist_smoke.json
"""
import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from benchmark_record import LoadWatch, write_record

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / 'configs' / 'sga' / 'sga_demo.py'
QUICK_OPTIONS = [
    f'{loader}.{option}' for loader in ('train_dataloader', 'val_dataloader')
    for option in ('batch_size=4', 'num_workers=0', 'persistent_workers=False',
                   'dataset.img_size=32')] + ['val_dataloader.dataset.length=4']


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--config', default=str(CONFIG))
    parser.add_argument('--iters', type=int, default=50, help='training iterations')
    parser.add_argument('--procs', type=int, default=2, help='processes (GPUs)')
    parser.add_argument('--quick', action='store_true', help='gloo on CPU, 2 iterations')
    parser.add_argument('--timeout', type=float, default=600.0, help='seconds')
    parser.add_argument('--out', default='work_dirs/bench_dist_smoke.json', help='JSON record')
    args = parser.parse_args(argv)
    if args.quick:
        args.iters = 2
    return args


def backend_for(args) -> str:
    """``'nccl'`` with one CUDA device per process, else ``'gloo'`` (CPU processes)."""
    if not args.quick and torch.cuda.is_available() and torch.cuda.device_count() >= args.procs:
        return 'nccl'
    return 'gloo'


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _last_losses(work_dir: Path) -> dict:
    """rank 0's last logged training scalars (MMEngine's ``vis_data/scalars.json``)."""
    for path in sorted(work_dir.glob('*/vis_data/scalars.json')):
        rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        train = [r for r in rows if any(k.startswith('loss') for k in r)]
        if train:
            return {k: v for k, v in train[-1].items() if k.startswith('loss') or k == 'iter'}
    return {}


def run(args) -> dict:
    backend = backend_for(args)
    env = dict(os.environ, MASTER_PORT=str(_free_port()), PYTHON=sys.executable)
    if backend == 'gloo':
        env['CUDA_VISIBLE_DEVICES'] = ''  # CPU processes, even where a GPU is present
        env.setdefault('OMP_NUM_THREADS', '1')
    with tempfile.TemporaryDirectory() as work:
        cmd = ['bash', str(ROOT / 'tools' / 'dist_train.sh'), args.config, str(args.procs),
               '--work-dir', work, '--cfg-options', f'train_cfg.max_iters={args.iters}',
               f'train_cfg.val_interval={args.iters}', 'default_hooks.logger.interval=1']
        if args.quick:  # smoke-test sizes: 32 px, batch 4, loading in the main process
            cmd += QUICK_OPTIONS
        start = time.perf_counter()
        try:
            proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True,
                                  timeout=args.timeout)
            rc, output = proc.returncode, proc.stdout + proc.stderr
        except subprocess.TimeoutExpired as err:
            rc, output = 124, f'timed out after {args.timeout} s\n{err.stdout or ""}'
        wall = time.perf_counter() - start
        losses = _last_losses(Path(work))
    return dict(backend=backend, processes=args.procs, iterations=args.iters, returncode=rc,
                ok=rc == 0 and bool(losses), wall_s=wall, last_losses=losses,
                command=' '.join(cmd[:4]), output_tail=output[-3000:])


def main(argv=None) -> dict:
    args = parse_args(argv)
    watch = LoadWatch()
    result = run(args)
    payload = write_record(args.out, result, watch)
    print(f"{result['backend']}: {result['processes']} processes, {result['iterations']} "
          f"iterations, exit {result['returncode']}, {result['wall_s']:.1f} s, "
          f"last losses {result['last_losses']}")
    print(f'wrote {args.out}')
    if not result['ok']:
        print(result['output_tail'], file=sys.stderr)
    return payload


if __name__ == '__main__':
    sys.exit(0 if main()['ok'] else 1)
