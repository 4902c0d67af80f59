"""Test plugin: every rank saves its trainable parameters after training."""
import os.path as osp

import torch
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from colorizer.registry import HOOKS


@HOOKS.register_module()
class RankParametersHook(Hook):
    """Save ``params_rank<r>.pt`` (trainable parameters only) in the work dir after training."""

    def after_train(self, runner):
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        params = {name: p.detach().cpu().clone() for name, p in model.named_parameters()
                  if p.requires_grad}
        torch.save(params, osp.join(runner.work_dir, f'params_rank{get_rank()}.pt'))
