"""Optimiser wrappers that skip a step whose loss or gradients are NaN / Inf, leaving no trace.

MMEngine's extension point for how a loss becomes an update is the optimiser wrapper
(``update_params``; ``optim_context`` around the forward). :class:`SkipNonFinite` adds the skip
to any wrapper type: :class:`SkipNonFiniteOptimWrapper` is it on the plain ``OptimWrapper``, and
:func:`with_skip_non_finite` composes it with another type (``AutocastOptimWrapper``,
``AmpOptimWrapper``, a third-party wrapper). ``GANOptimWrapperConstructor`` builds such
wrappers for a model with ``nan_policy='skip'``.

A skipped step leaves no trace: the parameters and optimiser states are not touched (the
gradients are zeroed), and the buffers (BatchNorm running statistics, spectral-norm vectors),
which the training-mode forward has already changed before the loss could be checked, are put
back. The buffers restored are those of every module whose forward ran inside this wrapper's
``optim_context`` since its last update, copied when the context was first entered.
"""
import logging
from contextlib import contextmanager
from functools import lru_cache
from typing import Dict, List, Mapping, Optional, Tuple, Type, Union

import torch
from mmengine.logging import MessageHub, print_log
from mmengine.model import is_model_wrapper
from mmengine.optim import AmpOptimWrapper, OptimWrapper
from torch import nn

from colorizer.registry import OPTIM_WRAPPERS


def _where() -> str:
    step = MessageHub.get_current_instance().get_info('iter')
    return f' at iteration {step + 1}' if step is not None else ''


class SkipNonFinite:
    """Mixin over an MMEngine optimiser wrapper: ``update_params`` skips non-finite steps.

    ``update_params(loss)`` returns True when it back-propagated (and stepped, unless
    accumulating), False when it skipped the step: a loss term is NaN / Inf, or (without a loss
    scaler) a gradient is at the update. ``AmpOptimWrapper``'s loss scaler already skips steps
    with non-finite gradients and lowers its scale, so with it only the loss is checked.
    :attr:`skipped_steps` counts the skips.
    """

    #: Read by models that require skipping wrappers (``ReferenceColorizer(nan_policy='skip')``).
    skips_non_finite = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.skipped_steps = 0
        # id(module) -> (module, buffer copies) of the forwards since the last update
        self._snapshots: Dict[int, Tuple[nn.Module, List[torch.Tensor]]] = {}

    @contextmanager
    def optim_context(self, model: nn.Module):
        """MMEngine's context around a forward; also copies ``model``'s buffers once per update."""
        if id(model) not in self._snapshots:
            self._snapshots[id(model)] = (model, [b.detach().clone() for b in model.buffers()])
        with super().optim_context(model):
            yield

    def update_params(self,
                      loss: Union[torch.Tensor, Mapping[str, torch.Tensor]],
                      step_kwargs: Optional[dict] = None,
                      zero_kwargs: Optional[dict] = None) -> bool:
        """``OptimWrapper.update_params``, skipping a non-finite step.

        Args:
            loss: the loss, or named loss terms (summed; a skip names the non-finite ones).
            step_kwargs: passed to ``step``.
            zero_kwargs: passed to ``zero_grad``.

        Returns:
            False when the step was skipped, True otherwise.
        """
        terms = dict(loss) if isinstance(loss, Mapping) else dict(loss=loss)
        bad = [name for name, value in terms.items() if not torch.isfinite(value).all()]
        if bad:
            values = ', '.join(f'{name}={terms[name].item()}' for name in bad)
            return self._skip(f'non-finite loss{_where()}: {values}')
        self.backward(self.scale_loss(sum(terms.values())))
        if not self.should_update():
            return True
        if not isinstance(self, AmpOptimWrapper):
            grads = [p.grad for group in self.optimizer.param_groups for p in group['params']
                     if p.grad is not None]
            if grads and not torch.isfinite(torch.stack([g.sum() for g in grads])).all():
                return self._skip(f'non-finite gradient of {self._bad_owner()}{_where()}')
        self.step(**(step_kwargs or {}))
        self.zero_grad(**(zero_kwargs or {}))
        self._snapshots.clear()
        return True

    def _bad_owner(self) -> str:
        # the modules of this step whose parameters hold the non-finite gradient, by class
        names = [type(module.module if is_model_wrapper(module) else module).__name__
                 for module, _ in self._snapshots.values()
                 if any(p.grad is not None and not torch.isfinite(p.grad).all()
                        for p in module.parameters())]
        return ', '.join(names) or 'the optimised parameters'

    def _skip(self, reason: str) -> bool:
        self.skipped_steps += 1
        self.zero_grad()
        with torch.no_grad():
            for module, snapshot in self._snapshots.values():
                for buf, saved in zip(module.buffers(), snapshot):
                    buf.copy_(saved)  # in place: optimisers and DDP keep their references
        self._snapshots.clear()
        print_log(f'{reason}; the step is skipped', logger='current', level=logging.WARNING)
        return False


@lru_cache(maxsize=None)
def with_skip_non_finite(wrapper_type: Type[OptimWrapper]) -> Type[OptimWrapper]:
    """``wrapper_type`` with :class:`SkipNonFinite` on top (itself if it has it already).

    Args:
        wrapper_type: an ``OptimWrapper`` subclass.

    Raises:
        TypeError: ``wrapper_type`` is not an ``OptimWrapper``.
    """
    if not (isinstance(wrapper_type, type) and issubclass(wrapper_type, OptimWrapper)):
        raise TypeError(f'cannot add skipping of non-finite steps to {wrapper_type!r}: not an '
                        'mmengine OptimWrapper')
    if issubclass(wrapper_type, SkipNonFinite):
        return wrapper_type
    if wrapper_type is OptimWrapper:
        return SkipNonFiniteOptimWrapper
    return type('SkipNonFinite' + wrapper_type.__name__, (SkipNonFinite, wrapper_type),
                dict(__doc__=f'{wrapper_type.__name__} that skips non-finite steps.',
                     __module__=__name__))


@OPTIM_WRAPPERS.register_module()
class SkipNonFiniteOptimWrapper(SkipNonFinite, OptimWrapper):
    """``OptimWrapper`` that skips a step whose loss or gradients are NaN / Inf (see
    :class:`SkipNonFinite`)."""
