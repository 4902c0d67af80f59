"""One optimiser wrapper per GAN sub-network."""
from mmengine.model import is_model_wrapper
from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapperDict

from colorizer.registry import OPTIM_WRAPPER_CONSTRUCTORS, OPTIM_WRAPPERS
from .skip_non_finite_optim_wrapper import with_skip_non_finite


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class GANOptimWrapperConstructor:
    """Build an ``OptimWrapperDict`` with one wrapper per named child of the model.

    Example config::

        optim_wrapper = dict(
            constructor='GANOptimWrapperConstructor',
            generator=dict(optimizer=dict(type='Adam', lr=1e-4, betas=(0.5, 0.999))),
            discriminator=dict(optimizer=dict(type='Adam', lr=2e-4, betas=(0.5, 0.999))))

    Each key must name a child module of the model (``model.generator``...); its value is an
    ordinary MMEngine optim-wrapper config (``type`` defaults to ``OptimWrapper``). For a model
    with ``nan_policy='skip'`` each wrapper type gets the skipping of non-finite steps
    (:func:`~.skip_non_finite_optim_wrapper.with_skip_non_finite`), so the policy stays one
    model key and composes with ``--amp``'s wrapper types.

    Args:
        optim_wrapper_cfg (dict): Mapping of child name to optim-wrapper config.
        paramwise_cfg (dict, optional): Not supported at this level; put ``paramwise_cfg``
            inside a child's config instead.
    """

    def __init__(self, optim_wrapper_cfg: dict, paramwise_cfg: dict = None):
        if paramwise_cfg:
            raise ValueError('give paramwise_cfg inside optim_wrapper.generator / '
                             '.discriminator, not at the top level of a GAN optim_wrapper')
        if not optim_wrapper_cfg:
            raise ValueError('the GAN optim_wrapper needs one entry per sub-network, e.g. '
                             'generator=dict(optimizer=...), discriminator=dict(optimizer=...)')
        self.optim_wrapper_cfg = optim_wrapper_cfg

    def __call__(self, model) -> OptimWrapperDict:
        """Build the wrappers for ``model`` (possibly wrapped for DDP)."""
        module = model.module if is_model_wrapper(model) else model
        wrappers = {}
        for name, cfg in self.optim_wrapper_cfg.items():
            child = getattr(module, name, None)
            if child is None:
                raise KeyError(f'optim_wrapper.{name}: the model {type(module).__name__} has no '
                               f'sub-network named {name!r}')
            cfg = dict(cfg)
            paramwise = cfg.pop('paramwise_cfg', None)
            if getattr(module, 'nan_policy', 'raise') == 'skip':
                wrapper_type = cfg.get('type', 'OptimWrapper')
                if isinstance(wrapper_type, str):
                    wrapper_type = OPTIM_WRAPPERS.get(wrapper_type) or wrapper_type
                cfg['type'] = with_skip_non_finite(wrapper_type)
            wrappers[name] = DefaultOptimWrapperConstructor(cfg, paramwise)(child)
        return OptimWrapperDict(**wrappers)
