"""The study's figures: scores per arm, diagnostics over training and gradient cosines (the
last two drawn by ``plot_correspondence.py`` and ``plot_gradient_cosine.py``)."""
import json
import os.path as osp
from typing import Dict, List, Optional

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402

from .arms import Arm, Run  # noqa: E402
from .locations import load_tool  # noqa: E402

def scores_figure(table: Dict[str, dict], arms: List[Arm], out: str) -> Optional[str]:
    """ΔE and validation region mass per arm: mean (dot) ± std over seeds (bar)."""
    arms = [a for a in arms if table[a.key]['delta_e']['n']]
    if not arms:
        return None
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    colors = ['tab:green' if a.method.key == 'sga' else 'tab:blue' if a.method.key == 'scft'
              else 'tab:purple' if a.method.key == 'line_art_sga' else 'tab:gray' for a in arms]
    for ax, name, title in zip(axes, ('delta_e', 'corr/region_mass'),
                               ('region colour error ΔE (lower is better)',
                                'same-region attention mass (dashes: chance)')):
        for i, (arm, color) in enumerate(zip(arms, colors)):
            stats = table[arm.key][name]
            if stats['mean'] is None:
                continue
            ax.errorbar(i, stats['mean'], yerr=stats['std'], fmt='o', color=color, capsize=4)
            if name == 'corr/region_mass' and table[arm.key]['corr/region_chance']['mean']:
                chance = table[arm.key]['corr/region_chance']['mean']
                ax.plot([i - 0.3, i + 0.3], [chance, chance], '--', color='k', lw=1)
        ax.set_xticks(range(len(arms)))
        ax.set_xlim(-0.5, len(arms) - 0.5)
        ax.set_xticklabels([a.label for a in arms], rotation=35, ha='right', fontsize=7)
        ax.set_title(title, fontsize=9)
        ax.grid(axis='y', alpha=0.3)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def curves_figure(runs: List[Run], args) -> Optional[str]:
    """Diagnostics over training beside the ΔE curve (``plot_correspondence.py``)."""
    groups = {}
    for run in runs:
        if osp.isfile(osp.join(run.work_dir, 'correspondence.jsonl')):
            groups.setdefault(run.arm.label, []).append(run.work_dir)
    if not groups:
        return None
    out = osp.join(args.assets, 'correspondence_curves.png')
    argv = ['--out', out]
    for label, dirs in groups.items():
        argv += ['--run', label, *dirs]
    load_tool('plot_correspondence').main(argv)
    return out


def cosine_figures(runs: List[Run], args) -> List[str]:
    """Histograms and share curves (pixel cosines, paper pairs) of the first seed's runs."""
    tool = load_tool('plot_gradient_cosine')
    written = []
    for run in runs:
        if not osp.isfile(osp.join(run.work_dir, 'gradient_cosine', 'summary.json')):
            continue
        argv = [run.work_dir, '--out', osp.join(args.assets, run.arm.key), '--per', 'pixel']
        pairs = [p for p in run.arm.method.cosine_pairs if p in pairs_of(run)]
        written += tool.main(argv + (['--pairs', *pairs] if pairs else []))
    return written


def pairs_of(run: Run) -> List[str]:
    with open(osp.join(run.work_dir, 'gradient_cosine', 'summary.json')) as f:
        summary = json.load(f)
    return [p for period in summary['periods'] for entry in period['modules'].values()
            for p in entry['pairs']]
