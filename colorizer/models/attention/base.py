"""The interface every fusion (attention) module implements.

The generator holds one module built from ``ATTENTIONS`` and only relies on what is documented
here, so SGA, SCFT and the baselines are interchangeable from a config.
"""
from abc import ABCMeta, abstractmethod
from functools import partial
from typing import Dict, Optional, Tuple

import torch
from torch import nn


def to_tokens(feat: torch.Tensor) -> torch.Tensor:
    """Flatten a feature map into a token sequence.

    Args:
        feat: (B, C, H, W) feature map, any memory format.

    Returns:
        (B, H*W, C) tokens, row-major over (H, W).
    """
    # reshape, not view: a channels_last input is not viewable as (B, C, H*W)
    return feat.flatten(2).transpose(1, 2)


def to_map(tokens: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Inverse of :func:`to_tokens`.

    Args:
        tokens: (B, H*W, C) tokens.
        height: H.
        width: W.

    Returns:
        (B, C, H, W) feature map.
    """
    b, n, c = tokens.shape
    if n != height * width:
        raise ValueError(f'{n} tokens cannot be reshaped to {height}x{width}')
    return tokens.transpose(1, 2).reshape(b, c, height, width)


class BaseAttention(nn.Module, metaclass=ABCMeta):
    """Fuses sketch features with reference features.

    Subclasses take ``channels`` (C) as their first constructor argument and implement
    :meth:`forward`. The generator builds them as
    ``ATTENTIONS.build(cfg, default_args=dict(channels=C))``.

    Gradient-cosine analysis (paper §3.3, Figs. 4 and 10): when :attr:`capture_branches` is True,
    each forward stores in :attr:`branches` one separate tensor handle per input branch of the
    cross step (e.g. ``'x_skip', 'x_q', 'y_k', 'y_v'`` for SCFT), each a (B, N, C) token tensor,
    and the following backward stores in :attr:`branch_grads` the gradient that reached the input
    through that branch alone (same keys, detached (B, N, C) tensors). A branch that carries no
    gradient (stopped) is not recorded. Capturing changes neither the forward result nor the
    gradients: the graph is the same with capture on and off (see :meth:`_branch`).

    Context: a module that needs more than the two feature maps at forward time names what it
    needs in :attr:`context_keys`; the generator then calls it with a keyword argument
    ``context``, a dict with exactly those keys (a value is ``None`` when the batch does not
    carry it, and the module decides whether that is an error). Modules that declare nothing are
    called without ``context``, so existing and third-party modules need no change. The keys the
    generator knows:

    - ``'sketch_labels'``: (B, H, W) int64 region id per sketch pixel (ground-truth data only).
    - ``'reference_labels'``: (B, H', W') int64 region id per reference pixel.
    - ``'reference_line_feat'``: (B, C, h', w') the *sketch* encoder's pooled features of the
      reference's own line art (XDoG of the reference), computed without a graph.

    Args:
        channels: C, the number of feature channels of both inputs and of the output.
    """

    #: The context entries :meth:`forward` reads (see the class docstring); empty: none.
    context_keys: Tuple[str, ...] = ()
    #: The branch names :meth:`forward` passes through :meth:`_branch`, in report order
    #: (None: whatever is recorded). A declared branch that records nothing is reported absent.
    gradient_branches: Optional[Tuple[str, ...]] = None
    #: The branches stop-gradient removes (None: the recorded names ending in ``'_att'``).
    attention_branches: Optional[Tuple[str, ...]] = None
    #: Pair key -> the paper's name of that cosine (figure legends, summaries).
    gradient_labels: Dict[str, str] = {}

    def __init__(self, channels: int):
        super().__init__()
        self.channels = channels
        self.capture_branches = False
        self.branches: dict = {}
        self.branch_grads: dict = {}

    def stop_gradient_switches(self) -> Dict[str, bool]:
        """The module's stop-gradient switches by name, recorded with its gradient cosines."""
        return {}

    def _reset_branches(self) -> None:
        """Forget the previous forward's branches; subclasses call it first in ``forward``."""
        self.branches, self.branch_grads = {}, {}

    def _store_grad(self, name: str, grad: torch.Tensor) -> None:
        self.branch_grads[name] = grad.detach()

    def _branch(self, name: str, tokens: torch.Tensor) -> torch.Tensor:
        """Return a handle of ``tokens`` for one branch, recorded when capturing.

        A view is a distinct autograd node with no copy, so the gradient it receives is the
        gradient of the branch it feeds, and nothing else. The view is taken whether capturing
        or not: the autograd graph, hence the order in which the input's gradient contributions
        are summed, is then the same with capture on and off, and a train step that captures
        updates the parameters bit-identically (floating-point addition is not associative, so
        a graph that grouped the contributions differently could change the last bits when an
        input feeds three or more consumers, e.g. SGA without stop-gradient). Only the hook and
        the record depend on :attr:`capture_branches`; the hook returns nothing, so it never
        alters the gradient.
        """
        handle = tokens.view_as(tokens)
        # a branch computed under no_grad (stop-gradient) carries no gradient: not recorded
        if self.capture_branches and torch.is_grad_enabled() and handle.requires_grad:
            self.branches[name] = handle
            handle.register_hook(partial(self._store_grad, name))
        return handle

    @abstractmethod
    def forward(self, sketch_feat: torch.Tensor, ref_feat: torch.Tensor,
                return_attention: bool = False):
        """Fuse the two feature maps.

        Args:
            sketch_feat: (B, C, H, W) sketch features (queries).
            ref_feat: (B, C, H', W') reference features (keys / values).
            return_attention: also return the attention map of the cross step.

        Returns:
            (B, C, H, W) fused features, or ``(fused, attention)`` with attention of shape
            (B, H*W, H'*W') when ``return_attention`` is True.
        """
