"""Fréchet Inception Distance between the colourisations and the real images.

Features are pytorch-fid's (see :mod:`colorizer.evaluation.metrics.inception`), the distance is
pytorch-fid's formula. Each sample's feature vectors are kept in ``self.results``, so MMEngine's
``collect_results`` gathers them from every rank and drops the distributed sampler's padding
before the statistics are computed: a distributed evaluation gives the single-process number.

Real-image statistics cache
---------------------------
The real images' mean and covariance do not change while the model trains, so they are written to
``<real_stats_cache>/<key>_<real_key>_<H>x<W>_<cache_tag>.npz`` and, when that file exists at the
start of an evaluation, read instead of running Inception on the real images again.

- ``real_stats_key='afhq_cat_val'`` names the real set: the file is looked up from the first
  evaluation on, also in later runs. The name is the user's promise that it is the same image set;
  a file computed from other images (different sample paths) is reported with a warning.
- ``real_stats_key=None``: the key is derived from the evaluated samples, ``auto-<count>-<hash of
  their paths and indices>``, known only once every sample was seen. The first evaluation of a run
  therefore computes the real features and writes the file; later evaluations of the same run
  (validation every few epochs) reuse it. Pass the logged key as ``real_stats_key`` to reuse it in
  another run.

``cache_tag`` names the feature extractor (weights file, input size). Random weights have none, so
their statistics are never cached.
"""
import hashlib
import logging
import os.path as osp
import re
from collections import defaultdict
from typing import Callable, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.dist import broadcast_object_list
from mmengine.logging import print_log
from scipy import linalg

from colorizer.fileio import AtomicFile
from colorizer.registry import METRICS
from .base import ColorizationMetric, image_chw, sample_fields
from .inception import INCEPTION_MIN_SIZE, FIDInception, resolve_inception_weights

#: Metainfo keys that identify the real image of a sample, for the derived cache key.
IDENTITY_KEYS = ('sketch_path', 'target_path', 'img_path', 'index')


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray,
                     sigma2: np.ndarray) -> float:
    """Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2), pytorch-fid's formula.

    ``d² = ||mu1 - mu2||² + Tr(sigma1) + Tr(sigma2) - 2 Tr(sqrt(sigma1 sigma2))``, as
    ``pytorch_fid.fid_score.calculate_frechet_distance``. Only the trace of the matrix square
    root is needed, and sigma1·sigma2 is similar to the symmetric positive semi-definite
    sqrt(sigma1)·sigma2·sqrt(sigma1), so the trace is the sum of the square roots of the latter's
    eigenvalues. Two symmetric eigendecompositions replace ``scipy.linalg.sqrtm`` of a
    non-symmetric product: several times faster at 2048 dimensions and stable when the covariances
    are singular (fewer images than dimensions, the usual case), where ``sqrtm`` needs
    pytorch-fid's diagonal-offset retry. The result equals pytorch-fid's to rounding; like
    pytorch-fid's, it can be a tiny negative number when both distributions are the same.
    """
    mu1, mu2 = np.atleast_1d(mu1).astype(np.float64), np.atleast_1d(mu2).astype(np.float64)
    sigma1 = np.atleast_2d(sigma1).astype(np.float64)
    sigma2 = np.atleast_2d(sigma2).astype(np.float64)
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape:
        raise ValueError(f'statistics of different dimensions: {mu1.shape} vs {mu2.shape}')
    eigenvalues, eigenvectors = linalg.eigh(sigma1)
    root1 = (eigenvectors * np.sqrt(np.clip(eigenvalues, 0, None))) @ eigenvectors.T
    product_eigenvalues = linalg.eigvalsh(root1 @ sigma2 @ root1)
    tr_covmean = np.sqrt(np.clip(product_eigenvalues, 0, None)).sum()
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * tr_covmean)


