"""Gradient-cosine analysis of the attention (fusion) modules (paper §3.3, Figs. 4, 5 and 10).

An attention module with the branch-capture interface of
:class:`~colorizer.models.attention.BaseAttention` records, for each input, the gradient that
reached it through each branch alone (``branch_grads``: name -> (B, N, C)). From these this module
computes cosine similarities:

**Generic rule** (any module, third-party plugins included). Branches are grouped by input, the
prefix before the first ``_`` (``x_skip``, ``x_q`` -> ``x``; ``y_k``, ``y_v`` -> ``y``). For
every input with at least two recorded branches, each branch gets
``cos(g_branch, Σ g_input)``, under the pair key ``'<branch>~<input>_total'``. SCFT's four
named pairs of Fig. 4 are exactly these:

===============================  =====================
paper (Fig. 4)                   pair key
===============================  =====================
cos(g_skip, g_skip + g_Q)        ``x_skip~x_total``
cos(g_Q, g_skip + g_Q)           ``x_q~x_total``
cos(g_V, g_K + g_V)              ``y_v~y_total``
cos(g_K, g_K + g_V)              ``y_k~y_total``
===============================  =====================

**Kept / attention split** (Fig. 10). The *attention branches* are the ones that stop-gradient
removes: SCFT ``x_q, y_k`` (through the map ``softmax(QKᵀ)``), SGA ``x_att, y_att`` (the map's
raw inputs); a plugin may name its own with an ``attention_branches`` attribute, otherwise
branch names ending in ``_att`` are taken. With g_X the sum of the *kept* branches of input X
(what a stop-gradient model still back-propagates) and ḡ_X the total gradient:

- ``'<in>_kept~<in>_att'`` = cos(g_X, ḡ_X − g_X) (ḡ_X − g_X is summed from the attention
  branches themselves, not by subtraction);
- ``'<in>_kept~<in>_total'`` = cos(g_X, ḡ_X), recorded when it is not already a generic pair
  (several kept branches, or no attention branch carrying gradient).

Mapping of Fig. 10 ("SGA w/o stop-gradient") to SGA's branch names. The figure's g_X is drawn in
Fig. 6(a) (Algorithm 1) as the gradient reaching X outside the attention map. Our SGA also has
the outer shortcut of the authors' code (``Z = BN(...) + X``), so g_X = g[x_skip] + g[x_proj]
(everything stop-gradient keeps), ḡ_X = g_X + g[x_att]; for Y, g_Y = g[y_proj] and
ḡ_Y = g_Y + g[y_att]:

===============================  =====================================================
paper (Fig. 10)                  pair key
===============================  =====================================================
(a) cos(g_X, ḡ_X)                ``x_kept~x_total``
(b) cos(g_Y, ḡ_Y)                ``y_proj~y_total`` (g_Y is one branch: a generic pair)
(c) cos(g_X, ḡ_X − g_X)          ``x_kept~x_att``
(d) cos(g_Y, ḡ_Y − g_Y)          ``y_kept~y_att``
===============================  =====================================================

The narrower reading g_X = g[x_proj] alone is the generic pair ``x_proj~x_total``.

With stop-gradient (SGA's default, SCFT's Table 1 variants) a stopped branch records nothing:
it is listed under ``absent_branches`` with ``grad_norm`` exactly 0, and
``x_kept~x_total`` / ``y_kept~y_total`` are identically 1 (the total gradient *is* the kept one).

Cosines follow the authors' ``cal_cosine`` (``F.normalize`` then dot product): a zero vector has
cosine 0. *Per pixel*: one cosine per token, over channels (B·N values per step); *per
instance*: over the flattened (N·C) gradient of each sample (B values per step). A loss scale
(AMP) multiplies every branch alike and leaves the cosines unchanged.
"""
import json
import os
import os.path as osp
import time
import warnings
from collections import OrderedDict, defaultdict
from contextlib import nullcontext
from typing import Dict, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.dist import all_gather_object, get_world_size, is_main_process
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import IterBasedTrainLoop
from torch import nn

from colorizer.models.attention import SCFT, SGA, BaseAttention
from colorizer.models.reference_colorizer import frozen
from colorizer.registry import HOOKS

PERS = ('pixel', 'instance')
#: Share of cos(g_skip, total) above this value is the paper's headline number (78.09 % at
#: epoch 40 on anime).
HIGH_COSINE = 0.935
_EPS = 1e-12  # F.normalize's eps, as in the authors' cal_cosine

