"""Fixed, seeded sketch/reference pairings for the random-reference protocol."""
import numpy as np

__all__ = ['derangement']


def derangement(n: int, seed: int = 0) -> np.ndarray:
    """A uniformly random permutation of ``range(n)`` without fixed points.

    Sample ``i`` of the random-reference protocol is coloured with the reference of image
    ``perm[i]``; a fixed point would make it a self-reference sample. The permutation depends
    only on ``(n, seed)``, so every run (and every worker) sees the same pairs.

    Rejection sampling: a random permutation is a derangement with probability ~1/e, so on
    average fewer than three draws are needed.

    Args:
        n: Number of items, at least 2.
        seed: Seed of the pairing.

    Returns:
        int64 array ``perm`` of length ``n`` with ``perm[i] != i`` for all ``i``.

    Raises:
        ValueError: ``n < 2`` (no derangement exists).
    """
    if n < 2:
        raise ValueError(f'a derangement needs at least 2 items, got n={n}: the random-reference '
                         'protocol needs at least two images')
    rng = np.random.default_rng([int(seed) % 2**64, int(n)])
    identity = np.arange(n)
    while True:
        perm = rng.permutation(n)
        if not np.any(perm == identity):
            return perm.astype(np.int64)
