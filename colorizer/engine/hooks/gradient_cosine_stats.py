"""Gradient-cosine statistics of attention branches (paper §3.3, Figs. 4, 5 and 10).

Pure computations on captured branch gradients (branch name -> (B, N, C) gradient that reached
an input through that branch alone, see :class:`~colorizer.models.attention.BaseAttention`):
the cosine pairs, their per-pixel / per-instance values, and their summaries (shares, moments,
histograms). Shared by :class:`~colorizer.engine.hooks.GradientCosineHook` and
``tools/analysis_tools/gradient_cosine_per_loss.py``; nothing here touches a model.

**Generic rule** (any module, third-party plugins included). Branches are grouped by input, the
prefix before the first ``_`` (``x_skip``, ``x_q`` -> ``x``; ``y_k``, ``y_v`` -> ``y``). For
every input with at least two recorded branches, each branch gets
``cos(g_branch, Σ g_input)``, under the pair key ``'<branch>~<input>_total'``.

**Kept / attention split** (Fig. 10). The *attention branches* are the ones stop-gradient
removes (named by the module's spec; otherwise branch names ending in ``_att``). With g_X the
sum of the *kept* branches of input X (what a stop-gradient model still back-propagates) and
ḡ_X the total gradient:

- ``'<in>_kept~<in>_att'`` = cos(g_X, ḡ_X − g_X) (ḡ_X − g_X is summed from the attention
  branches themselves, not by subtraction);
- ``'<in>_kept~<in>_total'`` = cos(g_X, ḡ_X), recorded when it is not already a generic pair
  (several kept branches, or no attention branch carrying gradient).

A stopped branch records nothing: it is reported absent with a gradient norm of exactly 0, and
``<in>_kept~<in>_total`` is then identically 1 (the total gradient *is* the kept one).

Cosines follow the authors' ``cal_cosine`` (``F.normalize`` then dot product): a zero vector has
cosine 0. *Per pixel*: one cosine per token, over channels (B·N values per backward); *per
instance*: over the flattened (N·C) gradient of each sample (B values per backward). A loss
scale (AMP) multiplies every branch alike and leaves the cosines unchanged.
"""
from collections import OrderedDict, defaultdict
from typing import Dict, Iterable, List, Optional, Sequence, Union

import numpy as np
import torch

PERS = ('pixel', 'instance')
#: Share of cos(g_skip, total) above this value is the paper's headline number (78.09 % at
#: epoch 40 on anime).
HIGH_COSINE = 0.935
_EPS = 1e-12  # F.normalize's eps, as in the authors' cal_cosine


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


def _sum(tensors: Iterable[torch.Tensor]) -> torch.Tensor:
    tensors = list(tensors)
    total = tensors[0]
    for t in tensors[1:]:
        total = total + t
    return total


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


def grad_norms(grads: Dict[str, torch.Tensor], expected: Sequence[str] = ()) -> Dict[str, float]:
    """Mean per-token L2 norm of each branch gradient; expected but absent branches give 0.0."""
    out = OrderedDict((name, 0.0) for name in expected)
    for name, g in grads.items():
        out[name] = float(g.float().norm(dim=-1).mean())
    return out


def bin_edges(bins: Union[int, Sequence[float]] = 100) -> np.ndarray:
    """Histogram edges: ``bins`` equal bins on [-1, 1], or the explicit edges given."""
    if np.isscalar(bins):
        return np.linspace(-1.0, 1.0, int(bins) + 1)
    return np.asarray(bins, dtype=np.float64)


def cosine_stats(values: np.ndarray, edges: np.ndarray, high: float = HIGH_COSINE) -> dict:
    """Summary of a set of cosines: count, shares, moments and histogram counts.

    Values outside the edges are counted in the first / last bin.
    """
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


def pair_label(pair: str, labels: Dict[str, str]) -> str:
    """A readable name for a pair key: the paper's when known, else ``cos(g[a], Σg[x])``."""
    if pair in labels:
        return labels[pair]
    first, second = pair.split('~')
    group = input_of(first)
    names = {f'{group}_total': f'Σg[{group}]', f'{group}_att': f'g[{group} attention]',
             f'{group}_kept': f'g[{group} kept]'}
    return f'cos({names.get(first, f"g[{first}]")}, {names.get(second, f"g[{second}]")})'


def headlines(summary: dict, high: float = HIGH_COSINE) -> List[str]:
    """One line per pair of a module summary (:meth:`CosineAccumulator.summary`): label, share
    of negative cosines and share above ``high``, pixel statistics when recorded."""
    out = []
    for entry in summary['pairs'].values():
        stats = entry.get('pixel') or entry.get('instance')
        if stats and stats['count']:
            out.append(f'{entry["label"]}: neg {100 * stats["share_negative"]:.1f}% '
                       f'>{high} {100 * stats["share_above"]:.1f}%')
    return out


class CosineAccumulator:
    """Collects cosines and gradient norms of captured backward passes, per module.

    A *spec* (per module) is a dict with ``branches`` (the branches the module can record, in
    order, or None), ``attention`` (its attention branches, or None: names ending in ``_att``)
    and ``labels`` (pair key -> paper name).

    Args:
        per: ``'pixel'`` and / or ``'instance'``.
        bins: number of histogram bins on [-1, 1], or the bin edges.
        high: threshold of the "share above" statistic.
    """

    def __init__(self, per: Sequence[str] = PERS, bins: Union[int, Sequence[float]] = 100,
                 high: float = HIGH_COSINE):
        self.per = tuple(per)
        self.edges = bin_edges(bins)
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

    def add_capture(self, grads: Dict[str, Dict[str, torch.Tensor]],
                    specs: Dict[str, dict]) -> None:
        """Add one captured backward of every module and count it.

        Args:
            grads: module name -> {branch: (B, N, C) gradient}; a module that recorded nothing
                (not run, or every branch stopped) is skipped.
            specs: module name -> spec.
        """
        for name, branch_grads in grads.items():
            if branch_grads:
                self.add(name, branch_grads, specs[name])
        self.captures += 1

    # state for all_gather across ranks: plain dicts of lists
    def state(self) -> dict:
        return dict(values={m: {pair: dict(d) for pair, d in pairs.items()}
                            for m, pairs in self.values.items()},
                    norms={m: dict(d) for m, d in self.norms.items()},
                    present={m: sorted(s) for m, s in self.present.items()},
                    captures=self.captures, seconds=self.seconds)

    def merge(self, state: dict) -> None:
        """Add the values of another accumulator's :meth:`state` (not its counters)."""
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
        """pair key -> {per: all cosines collected, 1-D}."""
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
