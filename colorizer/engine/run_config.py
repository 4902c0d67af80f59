"""Load a config the way every command-line tool does."""
import os.path as osp
from typing import Optional

from mmengine.config import Config


def load_run_config(config: str, cfg_options: Optional[dict] = None,
                    work_dir: Optional[str] = None, launcher: str = 'none') -> Config:
    """Read ``config``, apply ``--cfg-options`` and fill in the launcher and the work dir.

    Args:
        config (str): Path of a config file.
        cfg_options (dict, optional): ``--cfg-options`` overrides (dotted keys).
        work_dir (str, optional): ``--work-dir``; else the config's ``work_dir``; else
            ``work_dirs/<config file name without .py>``.
        launcher (str): ``'none'``, ``'pytorch'`` or ``'slurm'``.

    Returns:
        Config: The resolved config (not yet checked: see ``check_config``).

    Raises:
        FileNotFoundError: ``config`` does not exist.
    """
    if not osp.isfile(config):
        raise FileNotFoundError(f'config file {config} does not exist')
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    cfg.launcher = launcher
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('work_dirs', osp.splitext(osp.basename(config))[0])
    return cfg
