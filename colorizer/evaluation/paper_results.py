"""The numbers published in the paper (Li et al., ECCV 2022), to print beside ours.

All rows are FID↓ / SSIM↑ under the random-reference protocol (paper §4.1: each validation
sketch coloured with the image of another validation sample). The authors' evaluation script
computes the single-window grayscale SSIM (``SSIM(mode='global')``, logged as
``ssim_global``), not the windowed SSIM that colorizer logs as ``ssim`` by default; compare SSIM
columns with that in mind.

- Table 2: all fusion modules on the four datasets.
- Table 3: SGA ablations on the four datasets.
- Table 1: SCFT with stop-gradient on its query / key projections, anime only. The text version of
  the paper lost the check marks of the two setting columns. The first row (44.65 / 0.788) is
  plain SCFT (it is Table 2's SCFT row) and the last (36.78 / 0.841) stops both (the text says
  W_q and W_k then receive no gradient and can be removed). The two middle rows are taken in the
  usual order of such tables, W_q only then W_k only; treat that attribution as unverified.
"""
import re
from typing import Dict, NamedTuple, Optional


class PaperResult(NamedTuple):
    """One published cell: FID, SSIM and the table it comes from."""
    fid: float
    ssim: float
    table: str


#: The paper's datasets, in its column order.
PAPER_DATASETS = ('anime', 'cat', 'dog', 'wild')


def _row(table: str, *values: float) -> Dict[str, PaperResult]:
    pairs = zip(values[0::2], values[1::2])
    return {name: PaperResult(fid, ssim, table) for name, (fid, ssim) in zip(PAPER_DATASETS, pairs)}


#: method -> dataset -> published result. Insertion order is the paper's row order.
PAPER_RESULTS: Dict[str, Dict[str, PaperResult]] = {
    # Table 2: anime, cat, dog, wild (FID, SSIM each).
    'SPADE': _row('Table 2', 57.55, 0.681, 36.11, 0.526, 76.57, 0.631, 24.56, 0.573),
    'CoCosNet': _row('Table 2', 52.06, 0.672, 35.02, 0.511, 68.69, 0.603, 23.10, 0.554),
    'SCFT': _row('Table 2', 44.65, 0.788, 36.33, 0.636, 79.08, 0.683, 24.93, 0.633),
    'UNITE': _row('Table 2', 52.19, 0.676, 33.26, 0.636, 72.38, 0.677, 23.97, 0.592),
    'CMFT': _row('Table 2', 38.94, 0.873, 37.78, 0.813, 73.18, 0.809, 23.90, 0.822),
    'SGA': _row('Table 2', 29.65, 0.912, 34.35, 0.843, 54.76, 0.841, 15.19, 0.831),
    # Table 3: ablations.
    'SGA w/o stop-gradient': _row('Table 3', 36.34, 0.876, 40.73, 0.796, 72.34, 0.808,
                                  19.90, 0.791),
    'SGA w/o double-norm': _row('Table 3', 33.42, 0.861, 34.42, 0.811, 55.08, 0.828,
                                15.95, 0.809),
    'SGA w/o self-SGA': _row('Table 3', 31.56, 0.917, 34.26, 0.842, 55.69, 0.839, 16.36, 0.821),
    # Table 1: SCFT stop-gradient variants, anime only (see the module docstring).
    'SCFT stop-grad W_q': _row('Table 1', 48.04, 0.799),
    'SCFT stop-grad W_k': _row('Table 1', 38.20, 0.835),
    'SCFT stop-grad W_q & W_k': _row('Table 1', 36.78, 0.841),
}

#: Patterns over normalised method names (lower case, letters and digits only) -> paper row.
_METHOD_PATTERNS = (
    (r'sga(wo|no|without)(stopgrad(ient)?|sg)', 'SGA w/o stop-gradient'),
    (r'sga(wo|no|without)(doublenorm(ali[sz]ation)?|dn)|sgasoftmax', 'SGA w/o double-norm'),
    (r'sga(wo|no|without)(self|selfsga|selfattention)|sgacrossonly', 'SGA w/o self-SGA'),
    (r'scft(stopgrad|sg)w?qw?k|scft(stopgrad|sg)both', 'SCFT stop-grad W_q & W_k'),
    (r'scft(stopgrad|sg)w?q', 'SCFT stop-grad W_q'),
    (r'scft(stopgrad|sg)w?k', 'SCFT stop-grad W_k'),
    (r'sga', 'SGA'),
    (r'scft', 'SCFT'),
    (r'spade', 'SPADE'),
    (r'cocosnet', 'CoCosNet'),
    (r'unite', 'UNITE'),
    (r'cmft', 'CMFT'),
)

#: Tokens naming the paper's datasets (AFHQ's classes appear as e.g. ``afhq_cat``).
_DATASET_TOKENS = {'anime': 'anime', 'cat': 'cat', 'cats': 'cat', 'dog': 'dog', 'dogs': 'dog',
                   'wild': 'wild', 'wilds': 'wild'}


def _normalise(name: str) -> str:
    return re.sub(r'[^a-z0-9]', '', name.lower())


def canonical_method(name: Optional[str]) -> Optional[str]:
    """The paper's row name for a method name such as ``'sga'``, ``'SGA_wo_stopgrad'``.

    Returns ``None`` for methods the paper does not report.
    """
    if not name:
        return None
    if name in PAPER_RESULTS:
        return name
    normalised = _normalise(name)
    for canonical in PAPER_RESULTS:
        if normalised == _normalise(canonical):
            return canonical
    for pattern, canonical in _METHOD_PATTERNS:
        if re.fullmatch(pattern, normalised):
            return canonical
    return None


def canonical_dataset(name: Optional[str]) -> Optional[str]:
    """The paper's column for a dataset name (``'afhq_cat'`` -> ``'cat'``), else ``None``."""
    if not name:
        return None
    for token in re.split(r'[^a-z0-9]+', name.lower()):
        if token in _DATASET_TOKENS:
            return _DATASET_TOKENS[token]
    return None


def paper_result(method: Optional[str], dataset: Optional[str]) -> Optional[PaperResult]:
    """The published FID / SSIM of ``method`` on ``dataset``, or ``None`` if not published."""
    row = PAPER_RESULTS.get(canonical_method(method) or '', {})
    return row.get(canonical_dataset(dataset) or '')
