"""Wall time of a whole training run through the documented command, and its final metrics.

The README's "1500 iterations in N minutes" figures (the demo; training on a folder) come from
this script: it runs ``tools/train.py CONFIG`` as a subprocess exactly as a user would (the
thread policy and every hook included), times it, adds the child's CPU time, reads the last
validation metrics from ``vis_data/scalars.json`` and writes both with the machine, library
versions, threads and load average through ``benchmark_record.write_record``.

Examples::

    python benchmarks/bench_train_run.py configs/sga/sga_demo.py --out docs/records/demo_run.json
    python benchmarks/bench_train_run.py configs/sga/sga_folder.py --data-root MY_DIR \\
        --cfg-options train_cfg.max_iters=500 --out docs/records/folder_run.json
    python benchmarks/bench_train_run.py configs/sga/sga_demo.py --quick --out /tmp/r.json  # tests
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchmark_record import LoadWatch, write_record  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

#: --quick: the demo shrunk to seconds (32 px, base width 2, batch 4, 6 iterations, validation
#: on 4 samples at iteration 6), so a test can run the whole path.
_QUICK_OPTIONS = [
    'train_cfg.max_iters=6', 'train_cfg.val_interval=6', 'default_hooks.checkpoint.interval=6',
    'train_dataloader.batch_size=4', 'train_dataloader.num_workers=0',
    'train_dataloader.persistent_workers=False', 'train_dataloader.dataset.img_size=32',
    'val_dataloader.batch_size=4', 'val_dataloader.num_workers=0',
    'val_dataloader.persistent_workers=False', 'val_dataloader.dataset.img_size=32',
    'val_dataloader.dataset.length=4', 'test_dataloader.dataset.img_size=32',
    'model.generator.base_channels=2', 'model.discriminator.base_channels=4',
]


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config', help='config to train, as given to tools/train.py')
    parser.add_argument('--data-root', help='passed on to tools/train.py --data-root')
    parser.add_argument('--cfg-options', nargs='+', default=[],
                        help='passed on to tools/train.py --cfg-options')
    parser.add_argument('--work-dir', help='keep the run here (default: a temporary folder)')
    parser.add_argument('--quick', action='store_true', help='tiny settings (tests)')
    parser.add_argument('--out', required=True, help='JSON record to write')
    return parser.parse_args(argv)


def last_validation(work_dir: Path) -> dict:
    """The metrics of the last validation logged in ``<timestamp>/vis_data/scalars.json``."""
    last = {}
    for scalars in sorted(work_dir.glob('*/vis_data/scalars.json')):
        for line in scalars.read_text().splitlines():
            entry = json.loads(line)
            if any('/' in key for key in entry):  # validation entries carry protocol prefixes
                last = {k: v for k, v in entry.items() if '/' in k}
    return last


def run(args, work_dir: Path) -> dict:
    command = [sys.executable, 'tools/train.py', args.config, '--work-dir', str(work_dir)]
    if args.data_root:
        command += ['--data-root', args.data_root]
    options = list(args.cfg_options) + (_QUICK_OPTIONS if args.quick else [])
    if options:
        command += ['--cfg-options', *options]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise RuntimeError(f'{" ".join(command)} failed ({proc.returncode}):\n'
                           f'{proc.stderr[-3000:]}')
    threads = [line.split('CPU threads:', 1)[1].strip()
               for line in (proc.stdout + proc.stderr).splitlines() if 'CPU threads:' in line]
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return dict(config=args.config, data_root=args.data_root, cfg_options=options,
                train_command=' '.join(command[1:]), wall_s=round(wall, 1),
                cpu_s=round(cpu, 1), thread_policy=threads[0] if threads else None,
                final_validation=last_validation(work_dir))


def main(argv=None) -> dict:
    args = parse_args(argv)
    watch = LoadWatch()
    if args.work_dir:
        result = run(args, Path(args.work_dir))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            result = run(args, Path(tmp))
    print(f"{args.config}: {result['wall_s']:.0f} s wall, {result['cpu_s']:.0f} s CPU; "
          f"last validation {result['final_validation']}")
    return write_record(args.out, result, watch)


if __name__ == '__main__':
    main()
