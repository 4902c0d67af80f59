"""Trained models shipped in the repository, found by name.

``init_model('corr_sga_toon64')`` builds the model of the entry's config and loads its
checkpoint after checking the file's SHA-256, so a model can colour a drawing right after a
clone, with no training. Paths are relative to the repository root (the folder that holds the
``colorizer`` package, ``configs/`` and ``checkpoints/``).

A shipped checkpoint holds the generator's weights only (the discriminator is a training-only
module that inference does not build), which keeps it a few MB.
"""
import hashlib
import os.path as osp
from dataclasses import dataclass
from typing import Dict

__all__ = ['ModelZooEntry', 'MODEL_ZOO', 'repository_root', 'resolve_model', 'sha256_of']


@dataclass(frozen=True)
class ModelZooEntry:
    """One shipped model.

    Attributes:
        config: Config file, relative to the repository root.
        checkpoint: Checkpoint file, relative to the repository root.
        sha256: Hex SHA-256 of the checkpoint file.
        description: One line: what it was trained on and how.
    """

    config: str
    checkpoint: str
    sha256: str
    description: str


#: Name -> entry. The README's model-zoo table lists the same entries with their metrics.
MODEL_ZOO: Dict[str, ModelZooEntry] = {
    'corr_sga_toon64': ModelZooEntry(
        config='configs/corr_sga/corr_sga_toon64.py',
        checkpoint='checkpoints/corr_sga_toon64.pth',
        sha256='816c49d4a7dca48607b67a0edfaac7a8ceb3135b0825a91ba3b68046da9bf06c',
        description='CosineMatchSGA + region InfoNCE, palette-swapped references, synthetic '
        'cartoons at 64 px (benchmarks/bench_shipped_model.py)'),
}


def repository_root() -> str:
    """The folder holding the ``colorizer`` package (and ``configs/``, ``checkpoints/``)."""
    return osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def sha256_of(path: str) -> str:
    """Hex SHA-256 of a file."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


def resolve_model(name: str) -> ModelZooEntry:
    """The entry of ``name`` with absolute paths, its checkpoint's checksum verified.

    Raises:
        KeyError: an unknown name (the message lists the known ones).
        FileNotFoundError: the entry's config or checkpoint is not in this copy of the
            repository (e.g. an installed package without ``configs/``).
        ValueError: the checkpoint's SHA-256 differs from the entry's (a damaged or replaced
            file, or a Git LFS pointer instead of the file).
    """
    if name not in MODEL_ZOO:
        raise KeyError(f'unknown model {name!r}; shipped models: {sorted(MODEL_ZOO)}')
    entry = MODEL_ZOO[name]
    root = repository_root()
    config, checkpoint = osp.join(root, entry.config), osp.join(root, entry.checkpoint)
    for path, what in ((config, 'config'), (checkpoint, 'checkpoint')):
        if not osp.isfile(path):
            raise FileNotFoundError(f'model {name!r}: its {what} {path} is missing (shipped '
                                    'models need a clone of the repository)')
    actual = sha256_of(checkpoint)
    if entry.sha256 and actual != entry.sha256:
        raise ValueError(f'model {name!r}: checkpoint {checkpoint} has SHA-256 {actual}, '
                         f'expected {entry.sha256} (damaged or replaced file)')
    return ModelZooEntry(config, checkpoint, entry.sha256, entry.description)
