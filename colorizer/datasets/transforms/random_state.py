"""Where the random transforms get their randomness from.

Training transforms draw from NumPy's global state, which MMEngine seeds per dataloader worker
(``randomness=dict(seed=...)``), so training is reproducible the usual OpenMMLab way. Evaluation
samples must be the same in every run and every worker regardless of the order they are fetched
in: the evaluation datasets put a ``sample_seed`` into the results dict and each transform derives
its own generator from ``(sample_seed, transform name)``.
"""
import zlib

import numpy as np

__all__ = ['SAMPLE_SEED_KEY', 'sample_rng']

#: Results key holding a per-sample seed; when present, random transforms are deterministic.
SAMPLE_SEED_KEY = 'sample_seed'


def sample_rng(results: dict, salt: str) -> np.random.Generator:
    """The generator a random transform should draw from for this sample.

    Args:
        results: The pipeline's results dict.
        salt: A name unique to the transform (so two transforms do not draw the same numbers).

    Returns:
        A generator seeded from ``results['sample_seed']`` and ``salt`` if the sample has a seed,
        else one seeded from NumPy's global random state.
    """
    seed = results.get(SAMPLE_SEED_KEY)
    if seed is None:
        seed = np.random.randint(0, 2**31 - 1)
    return np.random.default_rng([int(seed) % 2**64, zlib.crc32(salt.encode())])
