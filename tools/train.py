"""Train a colourisation model from a config.

Examples::

    python tools/train.py configs/sga/sga_demo.py
    python tools/train.py configs/sga/sga_afhq_dog.py --work-dir work_dirs/dog --amp
    python tools/train.py configs/sga/sga_demo.py --resume             # latest checkpoint
    python tools/train.py configs/sga/sga_demo.py --resume work_dirs/sga_demo/iter_100.pth
    bash tools/dist_train.sh configs/sga/sga_afhq_dog.py 8             # 8 GPUs (or CPU procs)

Exit codes: 0 trained; 1 a known fault (one ``error:`` line; ``COLORIZER_TRACEBACK=1`` adds the
traceback); 75 pre-empted by SIGTERM / SIGUSR1 after saving a checkpoint (run the same command
with ``--resume``); 130 Ctrl-C.
"""
import argparse
import os
import os.path as osp
import sys

# Before torch is imported (through mmengine or colorizer): libgomp reads its thread settings
# when it loads, and spinning OpenMP threads make training many times slower on a busy machine.
sys.path.insert(0, osp.dirname(osp.abspath(__file__)))  # tools/thread_setup.py
from thread_setup import THREAD_POLICY  # noqa: E402

from mmengine.config import Config, DictAction  # noqa: E402

from colorizer.engine import (ColorizerRunner, init_distributed,  # noqa: E402
                              shutdown_distributed)
from colorizer.engine.amp import enable_amp  # noqa: E402
from colorizer.engine.checkpoint_sources import is_remote  # noqa: E402
from colorizer.engine.component_validation import check_components  # noqa: E402
from colorizer.engine.config_validation import ConfigError, check_config  # noqa: E402
from colorizer.engine.fault_report import reported_faults  # noqa: E402
from colorizer.engine.preemption import enable_preemption  # noqa: E402
from colorizer.engine.propagated_options import (apply_propagated_options,  # noqa: E402
                                                 split_propagated_options)
from colorizer.engine.run_config import load_run_config  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train a colorizer model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='where logs and checkpoints go '
                        '(default: work_dirs/<config name>)')
    parser.add_argument('--resume', nargs='?', type=str, const='auto',
                        help='resume from the given checkpoint, or from the latest checkpoint in '
                        'the work dir when no path is given (the one last_checkpoint names; '
                        'the newest complete one if that is missing, empty or dangling). The '
                        'checkpoint must hold the optimiser and scheduler states: to start a '
                        'new run from weights only, use --cfg-options load_from=PATH')
    parser.add_argument('--resume-changed-config', action='store_true',
                        help='resume although the config changes what the checkpoint\'s run '
                        'computed (image size, batch size, a model argument, ...): without it '
                        'such a resume is refused, listing the differences')
    parser.add_argument('--amp', action='store_true',
                        help='mixed precision: fp16 with loss scaling on CUDA, bf16 on CPU')
    parser.add_argument('--data-root', metavar='DIR',
                        help="the folder of images, for every dataset that reads the config's "
                        'data_root (same as --cfg-options data_root=DIR)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, e.g. train_cfg.max_iters=100')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm'], default='none',
                        help='job launcher (tools/dist_train.sh sets pytorch)')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0,
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def build_config(args) -> Config:
    """Load the config, apply command-line options and check it before anything is built."""
    # data_root / img_size reach the values the config computed from them, not just the variable
    propagated, cfg_options = split_propagated_options(args.cfg_options,
                                                       getattr(args, 'data_root', None))
    cfg = load_run_config(args.config, cfg_options, args.work_dir, args.launcher)
    applied = apply_propagated_options(cfg, propagated)
    if args.amp:
        enable_amp(cfg)
    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif args.resume is not None:
        if not is_remote(args.resume) and not osp.isfile(args.resume):
            raise FileNotFoundError(f'--resume: checkpoint {args.resume} does not exist')
        cfg.resume, cfg.load_from = True, args.resume
    if getattr(args, 'resume_changed_config', False):
        cfg.resume_changed_config = True
    check_config(cfg)
    # every plugin argument (attention, datasets, transforms, losses, metrics), before any
    # file is written; a value from img_size=... is reported under that option
    check_components(cfg, applied, propagated, splits=('train', 'val'))
    return cfg


def main(argv=None):
    args = parse_args(argv)
    try:
        cfg = build_config(args)
    except (ConfigError, FileNotFoundError) as error:
        sys.exit(f'error: {error}')
    # One run per work dir (lock); known faults (a full disk, a read-only work dir, bad data,
    # unusable checkpoints, a NaN loss or input) end with one `error:` line naming the file /
    # key / iteration and what to do; SIGTERM / SIGUSR1 save and exit with code 75; Ctrl-C
    # exits with one line (colorizer.engine.fault_report, colorizer.engine.preemption).
    with reported_faults(cfg.work_dir, lock=True):
        init_distributed(args.launcher)
        runner = ColorizerRunner.from_cfg(cfg)
        runner.logger.info(THREAD_POLICY.describe())
        enable_preemption(runner)
        runner.train()
        shutdown_distributed()


if __name__ == '__main__':
    main()
