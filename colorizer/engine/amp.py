"""Mixed precision for ``--amp``: fp16 with loss scaling on CUDA, bf16 autocast on CPU."""
from contextlib import contextmanager

import torch
from mmengine.config import Config
from mmengine.optim import OptimWrapper

from colorizer.registry import OPTIM_WRAPPERS


@OPTIM_WRAPPERS.register_module()
class AutocastOptimWrapper(OptimWrapper):
    """Run the forward passes inside ``torch.autocast`` with a given dtype, no loss scaling.

    MMEngine's ``AmpOptimWrapper`` refuses to run without CUDA; bf16 has the exponent range of
    fp32, so on CPU autocast alone is enough (no gradient scaler).

    Args:
        dtype (str): ``'bfloat16'`` (default) or ``'float16'``.
        device_type (str, optional): ``'cpu'`` or ``'cuda'``; defaults to where CUDA is.
        **kwargs: Passed to ``OptimWrapper`` (``optimizer``, ``clip_grad``...).
    """

    def __init__(self, dtype: str = 'bfloat16', device_type: str = None, **kwargs):
        super().__init__(**kwargs)
        self.dtype = getattr(torch, dtype)
        self.device_type = device_type or ('cuda' if torch.cuda.is_available() else 'cpu')

    @contextmanager
    def optim_context(self, model):
        with super().optim_context(model), torch.autocast(self.device_type, dtype=self.dtype):
            yield


def enable_amp(cfg: Config) -> None:
    """Switch every optimiser wrapper of ``cfg`` to mixed precision (in place).

    Handles a plain ``optim_wrapper`` and the GAN form with one wrapper per sub-network.
    """
    wrapper = dict(type='AmpOptimWrapper', loss_scale='dynamic') if torch.cuda.is_available() \
        else dict(type='AutocastOptimWrapper', dtype='bfloat16')
    optim = cfg.optim_wrapper
    subs = [v for k, v in optim.items() if isinstance(v, dict) and 'optimizer' in v]
    for sub in subs or [optim]:
        sub.update(wrapper)
