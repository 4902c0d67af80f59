"""Timing of the training and inference steps of ``bench_train_step.py``: wall and CPU seconds,
interleaved variants, images per second."""
import statistics
import time
from typing import Callable, Dict, Tuple

import torch

__all__ = ['amp_dtype', 'timed', 'train_throughput', 'inference_throughput']


def amp_dtype(amp, device: str) -> torch.dtype:
    """``amp`` True: fp16 on CUDA, bf16 on CPU (what ``--amp`` does); ``'bfloat16'``: bf16."""
    if amp == 'bfloat16' or not device.startswith('cuda'):
        return torch.bfloat16
    return torch.float16


def sync(device: str) -> None:
    if device.startswith('cuda'):
        torch.cuda.synchronize()


def timed(fn: Callable, device: str) -> Tuple[float, float]:
    """Wall and CPU seconds (all threads of this process) of ``fn()``.

    On a shared machine the wall time also measures the other processes; the CPU time does not.
    """
    sync(device)
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    sync(device)
    return time.perf_counter() - wall, time.process_time() - cpu


def record(runs: dict, timing: Tuple[float, float]) -> None:
    runs['runs_s'].append(timing[0])
    runs['cpu_runs_s'].append(timing[1])


def rates(runs: dict, images: int) -> None:
    runs['images_per_s'] = images / statistics.median(runs['runs_s'])
    runs['images_per_cpu_s'] = images / statistics.median(runs['cpu_runs_s'])


def train_throughput(variants: Dict[str, dict], batch: dict, args) -> Dict[str, dict]:
    """Interleaved timing of ``iters`` training iterations per sample; first call untimed."""
    out = {}
    for name, v in variants.items():
        warmup = timed(lambda: v['step'](v['model'], batch, v['optim']), args.device)[0]
        out[name] = dict(warmup_s=warmup, runs_s=[], cpu_runs_s=[])
    for _ in range(args.repeats):
        for name, v in variants.items():
            def run(v=v):
                for _ in range(args.iters):
                    v['step'](v['model'], batch, v['optim'])
            record(out[name], timed(run, args.device))
    for r in out.values():
        rates(r, args.batch * args.iters)
    return out


def inference_throughput(variants: Dict[str, dict], batch: dict, args) -> Dict[str, dict]:
    """Interleaved timing of the generator in eval mode under ``no_grad``."""
    calls = {}
    for name, v in variants.items():
        model = v['model']
        inputs = model.data_preprocessor(batch, False)['inputs']  # channels_last where set

        def call(model=model, inputs=inputs, amp=v['amp']):
            device_type = args.device.split(':')[0]
            dtype = amp_dtype(amp, args.device)
            with torch.no_grad(), torch.autocast(device_type, dtype=dtype, enabled=bool(amp)):
                model.generator(inputs['sketch'], inputs['reference'])
        calls[name] = call
    for v in variants.values():
        v['model'].eval()
    out = {name: dict(warmup_s=timed(call, args.device)[0], runs_s=[], cpu_runs_s=[])
           for name, call in calls.items()}
    for _ in range(args.repeats):
        for name, call in calls.items():
            record(out[name], timed(call, args.device))
    for v in variants.values():
        v['model'].train()
    for r in out.values():
        rates(r, args.batch)
    return out
