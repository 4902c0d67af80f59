"""Write sample grids during training so a person can watch the colourisation improve."""
import os.path as osp
from typing import Optional

import torch
from mmengine.dataset import pseudo_collate
from mmengine.dist import master_only
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from colorizer.registry import HOOKS
from colorizer.visualization import make_grid, save_image, tensor_to_image


@HOOKS.register_module()
class SampleGridHook(Hook):
    """Every ``interval`` iterations, colour a fixed batch and save a PNG grid.

    Each row is one sample: sketch | reference | output | target (| oracle, when the dataset
    has one). The batch is the first ``num_samples`` items of the validation set (or the
    training set), so every grid shows the same inputs. Grids go to
    ``<work_dir>/samples/iter_<n>.png`` and to the visualiser's backends (tensorboard when
    enabled; none is needed).

    Args:
        interval (int): Iterations between grids. A grid is also written after the last one.
        num_samples (int): Rows of the grid.
        split (str): ``'val'`` or ``'train'``: which dataset gives the fixed batch. A config
            without validation (``val_dataloader = val_cfg = val_evaluator = None``, training on
            every image) uses the training set instead, and says so in the log.
        out_dir (str, optional): Folder for the PNGs; defaults to ``<work_dir>/samples``.
    """

    priority = 'LOW'

    def __init__(self, interval: int = 100, num_samples: int = 8, split: str = 'val',
                 out_dir: Optional[str] = None):
        if split not in ('val', 'train'):
            raise ValueError(f"SampleGridHook.split must be 'val' or 'train', got {split!r}")
        self.interval = interval
        self.num_samples = num_samples
        self.split = split
        self.out_dir = out_dir
        self._batch = None

    def before_train(self, runner) -> None:
        split = self.split
        if split == 'val' and runner.val_loop is None:
            split = 'train'
            runner.logger.info('SampleGridHook: the config has no validation set; the sample '
                               'grids show the first training samples')
        loader = runner.val_dataloader if split == 'val' else runner.train_dataloader
        dataset = loader.dataset
        count = min(self.num_samples, len(dataset))
        self._batch = pseudo_collate([dataset[i] for i in range(count)])
        self.out_dir = self.out_dir or osp.join(runner.work_dir, 'samples')

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if self.every_n_train_iters(runner, self.interval) or self.is_last_train_iter(runner):
            self.write_grid(runner)

    @master_only
    def write_grid(self, runner) -> None:
        """Colour the fixed batch with the current generator and save the grid."""
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        was_training = model.training
        model.eval()
        with torch.no_grad():
            data = model.data_preprocessor(self._batch, False)
            fake = model(data['inputs'], mode='tensor')
        model.train(was_training)
        rows = []
        headers = ['sketch', 'reference', 'output']
        for i, sample in enumerate(data['data_samples']):
            row = [tensor_to_image(data['inputs'][key][i]) for key in ('sketch', 'reference')]
            row.append(tensor_to_image(fake[i]))
            extra = [key for key in ('target', 'oracle') if key in sample]
            row.extend(tensor_to_image(sample.get(key)) for key in extra)
            rows.append(row)
            if len(headers) < len(row):
                headers = ['sketch', 'reference', 'output'] + extra
        grid = make_grid(rows, headers=headers)
        step = runner.iter + 1
        save_image(osp.join(self.out_dir, f'iter_{step}.png'), grid)
        runner.visualizer.add_image('samples', grid, step=step)
