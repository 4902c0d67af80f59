"""Training speed of the demo under torch's default threads and colorizer's thread policy,
on an idle and on a loaded machine.

Runs ``tools/train.py configs/sga/sga_demo.py`` as a subprocess for ``--iters`` iterations under
every combination of

- ``COLORIZER_THREADS=torch``: torch's default (one thread per physical core, OpenMP threads
  spin while waiting), the behaviour before ``colorizer/thread_policy.py``;
- ``COLORIZER_THREADS=auto``: passive waiting and threads = free cores (the default now);

and

- ``idle``: nothing but what already runs on the machine (its load is recorded);
- ``loaded``: ``--load-procs`` extra busy processes (Python spinning loops), killed at the end.

Seconds per iteration come from MMEngine's ``IterTimerHook`` (``time`` in
``vis_data/scalars.json``, logged every iteration with a window of 1), without the first
``--warmup`` iterations (start-up, data-loader workers). ``OMP_NUM_THREADS`` is removed from the
children's environment, so the policy under test decides. The JSON goes through
``benchmark_record.write_record`` (machine, libraries, load before and after, command); each run
also records the load average around it and the thread line the tool logged.

Examples::

    python benchmarks/bench_threads.py                       # docs/records/bench_threads.json
    python benchmarks/bench_threads.py --iters 40 --out /tmp/threads.json
    python benchmarks/bench_threads.py --quick --out /tmp/t.json   # tests: tiny model, seconds
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchmark_record import LoadWatch, write_record  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CONFIG = 'configs/sga/sga_demo.py'
SETTINGS = ('torch', 'auto')
LOADS = ('idle', 'loaded')

#: Options for every run: log each iteration with a window of one, no validation, no
#: checkpoints or sample grids inside the measured iterations.
_RUN_OPTIONS = [
    'default_hooks.logger.interval=1', 'log_processor.window_size=1',
    'train_cfg.val_interval=1000000', 'default_hooks.checkpoint.interval=1000000',
    'default_hooks.checkpoint.save_last=False', 'custom_hooks.1.interval=1000000',
]
#: --quick: the demo shrunk to seconds (32 px, base width 2, batch 4, no worker processes).
_QUICK_OPTIONS = [
    'train_dataloader.batch_size=4', 'train_dataloader.num_workers=0',
    'train_dataloader.persistent_workers=False', 'train_dataloader.dataset.img_size=32',
    'val_dataloader.dataset.img_size=32', 'test_dataloader.dataset.img_size=32',
    'model.generator.base_channels=2', 'model.discriminator.base_channels=4',
]
_THREAD_LINE = re.compile(r'CPU threads: .*')


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--iters', type=int, default=30, help='training iterations per run')
    parser.add_argument('--warmup', type=int, default=5,
                        help='first iterations left out of the s/iteration figures')
    parser.add_argument('--load-procs', type=int, default=2,
                        help='busy processes of the loaded condition')
    parser.add_argument('--settings', nargs='+', choices=SETTINGS, default=list(SETTINGS))
    parser.add_argument('--loads', nargs='+', choices=LOADS, default=list(LOADS))
    parser.add_argument('--quick', action='store_true',
                        help='tiny model and 3 iterations (tests)')
    parser.add_argument('--out', default=str(ROOT / 'docs' / 'records' / 'bench_threads.json'))
    args = parser.parse_args(argv)
    if args.quick:
        args.iters, args.warmup = 3, 1
    if args.iters <= args.warmup:
        parser.error('--iters must exceed --warmup')
    return args


class LoadGenerator:
    """``procs`` Python processes spinning on a core each until :meth:`stop`."""

    def __init__(self, procs: int):
        self.procs = [subprocess.Popen([sys.executable, '-c', 'while True: pass'])
                      for _ in range(procs)]

    def stop(self) -> None:
        for proc in self.procs:
            proc.kill()
        for proc in self.procs:
            proc.wait()


def iteration_times(work_dir: Path) -> list:
    """Seconds of every logged training iteration (``time`` in the run's scalars.json)."""
    times = []
    for path in sorted(work_dir.glob('*/vis_data/scalars.json')):
        for line in path.read_text().splitlines():
            record = json.loads(line)
            if 'time' in record and 'iter' in record:
                times.append((record['iter'], float(record['time'])))
    return [t for _, t in sorted(times)]


def run_training(setting: str, iters: int, warmup: int, quick: bool, work_dir: Path) -> dict:
    """One training run under ``COLORIZER_THREADS=setting``; its timings and thread choice."""
    env = {k: v for k, v in os.environ.items()
           if k not in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS', 'OMP_WAIT_POLICY')}
    env['COLORIZER_THREADS'] = setting
    options = [f'train_cfg.max_iters={iters}', *_RUN_OPTIONS, *(_QUICK_OPTIONS if quick else [])]
    command = [sys.executable, 'tools/train.py', CONFIG, '--work-dir', str(work_dir),
               '--cfg-options', *options]
    watch = LoadWatch()
    start = time.perf_counter()
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(f'{" ".join(command)} failed ({result.returncode}):\n'
                           f'{result.stderr[-3000:]}')
    times = iteration_times(work_dir)
    if len(times) != iters:
        raise RuntimeError(f'expected {iters} logged iterations in {work_dir}, got {len(times)}')
    timed = times[warmup:]
    line = _THREAD_LINE.search(result.stdout + result.stderr)
    return dict(setting=setting, iterations=iters, warmup=warmup,
                s_per_iter_median=round(statistics.median(timed), 4),
                s_per_iter_mean=round(statistics.fmean(timed), 4),
                s_per_iter_max=round(max(timed), 4), wall_s=round(wall, 2),
                thread_choice=line.group(0) if line else None,
                load_average=watch.as_dict())


def measure(args) -> dict:
    """Every (load, setting) run; the loaded runs share one load generator."""
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for load in args.loads:
            generator = LoadGenerator(args.load_procs) if load == 'loaded' else None
            try:
                if generator is not None:
                    time.sleep(1.0)  # the spinners are running before the tool samples the load
                for setting in args.settings:
                    work_dir = Path(tmp, f'{load}_{setting}')
                    run = run_training(setting, args.iters, args.warmup, args.quick, work_dir)
                    run['load'] = load
                    runs.append(run)
                    print(f'{load:7s} {setting:6s} {run["s_per_iter_median"]:.3f} s/iter '
                          f'(mean {run["s_per_iter_mean"]:.3f}) | {run["thread_choice"]}',
                          flush=True)
            finally:
                if generator is not None:
                    generator.stop()
    by_key = {(r['load'], r['setting']): r['s_per_iter_median'] for r in runs}
    speedup = {load: round(by_key[(load, 'torch')] / by_key[(load, 'auto')], 2)
               for load in args.loads
               if (load, 'torch') in by_key and (load, 'auto') in by_key}
    return dict(benchmark='threads', config=CONFIG, quick=args.quick,
                load_procs=args.load_procs, runs=runs,
                speedup_auto_over_torch=speedup)


def main(argv=None) -> dict:
    args = parse_args(argv)
    watch = LoadWatch()
    result = measure(args)
    return write_record(args.out, result, watch)


if __name__ == '__main__':
    main()
