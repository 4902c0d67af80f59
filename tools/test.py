"""Evaluate a checkpoint on a config's test set and write the metrics as JSON.

Examples::

    python tools/test.py configs/sga/sga_demo.py work_dirs/sga_demo/iter_2000.pth
    python tools/test.py configs/sga/sga_afhq_dog.py ckpt.pth --out results.json --save-images out/
    bash tools/dist_test.sh configs/sga/sga_afhq_dog.py ckpt.pth 8
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
from mmengine.dist import is_main_process  # noqa: E402

from colorizer.engine import (ColorizerRunner, init_distributed,  # noqa: E402
                              shutdown_distributed)
from colorizer.engine.checkpoint_errors import CheckpointError, one_line  # noqa: E402
from colorizer.fileio import strict_dumps  # noqa: E402
from colorizer.engine.checkpoint_sources import is_remote  # noqa: E402
from colorizer.engine.component_validation import check_components  # noqa: E402
from colorizer.engine.config_validation import ConfigError, check_config  # noqa: E402
from colorizer.engine.propagated_options import (apply_propagated_options,  # noqa: E402
                                                 dataset_description,
                                                 split_propagated_options)
from colorizer.engine.run_config import load_run_config  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Test (evaluate) a colorizer checkpoint')
    parser.add_argument('config', help='config file path')
    parser.add_argument('checkpoint', help='checkpoint file (or URL, open-mmlab://...: '
                        'downloaded and loaded through the same allow-listed loader)')
    parser.add_argument('--work-dir', help='where logs go (default: work_dirs/<config name>)')
    parser.add_argument('--out', help='metrics JSON (default: <work_dir>/results_<checkpoint '
                        'file name>.json, so testing another checkpoint keeps these)')
    parser.add_argument('--save-images', metavar='DIR', help='save every colourisation here')
    parser.add_argument('--region-fill', action='store_true',
                        help='score the outputs after region fill (one colour per closed region '
                        'of the sketch; model.region_fill, colorizer.postprocessing.RegionFill)')
    parser.add_argument('--data-root', metavar='DIR',
                        help="the folder of images, for every dataset that reads the config's "
                        'data_root (same as --cfg-options data_root=DIR)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, e.g. test_dataloader.batch_size=4')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm'], default='none')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0,
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def build_config(args) -> Config:
    """Load and check the config; point it at the checkpoint."""
    if not is_remote(args.checkpoint) and not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'checkpoint {args.checkpoint} does not exist')
    # data_root / img_size reach the values the config computed from them, not just the variable
    propagated, cfg_options = split_propagated_options(args.cfg_options,
                                                       getattr(args, 'data_root', None))
    cfg = load_run_config(args.config, cfg_options, args.work_dir, args.launcher)
    applied = apply_propagated_options(cfg, propagated)
    # Loaded by Runner.test() in MMEngine's order: the hooks' before_run first (EMAHook builds
    # its averaged copy there), then load_or_resume. ColorizerRunner.load_checkpoint loads
    # every weight or none, so a checkpoint of another architecture is refused, not half-loaded.
    cfg.load_from, cfg.resume = args.checkpoint, False
    if getattr(args, 'region_fill', False):
        cfg.model.region_fill = dict(cfg.model.get('region_fill') or {})
    if args.save_images:
        cfg.custom_hooks = list(cfg.get('custom_hooks') or []) + [
            dict(type='SaveColorizationsHook', out_dir=args.save_images)]
    check_config(cfg)
    # every plugin argument (attention, datasets, transforms, losses, metrics), before any
    # file is written; a value from img_size=... is reported under that option
    check_components(cfg, applied, propagated, splits=('test',))
    return cfg


def default_results_path(work_dir: str, checkpoint: str) -> str:
    """``<work_dir>/results_<checkpoint file name without extension>.json``."""
    name = osp.splitext(osp.basename(checkpoint.rstrip('/').split('?')[0]))[0] or 'checkpoint'
    return osp.join(work_dir, f'results_{name}.json')


def main(argv=None):
    args = parse_args(argv)
    try:
        cfg = build_config(args)
    except (ConfigError, FileNotFoundError) as error:
        sys.exit(f'error: {error}')
    init_distributed(args.launcher)
    try:
        runner = ColorizerRunner.from_cfg(cfg)
        runner.logger.info(THREAD_POLICY.describe())
        metrics = runner.test()  # before_run hooks, then the checkpoint, then the test loop
    except (FileNotFoundError, CheckpointError) as error:
        # UnsafeCheckpointError, CheckpointMismatchError, ... : one line, no traceback.
        sys.exit(f'error: {one_line(error)}')
    if is_main_process():
        out = args.out or default_results_path(cfg.work_dir, args.checkpoint)
        os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
        replaced = osp.isfile(out)
        # the dataset actually tested (its folder when --data-root changed it), not the
        # config's inherited dataset_name
        record = dict(config=osp.abspath(args.config), checkpoint=osp.abspath(args.checkpoint),
                      method=cfg.get('method'), **dataset_description(cfg),
                      region_fill=cfg.model.get('region_fill') is not None,
                      **{k: float(v) for k, v in metrics.items()})
        with open(out, 'w') as f:  # a NaN metric is written as null
            f.write(strict_dumps(record, indent=2))
        print(strict_dumps(record, indent=2))
        print(f'metrics written to {out}' + (' (it held an earlier result, now replaced)'
                                             if replaced else ''))
    shutdown_distributed()


if __name__ == '__main__':
    main()
