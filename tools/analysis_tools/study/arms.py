"""What the correspondence study compares: methods, arms (a method at a learning rate), the
metrics it reads from the logs, and one (arm, seed) run."""
import argparse
import os.path as osp
from dataclasses import dataclass
from typing import NamedTuple, Optional, Tuple

#: The pairs of the paper's gradient-cosine figures: Fig. 4 (SCFT) and Fig. 10 (SGA w/o
#: stop-gradient); see colorizer/engine/hooks/gradient_cosine_hook.py for the keys.
SCFT_PAIRS = ('x_skip~x_total', 'x_q~x_total', 'y_v~y_total', 'y_k~y_total')
SGA_PAIRS = ('x_kept~x_total', 'y_proj~y_total', 'x_kept~x_att', 'y_kept~y_att')


class Method(NamedTuple):
    """An attention module: its demo config, its name and, for the methods whose gradient
    cosines can be recorded, the pairs to report."""
    key: str
    config: str
    label: str
    cosine_pairs: Tuple[str, ...] = ()


METHODS = {m.key: m for m in (
    Method('sga', 'configs/sga/sga_demo.py', 'SGA'),
    Method('scft', 'configs/scft/scft_demo.py', 'SCFT', SCFT_PAIRS),
    Method('uniform', 'configs/uniform/uniform_demo.py', 'uniform map (control)'),
    Method('oracle', 'configs/oracle/oracle_demo.py', 'oracle map (control)'),
    Method('line_art_sga', 'configs/line_art_sga/line_art_sga_demo.py', 'SGA, line-art map'),
    Method('sga_wo_stopgrad', 'configs/sga/sga_wo_stopgrad_demo.py', 'SGA w/o stop-gradient',
           SGA_PAIRS),
    Method('sga_wo_doublenorm', 'configs/sga/sga_wo_doublenorm_demo.py', 'SGA w/o double-norm'),
    Method('sga_wo_selfsga', 'configs/sga/sga_wo_selfsga_demo.py', 'SGA w/o self-SGA'),
    Method('scft_sg_q', 'configs/scft/scft_sg_q_demo.py', 'SCFT stop-grad W_q'),
    Method('scft_sg_k', 'configs/scft/scft_sg_k_demo.py', 'SCFT stop-grad W_k'),
    Method('scft_sg_qk', 'configs/scft/scft_sg_qk_demo.py', 'SCFT stop-grad W_q & W_k'),
    Method('spade', 'configs/spade/spade_demo.py', 'SPADE'),
    Method('cocosnet', 'configs/cocosnet/cocosnet_demo.py', 'CoCosNet'),
    Method('unite', 'configs/unite/unite_demo.py', 'UNITE'),
    Method('cmft', 'configs/cmft/cmft_demo.py', 'CMFT'),
)}
#: The default study, most informative arms first (a study stopped early misses the last).
DEFAULT_ARMS = ['sga', 'scft', 'uniform', 'oracle', 'line_art_sga', 'sga@1e-4', 'scft@1e-4']
QUICK_ARMS = ['sga', 'scft', 'oracle']
#: Paired comparisons (A, B): per seed, A's score minus B's.
PAIRS = [('sga', 'scft'), ('sga@1e-4', 'scft@1e-4'), ('sga', 'uniform'), ('scft', 'uniform'),
         ('oracle', 'scft'), ('line_art_sga', 'sga'), ('line_art_sga', 'uniform'),
         ('sga', 'sga@1e-4'), ('scft', 'scft@1e-4')]


class Arm(NamedTuple):
    """One row of the study: a method at one generator learning rate."""
    key: str
    method: Method
    lr: float

    @property
    def label(self) -> str:
        return f'{self.method.label}, lr {self.lr:g}'


def parse_arm(text: str, default_lr: float) -> Arm:
    """``'sga'`` or ``'sga@1e-4'`` -> :class:`Arm`."""
    name, _, lr = text.partition('@')
    if name not in METHODS:
        raise argparse.ArgumentTypeError(
            f'unknown method {name!r} in arm {text!r}; known: {", ".join(sorted(METHODS))}')
    try:
        rate = float(lr) if lr else default_lr
    except ValueError:
        raise argparse.ArgumentTypeError(f'bad learning rate {lr!r} in arm {text!r}') from None
    if rate <= 0:
        raise argparse.ArgumentTypeError(f'learning rate must be positive in arm {text!r}')
    key = name if rate == default_lr else f'{name}@{rate:g}'
    return Arm(key, METHODS[name], rate)


class Metric(NamedTuple):
    name: str  # logged as random_ref/<name>
    header: str
    digits: int
    higher_is_better: Optional[bool]


METRICS = [
    Metric('delta_e', 'ΔE↓', 2, False),
    Metric('region_accuracy', 'region acc.↑', 3, True),
    Metric('ssim', 'SSIM↑', 3, True),
    Metric('psnr', 'PSNR↑', 2, True),
    Metric('corr/region_mass', 'region mass↑', 3, True),
    Metric('corr/region_chance', 'region chance', 3, None),
    Metric('corr/diagonal_mass', 'diagonal mass↑', 3, True),
    Metric('corr/entropy', 'row entropy (nats)', 2, None),
    Metric('corr/row_max', 'row max', 3, None),
    Metric('corr/topk_mass', 'top-4 mass', 3, None),
    Metric('corr/mass_norm_spearman', 'Spearman mass~norm', 2, None),
]
SCORE_METRICS = [m for m in METRICS if not m.name.startswith('corr/')]
DIAG_METRICS = [m for m in METRICS if m.name.startswith('corr/')]


@dataclass
class Run:
    """One (arm, seed) training."""
    arm: Arm
    seed: int
    work_dir: str

    @property
    def name(self) -> str:
        return f'{self.arm.key}/seed{self.seed}'

    @property
    def results_path(self) -> str:
        return osp.join(self.work_dir, 'results.json')