# Known modules: the branches their capture can record, which of them are attention branches,
# and the paper's names for the pairs. Third-party modules may define the same three as
# attributes ``gradient_branches``, ``attention_branches`` and ``gradient_labels``.
_SCFT_SPEC = dict(
    branches=('x_skip', 'x_q', 'y_k', 'y_v'),
    attention=('x_q', 'y_k'),
    labels={
        'x_skip~x_total': 'cos(g_skip, g_skip+g_Q)',
        'x_q~x_total': 'cos(g_Q, g_skip+g_Q)',
        'y_v~y_total': 'cos(g_V, g_K+g_V)',
        'y_k~y_total': 'cos(g_K, g_K+g_V)',
        'x_kept~x_att': 'cos(g_skip, g_Q)',
        'y_kept~y_att': 'cos(g_V, g_K)',
        'x_kept~x_total': 'cos(g_skip, g_skip) [Q stopped]',
        'y_kept~y_total': 'cos(g_V, g_V) [K stopped]',
    })
_SGA_SPEC = dict(
    branches=('x_skip', 'x_proj', 'x_att', 'y_proj', 'y_att'),
    attention=('x_att', 'y_att'),
    labels={
        'x_kept~x_total': 'cos(g_X, ḡ_X)  [g_X = g_skip + g_Wx]',
        'x_kept~x_att': 'cos(g_X, ḡ_X − g_X)',
        'y_proj~y_total': 'cos(g_Y, ḡ_Y)  [g_Y = g_Wy]',
        'y_kept~y_att': 'cos(g_Y, ḡ_Y − g_Y)',
        'y_kept~y_total': 'cos(g_Y, ḡ_Y)  [g_Y = g_Wy]',
        'x_skip~x_total': 'cos(g_skip, ḡ_X)',
        'x_proj~x_total': 'cos(g_Wx, ḡ_X)',
        'x_att~x_total': 'cos(g_att, ḡ_X)',
        'y_att~y_total': 'cos(g_att, ḡ_Y)',
    })


