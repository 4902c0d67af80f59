"""Correspondence diagnostics of the cross-attention map during training.

The same statistics as ``CorrespondenceMetric``, on the training batch every ``interval``
iterations, so a study sees when the map starts (or never starts) to find the right regions.
"""
import os
import os.path as osp
import time
from typing import Optional

import torch
from mmengine.dist import master_only
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from torch import nn

from colorizer.evaluation.correspondence_stats import correspondence_statistics
from colorizer.fileio import strict_dumps
from colorizer.structures.token_grid import pool_labels, token_grid
from colorizer.models.correspondence_probe import probe_correspondence
from colorizer.models.reference_colorizer import label_inputs
from colorizer.registry import HOOKS


class _FrozenNormStats:
    """Restores every batch-norm buffer on exit, so a train-mode probe leaves no trace."""

    def __init__(self, module: nn.Module):
        self.norms = [m for m in module.modules()
                      if isinstance(m, nn.modules.batchnorm._NormBase) and m.track_running_stats]

    def __enter__(self):
        self.saved = [{k: v.clone() for k, v in m.named_buffers(recurse=False) if v is not None}
                      for m in self.norms]
        return self

    def __exit__(self, *exc):
        for module, buffers in zip(self.norms, self.saved):
            for name, value in buffers.items():
                getattr(module, name).copy_(value)
        return False


@HOOKS.register_module()
class CorrespondenceHook(Hook):
    """Every ``interval`` iterations, read the cross map of the current training batch.

    The batch's references are TPS warps of the targets and its ``reference_labels`` the
    labels warped with them (``TPSWarp``), so ``region_mass`` asks whether a sketch token reads
    the reference tokens of its own region; ``diagonal_mass`` uses the batch's targets (the
    sketches' own colour images) as references. The statistics are those of
    :mod:`colorizer.evaluation.correspondence_stats`; they go to the log as
    ``corr/<statistic>`` and, one JSON line per probe, to ``<work_dir>/<filename>`` together with
    the probe's wall time (``seconds``), so its cost can be checked against the iteration time.

    The probe runs without gradient. With ``mode='train'`` (default) it sees the map the
    training step applies (batch norm on batch statistics) and restores the batch-norm buffers
    afterwards; ``'eval'`` reads the map with running statistics, as validation does.

    Args:
        interval: Iterations between probes; the first iteration is probed too.
        num_samples: Samples of the batch to probe (None: all). In ``'train'`` mode fewer
            samples also change the batch-norm statistics the map is computed with.
        topk: k of ``topk_mass``.
        mode: ``'train'`` or ``'eval'``.
        filename: JSON-lines file in the work dir.
    """

    priority = 'NORMAL'

    def __init__(self, interval: int = 50, num_samples: Optional[int] = None, topk: int = 4,
                 mode: str = 'train', filename: str = 'correspondence.jsonl'):
        if interval < 1:
            raise ValueError(f'interval must be >= 1, got {interval}')
        if mode not in ('train', 'eval'):
            raise ValueError(f"mode must be 'train' or 'eval', got {mode!r}")
        self.interval = interval
        self.num_samples = num_samples
        self.topk = topk
        self.mode = mode
        self.filename = filename
        self.path: Optional[str] = None

    def before_train(self, runner) -> None:
        self.path = osp.join(runner.work_dir, self.filename)
        if runner.iter == 0 and osp.isfile(self.path):
            os.remove(self.path)  # a fresh run: no lines of an earlier one

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if data_batch is None:
            return
        if runner.iter == 0 or self.every_n_train_iters(runner, self.interval):
            self.probe(runner, data_batch)

    def probe(self, runner, data_batch: dict) -> dict:
        """Probe one batch; log and return the mean statistics."""
        start = time.perf_counter()
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        generator = model.generator.module if is_model_wrapper(model.generator) \
            else model.generator
        data = model.data_preprocessor(data_batch, False)
        inputs = data['inputs']
        if self.num_samples is not None:
            inputs = {k: v[:self.num_samples] for k, v in inputs.items()}
        was_training = generator.training
        generator.train(self.mode == 'train')
        try:
            with _FrozenNormStats(generator):
                maps = probe_correspondence(generator, inputs['sketch'], inputs['reference'],
                                            inputs.get('target'), **label_inputs(inputs))
        finally:
            generator.train(was_training)
        attn = maps['cross_attention']
        sketch_tokens = reference_tokens = None
        if 'sketch_labels' in inputs and 'reference_labels' in inputs:
            sketch_tokens = pool_labels(inputs['sketch_labels'],
                                        token_grid(attn.shape[1], inputs['sketch'].shape[-2:]))
            reference_tokens = pool_labels(
                inputs['reference_labels'],
                token_grid(attn.shape[2], inputs['reference'].shape[-2:]))
        stats = correspondence_statistics(attn, sketch_tokens, reference_tokens,
                                          maps['reference_token_norm'],
                                          maps.get('diagonal_attention'), self.topk)
        means = {k: float(torch.nanmean(v)) for k, v in stats.items()}
        seconds = time.perf_counter() - start
        for key, value in means.items():
            runner.message_hub.update_scalar(f'train/corr/{key}', value)
        self._write(runner.iter + 1, means, seconds)
        return means

    @master_only
    def _write(self, step: int, means: dict, seconds: float) -> None:
        with open(self.path, 'a') as f:
            f.write(strict_dumps(dict(iter=step, seconds=seconds, **means)) + '\n')
