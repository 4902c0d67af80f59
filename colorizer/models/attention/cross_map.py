"""Cross-map strategies: what map M an SGA layer applies, decided apart from the layer's weights.

An SGA layer (:class:`~.sga.SGALayer`) computes ``Z = BN(M · σ(W_y Y) + σ(W_x X)) + X``. Its
weights (W_x, W_y, the batch norm) and the branch routing stay on the layer; the map M comes
from a :class:`CrossMap` object the layer holds, the way a diffusers attention processor decides
an attention layer's computation while the weights stay on the layer. SGA's own map
(:class:`~.sga.SGAMap`, paper §3.4, Algorithm 1), the controls of a correspondence study (uniform,
ground-truth regions) and the line-art variant are strategies; a new way of finding
correspondences is one more strategy, registered in ``CROSS_MAPS``, usable from a config as
``attention=dict(type='SGA', cross_map=dict(type='MyMap', ...))``.

Interface (all a strategy implements):

- ``context_keys``: the context entries it reads (see ``BaseAttention``); the SGA block declares
  them to the generator, which then passes them at every forward.
- ``passes_gradient``: the stop-gradient contract. ``False`` (SGA's stop-gradient, every control):
  the layer hands ``x`` and ``y`` over *detached* and the map is a constant for autograd; only
  ``value`` (the projected messages σ(W_y Y)) may carry gradient through :meth:`aggregate`.
  ``True`` (the "w/o stop-gradient" ablation): ``x`` and ``y`` keep their graph, routed through
  the gradient-cosine branches ``x_att`` / ``y_att``, and the map must be differentiable.
- :meth:`CrossMap.attention_map` ``(x, y, context) -> (B, N, N')``: the map, materialised.
- :meth:`CrossMap.aggregate` ``(x, y, value, context) -> (B, N, C_v)``: ``M · value``. The default
  materialises the map (under ``torch.no_grad()`` unless ``passes_gradient``); override it to
  compute the product without the N x N' map (memory) or faster.

Strategies hold no weights of the SGA layer (so checkpoints do not depend on the strategy); one
that learns its own parameters may be an ``nn.Module`` with them, which then appear under
``<layer>.cross_map.`` in the state dict.
"""
from contextlib import nullcontext
from typing import Tuple

import torch
from torch import nn


class CrossMap(nn.Module):
    """Base class of the cross-map strategies (see the module docstring for the contract).

    Subclasses implement :meth:`attention_map` and may override :meth:`aggregate`.
    """

    #: Context entries :meth:`attention_map` / :meth:`aggregate` read; empty: none.
    context_keys: Tuple[str, ...] = ()
    #: False: x, y arrive detached and the map is a constant (stop-gradient). True: the map
    #: keeps its graph and x, y get gradient through it.
    passes_gradient: bool = False

    def attention_map(self, x: torch.Tensor, y: torch.Tensor, context: dict) -> torch.Tensor:
        """The map M, materialised.

        Args:
            x: (B, N, C) query tokens (the sketch's in the cross step), detached unless
                :attr:`passes_gradient`.
            y: (B, N', C) key tokens (the reference's), detached unless :attr:`passes_gradient`.
            context: exactly the entries of :attr:`context_keys` (a value may be ``None`` when
                the batch lacks it: raise a ``ValueError`` saying what is needed).

        Returns:
            (B, N, N') map; row i weighs the reference tokens that sketch token i reads.
        """
        raise NotImplementedError(f'{type(self).__name__} must implement attention_map')

    def aggregate(self, x: torch.Tensor, y: torch.Tensor, value: torch.Tensor,
                  context: dict) -> torch.Tensor:
        """``M · value``; the default materialises M with :meth:`attention_map`.

        Args:
            x: (B, N, C) query tokens, as in :meth:`attention_map`.
            y: (B, N', C) key tokens.
            value: (B, N', C_v) values (σ(W_y Y)); they carry the gradient.
            context: the entries of :attr:`context_keys`.

        Returns:
            (B, N, C_v), in ``value``'s dtype.
        """
        with nullcontext() if self.passes_gradient else torch.no_grad():
            attn = self.attention_map(x, y, context).to(value.dtype)  # (B, N, N')
        return torch.bmm(attn, value)