# --------------------------------------------------------------------------- computation
def cosine(a: torch.Tensor, b: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Cosine similarity along ``dim`` with ``F.normalize``'s convention (zero vector -> 0).

    Computed in at least float32.
    """
    dtype = torch.promote_types(torch.promote_types(a.dtype, b.dtype), torch.float32)
    a, b = a.to(dtype), b.to(dtype)
    na = a.norm(dim=dim).clamp_min(_EPS)
    nb = b.norm(dim=dim).clamp_min(_EPS)
    return (a * b).sum(dim=dim) / (na * nb)


def cosine_per(a: torch.Tensor, b: torch.Tensor,
               per: Sequence[str] = PERS) -> Dict[str, torch.Tensor]:
    """Cosines of two (B, N, C) gradients: ``pixel`` -> (B·N,), ``instance`` -> (B,)."""
    out = {}
    for p in per:
        if p == 'pixel':
            out[p] = cosine(a, b, dim=-1).reshape(-1)
        elif p == 'instance':
            out[p] = cosine(a.reshape(a.shape[0], -1), b.reshape(b.shape[0], -1), dim=-1)
        else:
            raise ValueError(f"per must be 'pixel' or 'instance', got {p!r}")
    return out


def input_of(branch: str) -> str:
    """The input a branch belongs to: the name up to the first ``_`` (``'x_skip'`` -> ``'x'``)."""
    return branch.split('_', 1)[0]


def branch_cosines(grads: Dict[str, torch.Tensor],
                   attention_branches: Sequence[str] = (),
                   per: Sequence[str] = PERS) -> Dict[str, Dict[str, torch.Tensor]]:
    """All cosine pairs of one backward (see the module docstring for the rules).

    Args:
        grads: branch name -> gradient (B, N, C) that reached the input through that branch.
            Stopped branches are simply absent.
        attention_branches: the branches stop-gradient removes, recorded or not (an input that
            has one gets the kept / attention split even when its attention branches are absent).
        per: ``'pixel'`` and / or ``'instance'``.

    Returns:
        pair key -> {per: 1-D cosine tensor}.
    """
    groups: Dict[str, List[str]] = OrderedDict()
    for name in grads:
        groups.setdefault(input_of(name), []).append(name)
    att_inputs = {input_of(n) for n in attention_branches}
    out: Dict[str, Dict[str, torch.Tensor]] = OrderedDict()
    for group, names in groups.items():
        total = _sum(grads[n] for n in names)
        if len(names) >= 2:
            for name in names:
                out[f'{name}~{group}_total'] = cosine_per(grads[name], total, per)
        if group not in att_inputs:
            continue
        kept = [n for n in names if n not in attention_branches]
        att = [n for n in names if n in attention_branches]
        if not kept:
            continue
        g_kept = _sum(grads[n] for n in kept)
        if len(kept) >= 2 or not att:
            out[f'{group}_kept~{group}_total'] = cosine_per(g_kept, total, per)
        if att:
            out[f'{group}_kept~{group}_att'] = cosine_per(g_kept, _sum(grads[n] for n in att), per)
    return out


def order_branches(grads: dict, order: Optional[Sequence[str]] = None) -> 'OrderedDict':
    """``grads`` in the module's documented branch order (unknown names last, sorted)."""
    order = list(order or [])
    rank = {name: i for i, name in enumerate(order)}
    keys = sorted(grads, key=lambda n: (rank.get(n, len(order)), n))
    return OrderedDict((k, grads[k]) for k in keys)


def _sum(tensors) -> torch.Tensor:
    tensors = list(tensors)
    total = tensors[0]
    for t in tensors[1:]:
        total = total + t
    return total


def grad_norms(grads: Dict[str, torch.Tensor], expected: Sequence[str] = ()) -> Dict[str, float]:
    """Mean per-token L2 norm of each branch gradient; expected but absent branches give 0.0."""
    out = OrderedDict((name, 0.0) for name in expected)
    for name, g in grads.items():
        out[name] = float(g.float().norm(dim=-1).mean())
    return out


def cosine_stats(values: np.ndarray, edges: np.ndarray, high: float = HIGH_COSINE) -> dict:
    """Summary of a set of cosines: count, shares, moments and histogram counts."""
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    count = int(values.size)
    if count == 0:
        return dict(count=0, share_negative=None, share_above=None, mean=None, std=None,
                    median=None, hist=[0] * (len(edges) - 1))
    hist, _ = np.histogram(np.clip(values, edges[0], edges[-1]), bins=edges)
    return dict(count=count,
                share_negative=float((values < 0).mean()),
                share_above=float((values > high).mean()),
                mean=float(values.mean()), std=float(values.std()),
                median=float(np.median(values)),
                hist=[int(h) for h in hist])


# --------------------------------------------------------------------------- modules
def branch_spec(module: nn.Module) -> dict:
    """Expected branches, attention branches, paper labels and stop-gradient switches."""
    if isinstance(module, SCFT):
        spec = dict(_SCFT_SPEC)
    elif isinstance(module, SGA):
        spec = dict(_SGA_SPEC)
    else:
        spec = dict(branches=None, attention=None, labels={})
    branches = getattr(module, 'gradient_branches', None) or spec['branches']
    attention = getattr(module, 'attention_branches', None) or spec['attention']
    labels = dict(spec['labels'])
    labels.update(getattr(module, 'gradient_labels', None) or {})
    stop = {k: bool(getattr(module, k)) for k in ('stop_grad', 'stop_grad_q', 'stop_grad_k')
            if isinstance(getattr(module, k, None), bool)}
    return dict(type=type(module).__name__,
                branches=list(branches) if branches else None,
                attention=list(attention) if attention is not None else None,
                labels=labels, stop_gradient=stop)


def pair_label(pair: str, labels: Dict[str, str]) -> str:
    """A readable name for a pair key: the paper's when known, else ``cos(g[a], Σg[x])``."""
    if pair in labels:
        return labels[pair]
    first, second = pair.split('~')
    group = input_of(first)
    names = {f'{group}_total': f'Σg[{group}]', f'{group}_att': f'g[{group} attention]',
             f'{group}_kept': f'g[{group} kept]'}
    return f'cos({names.get(first, f"g[{first}]")}, {names.get(second, f"g[{second}]")})'


def iter_modules(model: nn.Module, prefix: str = '') -> Iterator[Tuple[str, nn.Module]]:
    """``named_modules`` that looks through model wrappers (DDP), so names match the bare model."""
    if is_model_wrapper(model):
        yield from iter_modules(model.module, prefix)
        return
    yield prefix, model
    for name, child in model.named_children():
        yield from iter_modules(child, f'{prefix}.{name}' if prefix else name)


def is_capture_module(module: nn.Module) -> bool:
    return isinstance(module, BaseAttention) or hasattr(module, 'capture_branches')


def find_capture_modules(model: nn.Module,
                         names: Optional[Sequence[str]] = None) -> 'OrderedDict[str, nn.Module]':
    """The attention modules to analyse.

    Args:
        model: the model (wrappers are looked through).
        names: module names (as in the bare model, e.g. ``'generator.attention'``); default: every
            module of the generator (or of the whole model, if it has no ``generator``) that is a
            ``BaseAttention`` or has a ``capture_branches`` attribute.
    """
    found = OrderedDict(iter_modules(model))
    if names is not None:
        missing = [n for n in names if n not in found]
        if missing:
            raise KeyError(f'GradientCosineHook: no module named {missing}; attention-like '
                           f'modules are {[n for n, m in found.items() if is_capture_module(m)]}')
        bad = [n for n in names if not hasattr(found[n], 'capture_branches')]
        if bad:
            raise TypeError(f'GradientCosineHook: {bad} have no branch-capture interface '
                            '(capture_branches / branch_grads, see BaseAttention)')
        return OrderedDict((n, found[n]) for n in names)
    scope = 'generator' if 'generator' in found else ''
    return OrderedDict((n, m) for n, m in found.items()
                       if is_capture_module(m) and (not scope or n == scope
                                                    or n.startswith(scope + '.')))


def branch_gradients(loss: torch.Tensor, modules: Dict[str, nn.Module],
                     retain_graph: bool = False) -> Dict[str, Dict[str, torch.Tensor]]:
    """Gradient of ``loss`` through each recorded branch, by ``torch.autograd.grad``.

    The modules must have run their forward with ``capture_branches`` on, so that
    ``module.branches`` holds one handle per branch. The gradient w.r.t. a handle is the
    gradient that reaches the input through that branch alone. No parameter ``.grad`` is
    touched and the backward stops at the handles.

    Returns:
        module name -> {branch: detached (B, N, C) gradient}; stopped branches are absent.
    """
    handles = [(mname, bname, h) for mname, m in modules.items()
               for bname, h in getattr(m, 'branches', {}).items()]
    out: Dict[str, Dict[str, torch.Tensor]] = OrderedDict((m, OrderedDict()) for m in modules)
    if not handles:
        return out
    grads = torch.autograd.grad(loss, [h for _, _, h in handles], retain_graph=retain_graph,
                                allow_unused=True)
    for (mname, bname, _), grad in zip(handles, grads):
        if grad is not None:
            out[mname][bname] = grad.detach()
    return out


def step_capture_is_exact(module: nn.Module) -> bool:
    """Whether capturing inside the training step leaves the update bit-identical.

    Capture gives each branch its own view of the input, so the input's gradient is summed as
    ``Σ_branches (Σ_consumers of the branch)`` instead of over all consumers at once. With at
    most two contributions per input the sum is the same to the bit (a + b = b + a); with more,
    floating-point addition is not associative and the parameter gradients may differ in the
    last bits (which Adam's first steps can turn into visible differences). Verified exact:
    SCFT (any stop-gradient switches) and SGA with stop-gradient. SGA without stop-gradient
    feeds X to the shortcut, W_x and the map (several consumers): not exact. A plugin may
    declare ``capture_is_exact = True``.
    """
    declared = getattr(module, 'capture_is_exact', None)
    if isinstance(declared, bool):
        return declared
    if isinstance(module, SCFT):
        return True
    if isinstance(module, SGA):
        return bool(module.stop_grad)
    return False


class CosineAccumulator:
    """Collects cosines and gradient norms of captured backward passes, per module.

    Args:
        per: ``'pixel'`` and / or ``'instance'``.
        bins: number of histogram bins on [-1, 1], or the bin edges.
        high: threshold of the "share above" statistic.
    """

    def __init__(self, per: Sequence[str] = PERS, bins: Union[int, Sequence[float]] = 100,
                 high: float = HIGH_COSINE):
        self.per = tuple(per)
        self.edges = (np.linspace(-1.0, 1.0, int(bins) + 1) if np.isscalar(bins)
                      else np.asarray(bins, dtype=np.float64))
        self.high = high
        self.reset()

    def reset(self) -> None:
        self.values = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
        self.norms = defaultdict(lambda: defaultdict(list))
        self.present = defaultdict(set)
        self.captures = 0
        self.seconds = 0.0

    def add(self, module_name: str, grads: Dict[str, torch.Tensor], spec: dict) -> None:
        """Add one backward pass of one module."""
        grads = order_branches(grads, spec.get('branches'))
        cos = branch_cosines(grads, spec.get('attention') or
                             [n for n in grads if n.endswith('_att')], self.per)
        for pair, per_values in cos.items():
            for p, v in per_values.items():
                self.values[module_name][pair][p].append(v.detach().cpu().numpy())
        for name, value in grad_norms(grads, spec.get('branches') or ()).items():
            self.norms[module_name][name].append(value)
        self.present[module_name].update(grads)

    # state for all_gather across ranks: plain dicts of lists
    def state(self) -> dict:
        return dict(values={m: {pair: dict(d) for pair, d in pairs.items()}
                            for m, pairs in self.values.items()},
                    norms={m: dict(d) for m, d in self.norms.items()},
                    present={m: sorted(s) for m, s in self.present.items()},
                    captures=self.captures, seconds=self.seconds)

    def merge(self, state: dict) -> None:
        for m, pairs in state['values'].items():
            for pair, per_values in pairs.items():
                for p, arrays in per_values.items():
                    self.values[m][pair][p].extend(arrays)
        for m, norms in state['norms'].items():
            for name, vals in norms.items():
                self.norms[m][name].extend(vals)
        for m, names in state['present'].items():
            self.present[m].update(names)

    def arrays(self, module_name: str) -> Dict[str, Dict[str, np.ndarray]]:
        return {pair: {p: np.concatenate(v) if v else np.zeros(0, np.float32)
                       for p, v in per_values.items()}
                for pair, per_values in self.values[module_name].items()}

    def summary(self, module_name: str, spec: dict) -> dict:
        """Per-module summary: branches present / absent, mean gradient norms, pair statistics."""
        present = list(order_branches(dict.fromkeys(self.present[module_name]),
                                      spec.get('branches')))
        expected = spec.get('branches') or present
        absent = [b for b in expected if b not in self.present[module_name]]
        pairs = OrderedDict()
        for pair, per_values in self.arrays(module_name).items():
            entry = dict(label=pair_label(pair, spec.get('labels', {})))
            for p, values in per_values.items():
                entry[p] = cosine_stats(values, self.edges, self.high)
            pairs[pair] = entry
        norms = OrderedDict((name, float(np.mean(v)) if v else 0.0)
                            for name, v in self.norms[module_name].items())
        att = [b for b in (spec.get('attention') or []) if b in expected]
        notes = []
        if att and all(b in absent for b in att):
            notes.append(f'attention branches {att} carry no gradient (stop-gradient): '
                         'their gradient norm is exactly 0 and the kept gradient equals the '
                         'total gradient')
        return OrderedDict(present_branches=present, absent_branches=absent,
                           grad_norm=norms, pairs=pairs, notes=notes)


# --------------------------------------------------------------------------- the hook
def _unwrap(module: nn.Module) -> nn.Module:
    return module.module if is_model_wrapper(module) else module


def _tensors(module: nn.Module) -> List[torch.Tensor]:
    """Parameters and buffers of a module."""
    return list(module.parameters()) + list(module.buffers())


def _generator_wrapper(runner):
    wrappers = getattr(runner, 'optim_wrapper', None)
    try:
        return wrappers['generator']
    except (TypeError, KeyError, AttributeError):
        return None


@HOOKS.register_module()
class GradientCosineHook(Hook):
    """Record the cosine between each attention branch's gradient and the total (Figs. 4, 10).

    Every ``interval`` iterations the hook measures the per-branch gradients of the generator's
    loss (the sum of ``generator_losses``, what the generator step back-propagates), computes the
    cosines (see the module docstring for the pairs) and frees the stored tensors. Two ways:

    - ``mode='step'``: switch branch capture on before the train step (``before_train_iter``),
      read ``branch_grads`` after it (``after_train_iter``), switch it off. No extra compute.
      The forward result is unchanged; the update is bit-identical when every input has at most
      two gradient contributions (SCFT, SGA with stop-gradient; see
      :func:`step_capture_is_exact`), otherwise it may differ in the last bits.
    - ``mode='replay'``: the train step runs untouched (capture off), so the update is
      bit-identical for any module. ``before_train_iter`` keeps a copy of the generator's
      weights and buffers and watches the discriminator's buffers before each of its calls;
      ``after_train_iter`` then recomputes exactly what the step's generator loss saw
      (``generator_losses(G_before_step(sketch, ref), D_after_its_update)`` on the same batch,
      with the discriminator's buffers as before its last call) with capture on, takes
      ``torch.autograd.grad`` down to the branch handles only (no parameter ``.grad``), and
      puts every parameter, buffer and the RNG state back as the step left them. Costs a copy
      of the generator plus one generator forward, one discriminator forward and a partial
      backward per captured iteration. Needs a model with ``generator``, ``discriminator``,
      ``data_preprocessor`` and ``generator_losses`` whose train step is "discriminator
      update, then generator update from one generator forward" (ReferenceColorizer).
    - ``mode='auto'`` (default): ``'step'`` when every analysed module is exact in step mode,
      else ``'replay'`` (else ``'step'`` with a warning if the model cannot replay).

    Once per epoch (epoch-based loops) or every ``summary_interval`` iterations (default for
    iteration-based loops: the length of the train dataloader, i.e. one pass over the data) the
    collected cosines are summarised into ``out_dir`` (default ``<work_dir>/gradient_cosine``):

    - ``summary.json``: settings, module specs (branches, attention branches, stop-gradient
      switches, paper labels) and one record per period: iterations covered, number of captures,
      and per module the present / absent branches, mean per-token gradient norm per branch
      (0.0 exactly for an absent, stopped branch) and per pair and per ``pixel`` / ``instance``:
      count, share of negative cosines, share above ``high`` (0.935), mean, std, median and
      histogram bin counts (``bin_edges`` at the top);
    - ``cosines_<epoch_E|iter_I>.npz``: the raw cosines of the period, keys
      ``'<module>/<pair>/<per>'``, randomly subsampled to ``max_saved`` values each.

    The shares and gradient norms also go to the visualizer as scalars
    (``gradcos/<module>/<pair>/<per>/share_negative`` ..., step = iteration, so they land in
    ``vis_data/scalars.json`` and tensorboard) and, when a ``TensorboardVisBackend`` is
    configured, the cosines as tensorboard histograms. Plot them with
    ``tools/analysis_tools/plot_gradient_cosine.py``.

    Args:
        interval (int): capture every ``interval`` iterations (iteration ``i`` is captured when
            ``i % interval == 0``, counting from 1).
        modules (list[str], optional): names of the modules to analyse (e.g.
            ``['generator.attention']``); default: every attention module of the generator.
        per (str | tuple): ``'pixel'``, ``'instance'`` or both.
        bins (int | list): histogram bins on [-1, 1] (count) or explicit edges.
        high (float): threshold of the "share above" statistic.
        summary_interval (int, optional): summarise every this many iterations instead of per
            epoch.
        out_dir (str, optional): where the files go; default ``<work_dir>/gradient_cosine``.
        max_saved (int): cap on the values kept per array in the NPZ files (subsampled with a
            fixed seed).
        tensorboard (bool): write tensorboard histograms when a TensorboardVisBackend exists.
        mode (str): ``'auto'``, ``'step'`` or ``'replay'`` (see above).
    """

    # Must read the gradients before any other hook runs the generator again (SampleGridHook,
    # LOW priority, would reset the modules' stored branches).
    priority = 'ABOVE_NORMAL'

    def __init__(self,
                 interval: int = 10,
                 modules: Optional[Sequence[str]] = None,
                 per: Union[str, Sequence[str]] = PERS,
                 bins: Union[int, Sequence[float]] = 100,
                 high: float = HIGH_COSINE,
                 summary_interval: Optional[int] = None,
                 out_dir: Optional[str] = None,
                 max_saved: int = 200_000,
                 tensorboard: bool = True,
                 mode: str = 'auto'):
        if int(interval) < 1:
            raise ValueError(f'interval must be a positive integer, got {interval}')
        per = (per, ) if isinstance(per, str) else tuple(per)
        bad = [p for p in per if p not in PERS]
        if bad or not per:
            raise ValueError(f"per must be 'pixel', 'instance' or both, got {per}")
        if mode not in ('auto', 'step', 'replay'):
            raise ValueError(f"mode must be 'auto', 'step' or 'replay', got {mode!r}")
        if summary_interval is not None and int(summary_interval) < 1:
            raise ValueError(f'summary_interval must be positive, got {summary_interval}')
        self.interval = int(interval)
        self.module_names = list(modules) if modules is not None else None
        self.per = per
        self.bins = bins
        self.high = float(high)
        self.summary_interval = int(summary_interval) if summary_interval else None
        self.out_dir = out_dir
        self.max_saved = int(max_saved)
        self.tensorboard = tensorboard
        self.mode = mode
        self._mode: Optional[str] = None
        self._replay_state: Optional[dict] = None
        self.acc = CosineAccumulator(per, bins, high)
        self._modules: 'OrderedDict[str, nn.Module]' = OrderedDict()
        self._specs: Dict[str, dict] = {}
        self._capturing = False
        self._by_epoch = False
        self._period_start = 1
        self._periods: List[dict] = []

    # ------------------------------------------------------------------ set-up
    def _resolve(self, runner) -> None:
        if self._modules:
            return
        self._modules = find_capture_modules(runner.model, self.module_names)
        if not self._modules:
            raise RuntimeError('GradientCosineHook: the model has no attention module with the '
                               'branch-capture interface (BaseAttention / capture_branches)')
        self._specs = {name: branch_spec(m) for name, m in self._modules.items()}
        self._mode = self._choose_mode(runner)

    def _choose_mode(self, runner) -> str:
        model = _unwrap(runner.model)
        can_replay = all(hasattr(model, a) for a in ('generator', 'discriminator',
                                                     'generator_losses', 'data_preprocessor'))
        if self.mode == 'replay' and not can_replay:
            raise TypeError("GradientCosineHook(mode='replay') needs a model with generator, "
                            'discriminator, data_preprocessor and generator_losses '
                            f'(ReferenceColorizer); got {type(model).__name__}')
        if self.mode != 'auto':
            return self.mode
        if all(step_capture_is_exact(m) for m in self._modules.values()):
            return 'step'
        if can_replay:
            return 'replay'
        warnings.warn('GradientCosineHook: capturing inside the train step may change the '
                      'update in the last bits for these modules, and the model cannot replay '
                      "the generator step; using mode='step'")
        return 'step'

    def before_train(self, runner) -> None:
        self._resolve(runner)
        self.out_dir = self.out_dir or osp.join(runner.work_dir, 'gradient_cosine')
        loop = getattr(runner, 'train_loop', None)
        if self.summary_interval is None:
            if isinstance(loop, IterBasedTrainLoop):
                try:
                    self.summary_interval = max(1, len(runner.train_dataloader))
                except TypeError:
                    self.summary_interval = 1000
            else:
                self._by_epoch = True
        self._period_start = runner.iter + 1
        # resumed run: keep the periods written before the checkpoint
        path = osp.join(self.out_dir, 'summary.json')
        if runner.iter > 0 and osp.isfile(path):
            with open(path) as f:
                old = json.load(f)
            self._periods = [p for p in old.get('periods', []) if p['iter_end'] <= runner.iter]

    # ------------------------------------------------------------------ capture
    def _set_capture(self, on: bool) -> None:
        for module in self._modules.values():
            module.capture_branches = on
            if not on:  # free the graph handles and gradients
                module.branches, module.branch_grads = {}, {}
        self._capturing = on

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        self._resolve(runner)
        if not self.every_n_train_iters(runner, self.interval):
            return
        if self._mode == 'replay':
            self._prepare_replay(runner, data_batch)
        else:
            self._set_capture(True)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if self._capturing:
            start = time.perf_counter()
            for name, module in self._modules.items():
                grads = dict(module.branch_grads)
                if grads:
                    self.acc.add(name, grads, self._specs[name])
            self.acc.captures += 1
            self._set_capture(False)
            self.acc.seconds += time.perf_counter() - start
        if self._replay_state is not None:
            self._replay(runner)
        if not self._by_epoch and (self.is_last_train_iter(runner) or (
                self.summary_interval and self.every_n_train_iters(runner, self.summary_interval))):
            # the loop increments runner.iter after this hook: runner.iter + 1 steps are done
            self.summarize(runner, iter_end=runner.iter + 1)

    # ------------------------------------------------------------------ replay
    def _prepare_replay(self, runner, data_batch) -> None:
        """Before the step: keep the generator's weights and watch the discriminator's calls.

        The generator step back-propagates ``generator_losses(G_old(sketch, ref), D_new)``:
        the generator as it was before the step, the discriminator after its own update, with
        the buffers (spectral-norm vectors) it had right before its last forward of the step.
        """
        start = time.perf_counter()
        model = _unwrap(runner.model)
        generator, discriminator = _unwrap(model.generator), _unwrap(model.discriminator)
        state = dict(batch=data_batch,
                     generator=[(t, t.detach().clone()) for t in _tensors(generator)],
                     disc_buffers=None)

        def keep_buffers(module, args):  # the discriminator's state before each of its calls
            state['disc_buffers'] = [b.detach().clone() for b in module.buffers()]

        state['handle'] = discriminator.register_forward_pre_hook(keep_buffers)
        self._replay_state = state
        self.acc.seconds += time.perf_counter() - start

    def _replay(self, runner) -> None:
        """After the step: recompute the step's generator loss with branch capture on.

        Weights and buffers are set to what the step's generator loss saw, the branch gradients
        are taken with ``torch.autograd.grad`` down to the branch handles only (no parameter
        ``.grad``), then every tensor and the RNG state are put back as the step left them.
        """
        start = time.perf_counter()
        state, self._replay_state = self._replay_state, None
        state['handle'].remove()
        model = _unwrap(runner.model)
        generator, discriminator = _unwrap(model.generator), _unwrap(model.discriminator)
        # what the replay may change: the generator's tensors, the discriminator's buffers
        after = [(t, t.detach().clone())
                 for t in _tensors(generator) + list(discriminator.buffers())]
        cpu_rng = torch.get_rng_state()
        cuda_rng = (torch.cuda.get_rng_state_all()
                    if torch.cuda.is_available() and torch.cuda.is_initialized() else None)
        wrapper = _generator_wrapper(runner)
        context = (lambda: wrapper.optim_context(generator)) if wrapper is not None else nullcontext
        try:
            with torch.no_grad():
                for tensor, value in state['generator']:
                    tensor.copy_(value)
                if state['disc_buffers'] is not None:
                    for buffer, value in zip(discriminator.buffers(), state['disc_buffers']):
                        buffer.copy_(value)
            self._set_capture(True)
            with torch.enable_grad():
                data = model.data_preprocessor(state['batch'], True)
                inputs = data['inputs']
                with context():
                    fake = generator(inputs['sketch'], inputs['reference'])
                with context(), frozen(discriminator) as disc:
                    losses = model.generator_losses(inputs['sketch'], inputs['target'], fake,
                                                    disc)
                total = sum(losses.values())
                scaler = getattr(wrapper, 'loss_scaler', None)
                if scaler is not None and hasattr(scaler, 'get_scale'):
                    total = total * scaler.get_scale()  # as the step: no fp16 underflow
                grads = branch_gradients(total, self._modules)
            for name, branch in grads.items():
                if branch:
                    self.acc.add(name, branch, self._specs[name])
            self.acc.captures += 1
        finally:
            self._set_capture(False)
            with torch.no_grad():
                for tensor, value in after:
                    tensor.copy_(value)
            torch.set_rng_state(cpu_rng)
            if cuda_rng is not None:
                torch.cuda.set_rng_state_all(cuda_rng)
        self.acc.seconds += time.perf_counter() - start

    def after_train_epoch(self, runner) -> None:
        if self._by_epoch:
            self.summarize(runner, iter_end=runner.iter, epoch=runner.epoch + 1)

    def after_train(self, runner) -> None:
        if self._capturing:
            self._set_capture(False)
        if self._replay_state is not None:
            self._replay_state['handle'].remove()
            self._replay_state = None
        if self.acc.captures:
            self.summarize(runner, iter_end=runner.iter)

    # ------------------------------------------------------------------ summaries
    def summarize(self, runner, iter_end: int, epoch: Optional[int] = None) -> Optional[dict]:
        """Summarise and write what was collected since the last summary, then reset.

        Args:
            runner: the Runner.
            iter_end: number of training iterations done when the period ends.
            epoch: the epoch (1-based) the period is, for epoch-based summaries.
        """
        acc = self.acc
        if get_world_size() > 1:
            states = all_gather_object(acc.state())
            merged = CosineAccumulator(self.per, self.bins, self.high)
            for state in states:
                merged.merge(state)
            merged.captures, merged.seconds = acc.captures, acc.seconds
            acc = merged
        record = None
        if acc.captures and is_main_process():
            record = self._write(runner, acc, epoch, iter_end)
        self._period_start = iter_end + 1
        self.acc.reset()
        return record

    def _write(self, runner, acc: CosineAccumulator, epoch: Optional[int], iter_end: int) -> dict:
        self.out_dir = self.out_dir or osp.join(runner.work_dir, 'gradient_cosine')
        os.makedirs(self.out_dir, exist_ok=True)
        tag = f'epoch_{epoch:03d}' if epoch is not None else f'iter_{iter_end:07d}'
        npz_name = f'cosines_{tag}.npz'
        record = OrderedDict(period=len(self._periods) + 1, epoch=epoch,
                             iter_start=self._period_start, iter_end=iter_end,
                             num_captures=acc.captures,
                             hook_seconds_per_capture=acc.seconds / max(acc.captures, 1),
                             npz=npz_name, modules=OrderedDict())
        arrays, scalars = {}, OrderedDict()
        rng = np.random.default_rng(0)
        for name in self._modules:
            summary = acc.summary(name, self._specs[name])
            record['modules'][name] = summary
            for pair, per_values in acc.arrays(name).items():
                for p, values in per_values.items():
                    if values.size > self.max_saved:
                        values = rng.choice(values, self.max_saved, replace=False)
                    arrays[f'{name}/{pair}/{p}'] = values.astype(np.float32)
                    stats = summary['pairs'][pair][p]
                    if stats['count']:
                        scalars[f'gradcos/{name}/{pair}/{p}/share_negative'] = \
                            stats['share_negative']
                        scalars[f'gradcos/{name}/{pair}/{p}/share_above'] = stats['share_above']
            for branch, norm in summary['grad_norm'].items():
                scalars[f'gradcos/{name}/{branch}/grad_norm'] = norm
        np.savez_compressed(osp.join(self.out_dir, npz_name), **arrays)
        self._periods.append(record)
        self._dump_summary()

        step = iter_end
        visualizer = getattr(runner, 'visualizer', None)
        if visualizer is not None:
            visualizer.add_scalars(dict(scalars), step=step)
            if self.tensorboard:
                self._tensorboard_histograms(visualizer, arrays, step)
        logger = getattr(runner, 'logger', None)
        if logger is not None:
            logger.info(f'GradientCosineHook: {tag}, {acc.captures} captured steps: '
                        + '; '.join(self._headline(record)))
        return record

    def _headline(self, record: dict) -> List[str]:
        out = []
        for name, summary in record['modules'].items():
            for pair, entry in summary['pairs'].items():
                stats = entry.get('pixel') or entry.get('instance')
                if stats and stats['count']:
                    out.append(f'{entry["label"]}: neg {100 * stats["share_negative"]:.1f}% '
                               f'>{self.high} {100 * stats["share_above"]:.1f}%')
            if summary['absent_branches']:
                out.append(f'{name}: no gradient in {summary["absent_branches"]}')
        return out

    def _tensorboard_histograms(self, visualizer, arrays: dict, step: int) -> None:
        from mmengine.visualization import TensorboardVisBackend
        backends = getattr(visualizer, '_vis_backends', {}) or {}
        for backend in backends.values():
            if not isinstance(backend, TensorboardVisBackend):
                continue
            writer = backend.experiment
            for key, values in arrays.items():
                if values.size:
                    writer.add_histogram(f'gradcos/{key}', values, global_step=step,
                                         bins=self.acc.edges)
            writer.flush()

    def _dump_summary(self) -> None:
        modules = OrderedDict()
        for name, spec in self._specs.items():
            modules[name] = OrderedDict(type=spec['type'], branches=spec['branches'],
                                        attention_branches=spec['attention'],
                                        stop_gradient=spec['stop_gradient'],
                                        labels=spec['labels'])
        data = OrderedDict(
            format='colorizer.gradient_cosine/1',
            interval=self.interval, mode=self._mode, per=list(self.per), high=self.high,
            period_unit='epoch' if self._by_epoch else 'iter',
            summary_interval=self.summary_interval,
            bin_edges=[float(e) for e in self.acc.edges],
            modules=modules, periods=self._periods)
        path = osp.join(self.out_dir, 'summary.json')
        tmp = path + '.tmp'
        with open(tmp, 'w') as f:
            json.dump(data, f, indent=1)
        os.replace(tmp, path)