def feature_statistics(features: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Mean and covariance (``np.cov``, N - 1 normalisation, as pytorch-fid) of (N, D) features."""
    features = np.asarray(features, dtype=np.float64)
    return features.mean(axis=0), np.cov(features, rowvar=False)


def sample_identity(fields: dict) -> str:
    """A string naming the real image of a sample: its paths and dataset index."""
    return '|'.join(str(fields.get(key)) for key in IDENTITY_KEYS)


def identity_hash(identities: Sequence[str]) -> str:
    """Order-free hash of a set of sample identities (ranks see samples in any order)."""
    return hashlib.sha1('\n'.join(sorted(identities)).encode()).hexdigest()


@METRICS.register_module()
class FID(ColorizationMetric):
    """FID between ``fake_key`` images (colourisations) and ``real_key`` images, logged as
    ``<protocol>_ref/fid`` (``random_ref/fid`` for the paper's Table 2).

    Args:
        inception_weights (str, optional): path of pytorch-fid's
            ``pt_inception-2015-12-05-6726825d.pth``; ``'auto'`` looks in
            ``torch.hub.get_dir()/checkpoints/``. A missing file raises ``FileNotFoundError``
            here, when the config is built, not at the first validation. ``None`` builds a
            seeded random-weights Inception (warns; numbers not comparable with published FIDs).
        real_key (str): the real image field (``'target'``: the colour image of the sketch).
        fake_key (str): the colourisation field.
        real_stats_cache (str, optional): folder of the real-statistics cache (module docstring);
            ``None`` disables the cache.
        real_stats_key (str, optional): name of the real image set in the cache; ``None`` derives
            it from the samples.
        batch_size (int): images per feature-extractor call.
        input_size (int, optional): Inception input side; 299 (pytorch-fid) is the only value
            that gives comparable FIDs, smaller values make tests fast. ``None``: no resizing.
        device (str): where features are computed; ``'auto'`` is CUDA when available (each
            rank's current device), else the CPU.
        feature_extractor (callable, optional): replaces the Inception: ``(B, 3, H, W)`` uint8
            tensor -> ``(B, D)`` features, with a ``cache_tag`` attribute (see
            :class:`~colorizer.evaluation.metrics.inception.FIDInception`). For tests and for
            other feature spaces; ``inception_weights`` is then ignored.
        seed (int): seed of the random-weights Inception.
        prefix, collect_device, collect_dir: see
            :class:`~colorizer.evaluation.metrics.base.ColorizationMetric`.
    """

    metric_name = 'FID'
    FIELD_ARGUMENTS = ('real_key', 'fake_key')

    @classmethod
    def min_input_size(cls, cfg: dict) -> int:
        """What the feature extractor accepts: any size when the Inception resizes its input
        (``input_size``, 299 by default), 75 px when it takes images at their own size, and a
        replacement extractor's ``min_input_size`` attribute (1 if it has none)."""
        extractor = cfg.get('feature_extractor')
        if extractor is not None:
            return int(getattr(extractor, 'min_input_size', 1))
        return 1 if cfg.get('input_size', 299) is not None else INCEPTION_MIN_SIZE

    @classmethod
    def result_names(cls, cfg: dict) -> List[str]:
        return ['fid']

    @classmethod
    def input_size_remedy(cls, cfg: dict) -> str:
        if cfg.get('feature_extractor') is not None:
            return 'evaluate larger images or use a feature extractor that accepts them'
        return ('set FID input_size=299 (pytorch-fid resizes to 299 px, the only size that gives '
                'comparable FIDs) or evaluate larger images')

    @classmethod
    def describe(cls, cfg: dict) -> str:
        if cfg.get('feature_extractor') is not None:
            return f"FID(feature_extractor={type(cfg['feature_extractor']).__name__})"
        return f"FID(input_size={cfg.get('input_size', 299)!r})"

    def __init__(self,
                 inception_weights: Optional[str] = 'auto',
                 real_key: str = 'target',
                 fake_key: str = 'output',
                 real_stats_cache: Optional[str] = 'work_dirs/fid_cache',
                 real_stats_key: Optional[str] = None,
                 batch_size: int = 32,
                 input_size: Optional[int] = 299,
                 device: str = 'auto',
                 feature_extractor: Optional[Callable] = None,
                 seed: int = 0,
                 prefix: Optional[str] = None,
                 collect_device: str = 'cpu',
                 collect_dir: Optional[str] = None) -> None:
        super().__init__(prefix=prefix, collect_device=collect_device, collect_dir=collect_dir)
        if feature_extractor is None:
            weights = (None if inception_weights is None
                       else resolve_inception_weights(inception_weights))
            feature_extractor = FIDInception(weights, input_size=input_size, seed=seed)
        self.feature_extractor = feature_extractor
        self._size_cfg = dict(feature_extractor=feature_extractor)
        self.cache_tag = getattr(feature_extractor, 'cache_tag', None)
        self.real_key = real_key
        self.fake_key = fake_key
        self.cache_dir = real_stats_cache if self.cache_tag else None
        self.real_stats_key = real_stats_key
        self.batch_size = batch_size
        self.device_name = device
        self._device: Optional[torch.device] = None
        # The key derived in an earlier evaluation of this run (same val set, same real images).
        self._derived_key: Optional[str] = None
        # Whether this evaluation round found the real statistics in the cache (None: not yet
        # looked up).
        self._round_uses_cache: Optional[bool] = None

    # Feature extraction ---------------------------------------------------------------------

    @property
    def device(self) -> torch.device:
        """The feature extractor's device, chosen (and the extractor moved) on first use, after
        the runner has set each rank's CUDA device."""
        if self._device is None:
            name = self.device_name
            if name == 'auto':
                name = 'cuda' if torch.cuda.is_available() else 'cpu'
            self._device = torch.device(name)
            if isinstance(self.feature_extractor, torch.nn.Module):
                self.feature_extractor.to(self._device)
        return self._device

    def features(self, images: List[torch.Tensor]) -> List[np.ndarray]:
        """float32 feature vectors of uint8 (3, H, W) images, in batches of equal size images."""
        out: List[Optional[np.ndarray]] = [None] * len(images)
        by_shape = defaultdict(list)
        for i, image in enumerate(images):
            by_shape[tuple(image.shape)].append(i)
        for indices in by_shape.values():
            for start in range(0, len(indices), self.batch_size):
                chunk = indices[start:start + self.batch_size]
                batch = torch.stack([images[i] for i in chunk]).to(self.device)
                with torch.no_grad():
                    feats = self.feature_extractor(batch)
                feats = feats.detach().float().cpu().numpy().reshape(len(chunk), -1)
                for i, feat in zip(chunk, feats):
                    out[i] = feat
        return out

    # Cache ----------------------------------------------------------------------------------

    def cache_path(self, key: Optional[str], shape: Tuple[int, int]) -> Optional[str]:
        """The cache file of the real set ``key`` at resolution ``shape`` (None: no cache)."""
        if self.cache_dir is None or key is None:
            return None
        safe_key = re.sub(r'[^A-Za-z0-9._+-]', '_', key)
        name = f'{safe_key}_{self.real_key}_{shape[0]}x{shape[1]}_{self.cache_tag}.npz'
        return osp.join(self.cache_dir, name)

    def _cache_hit(self, shape: Tuple[int, int]) -> bool:
        """Look the real statistics up once per evaluation round."""
        if self._round_uses_cache is None:
            path = self.cache_path(self.real_stats_key or self._derived_key, shape)
            self._round_uses_cache = path is not None and osp.isfile(path)
        return self._round_uses_cache

    def save_stats(self, path: str, mu: np.ndarray, sigma: np.ndarray, count: int,
                   ids: str) -> None:
        """Write the real statistics atomically (a crashed write leaves no half file), with
        the permissions ``open()`` gives under the umask (readable by the team under 022)."""
        with AtomicFile(path) as f:
            np.savez(f, mu=mu, sigma=sigma, count=count, ids=ids)
        key_hint = '' if self.real_stats_key else ' (reuse it in another run with real_stats_key)'
        print_log(f'FID: real-image statistics of {count} images cached in {path}{key_hint}',
                  logger='current')

    # BaseMetric interface -------------------------------------------------------------------

    def process(self, data_batch, data_samples: Sequence) -> None:
        """Store each sample's fake features and, unless cached, its real features."""
        fields = [sample_fields(s) for s in data_samples]
        if not fields:
            return
        fakes = [image_chw(f, self.fake_key, self.metric_name) for f in fields]
        reals = [image_chw(f, self.real_key, self.metric_name) for f in fields]
        for image in fakes + reals:
            self.check_input_size(tuple(image.shape[1:]), self._size_cfg)
        fake_feats = self.features(fakes)
        cached = self._cache_hit(tuple(reals[0].shape[1:]))
        real_feats = [None] * len(reals) if cached else self.features(reals)
        for f, real, fake_feat, real_feat in zip(fields, reals, fake_feats, real_feats):
            self.results.append(dict(fake=fake_feat, real=real_feat, id=sample_identity(f),
                                     shape=tuple(real.shape[1:]),
                                     protocol=self.protocol_of(f)))

    def real_statistics(self, results: List[dict]) -> Tuple[np.ndarray, np.ndarray]:
        """Real mean and covariance: from this round's features if every sample has them
        (then cached), else from the cache file."""
        ids = identity_hash([r['id'] for r in results])
        key = self.real_stats_key or f'auto-{len(results)}-{ids[:12]}'
        path = self.cache_path(key, results[0]['shape'])
        if self.real_stats_key is None:
            self._derived_key = key
        if all(r['real'] is not None for r in results):
            mu, sigma = feature_statistics(np.stack([r['real'] for r in results]))
            if path is not None:
                self.save_stats(path, mu, sigma, len(results), ids)
            return mu, sigma
        if path is None or not osp.isfile(path):
            raise RuntimeError(
                f'FID: real features were skipped because the cache had them, but the cache file '
                f'{path} is missing now (deleted during evaluation, or the evaluation set '
                'changed). Evaluate again: the real features will be computed.')
        with np.load(path, allow_pickle=False) as cache:
            if str(cache['ids']) != ids:
                print_log(f"FID: the cached real statistics {path} ('{key}') were computed from "
                          'other images than the ones evaluated now; delete the file or change '
                          'real_stats_key if the real set changed.', logger='current',
                          level=logging.WARNING)
            return cache['mu'], cache['sigma']

    def compute_values(self, results: List[dict]) -> dict:
        """FID from the gathered features of all ranks."""
        if len(results) < 2:
            print_log(f'FID needs at least 2 images, got {len(results)}; reporting nan',
                      logger='current', level=logging.WARNING)
            return {'fid': float('nan')}
        mu_real, sigma_real = self.real_statistics(results)
        mu_fake, sigma_fake = feature_statistics(np.stack([r['fake'] for r in results]))
        return {'fid': frechet_distance(mu_fake, sigma_fake, mu_real, sigma_real)}

    def evaluate(self, size: int) -> dict:
        """Evaluate, then share the derived cache key with every rank and start a new round."""
        metrics = super().evaluate(size)
        key = [self._derived_key]
        broadcast_object_list(key)
        self._derived_key = key[0]
        self._round_uses_cache = None
        return metrics

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(real_key={self.real_key!r}, '
                f'fake_key={self.fake_key!r}, cache_tag={self.cache_tag!r})')
