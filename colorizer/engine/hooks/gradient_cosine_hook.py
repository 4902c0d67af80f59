"""Gradient-cosine analysis of the attention (fusion) modules (paper §3.3, Figs. 4, 5 and 10).

An attention module with the branch-capture interface of
:class:`~colorizer.models.attention.BaseAttention` records, for each input, the gradient that
reached it through each branch alone (``branch_grads``: name -> (B, N, C)).
:class:`GradientCosineHook` switches that capture on for the train steps it samples and turns
the gradients into cosine statistics with :mod:`.gradient_cosine_stats`, which documents the
pair rules (generic ``'<branch>~<input>_total'`` pairs, kept / attention split). This module
finds the modules and reads what each declares (``gradient_branches``, ``attention_branches``,
``gradient_labels``, ``stop_gradient_switches``, see ``BaseAttention``): it knows no concrete
class, so a third-party plugin that declares its branches gets the same curves.

SCFT's four named pairs of Fig. 4 are generic pairs (the labels SCFT declares):

===============================  =====================
paper (Fig. 4)                   pair key
===============================  =====================
cos(g_skip, g_skip + g_Q)        ``x_skip~x_total``
cos(g_Q, g_skip + g_Q)           ``x_q~x_total``
cos(g_V, g_K + g_V)              ``y_v~y_total``
cos(g_K, g_K + g_V)              ``y_k~y_total``
===============================  =====================

*Attention branches* (the ones stop-gradient removes, declared by each class): SCFT ``x_q, y_k``
(through the map ``softmax(QKᵀ)``), SGA ``x_att, y_att`` (the map's raw inputs); a module that
declares none gets the branch names ending in ``_att``.

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
"""
import json
import os
import os.path as osp
import time
from collections import OrderedDict
from typing import Dict, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np
from mmengine.dist import all_gather_object, get_world_size, is_main_process
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import IterBasedTrainLoop
from torch import nn

from colorizer.fileio import strict_dumps
from colorizer.models.attention import BaseAttention
from colorizer.registry import HOOKS
from .gradient_cosine_stats import HIGH_COSINE, PERS, CosineAccumulator, headlines

# --------------------------------------------------------------------------- modules
def branch_spec(module: nn.Module) -> dict:
    """What ``module`` declares about its branches (see ``BaseAttention``).

    Reads the attributes ``gradient_branches``, ``attention_branches``, ``gradient_labels`` and
    the method ``stop_gradient_switches``; a module that declares nothing gets the generic rule
    on whatever it records (attention branches: names ending in ``'_att'``).

    Returns:
        dict with ``type``, ``branches`` (list or None), ``attention`` (list or None),
        ``labels`` (pair key -> paper name) and ``stop_gradient`` (switch name -> bool).
    """
    branches = getattr(module, 'gradient_branches', None)
    attention = getattr(module, 'attention_branches', None)
    switches = getattr(module, 'stop_gradient_switches', None)
    stop = {k: bool(v) for k, v in switches().items()} if callable(switches) else {}
    return dict(type=type(module).__name__,
                branches=list(branches) if branches else None,
                attention=list(attention) if attention is not None else None,
                labels=dict(getattr(module, 'gradient_labels', None) or {}), stop_gradient=stop)


def spec_record(spec: dict) -> 'OrderedDict':
    """A :func:`branch_spec` as the JSON summaries write it (the hook's and the per-loss tool's)."""
    return OrderedDict(type=spec['type'], branches=spec['branches'],
                       attention_branches=spec['attention'],
                       stop_gradient=spec['stop_gradient'], labels=spec['labels'])


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


# --------------------------------------------------------------------------- the hook
@HOOKS.register_module()
class GradientCosineHook(Hook):
    """Record the cosine between each attention branch's gradient and the total (Figs. 4, 10).

    Every ``interval`` iterations the hook measures the per-branch gradients of the generator's
    loss (the sum of ``generator_losses``, what the generator step back-propagates), computes the
    cosines (see the module docstring for the pairs) and frees the stored tensors: branch
    capture is switched on before the train step (``before_train_iter``), ``branch_grads`` is
    read after it (``after_train_iter``) and capture is switched off. No extra compute, and the
    training is unchanged to the bit: the modules take the same branch views with capture on and
    off (``BaseAttention._branch``; a third-party module must do the same), so the autograd
    graph, and with it the order in which each input's gradient contributions are summed, does
    not depend on the capture; the capture's tensor hooks only read the gradients.

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
                 tensorboard: bool = True):
        if int(interval) < 1:
            raise ValueError(f'interval must be a positive integer, got {interval}')
        per = (per, ) if isinstance(per, str) else tuple(per)
        bad = [p for p in per if p not in PERS]
        if bad or not per:
            raise ValueError(f"per must be 'pixel', 'instance' or both, got {per}")
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
        self._set_capture(True)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if self._capturing:
            start = time.perf_counter()
            self.acc.add_capture({name: dict(module.branch_grads)
                                  for name, module in self._modules.items()}, self._specs)
            self._set_capture(False)
            self.acc.seconds += time.perf_counter() - start
        if not self._by_epoch and (self.is_last_train_iter(runner) or (
                self.summary_interval and self.every_n_train_iters(runner, self.summary_interval))):
            # the loop increments runner.iter after this hook: runner.iter + 1 steps are done
            self.summarize(runner, iter_end=runner.iter + 1)

    def after_train_epoch(self, runner) -> None:
        if self._by_epoch:
            self.summarize(runner, iter_end=runner.iter, epoch=runner.epoch + 1)

    def after_train(self, runner) -> None:
        if self._capturing:
            self._set_capture(False)
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
            out.extend(headlines(summary, self.high))
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
        modules = OrderedDict((name, spec_record(spec)) for name, spec in self._specs.items())
        # 'mode' stays in the format: summaries of older versions may say 'replay' (a capture
        # re-run after the step); this version always captures in the train step
        data = OrderedDict(
            format='colorizer.gradient_cosine/1',
            interval=self.interval, mode='step', per=list(self.per), high=self.high,
            period_unit='epoch' if self._by_epoch else 'iter',
            summary_interval=self.summary_interval,
            bin_edges=[float(e) for e in self.acc.edges],
            modules=modules, periods=self._periods)
        path = osp.join(self.out_dir, 'summary.json')
        tmp = path + '.tmp'
        with open(tmp, 'w') as f:
            f.write(strict_dumps(data, indent=1))
        os.replace(tmp, path)
