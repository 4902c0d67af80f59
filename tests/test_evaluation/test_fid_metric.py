"""FID: the distance, the Inception path, the real-statistics cache, distributed gathering."""
import os
import os.path as osp
import warnings

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp

from colorizer.evaluation.metrics import FID, PSNR, SSIM, frechet_distance
from colorizer.evaluation.metrics.fid import feature_statistics
from colorizer.evaluation.metrics.inception import FID_WEIGHTS_NAME, fid_inception_v3
from colorizer.registry import METRICS
from eval_samples import TinyFeatures, make_samples, random_images, shifted


def run_metric(metric, samples, batch=3, size=None):
    for start in range(0, len(samples), batch):
        metric.process(None, samples[start:start + batch])
    return metric.evaluate(len(samples) if size is None else size)


def tiny_fid(**kwargs):
    kwargs.setdefault('real_stats_cache', None)
    return FID(feature_extractor=TinyFeatures(), device='cpu', **kwargs)


def test_fid_of_a_set_with_itself_is_zero_and_grows_with_a_shift():
    images = random_images(12)
    same = run_metric(tiny_fid(), make_samples(images, images))['random_ref/fid']
    near = run_metric(tiny_fid(), make_samples(shifted(images, 10), images))['random_ref/fid']
    far = run_metric(tiny_fid(), make_samples(shifted(images, 60), images))['random_ref/fid']
    assert abs(same) < 1e-5  # rounding: sqrt of the zero eigenvalues of rank-deficient covariances
    assert 0 < near < far


def test_frechet_distance_matches_pytorch_fid_on_random_inception_features():
    from pytorch_fid.fid_score import calculate_frechet_distance
    images = random_images(6, size=48)
    with pytest.warns(UserWarning, match='randomly initialised'):
        metric = FID(inception_weights=None, input_size=75, real_stats_cache=None, device='cpu')
    result = run_metric(metric, make_samples(shifted(images, 40), images))
    fake = np.stack(metric.features(list(shifted(images, 40))))
    real = np.stack(metric.features(list(images)))
    assert fake.shape == (6, 2048)
    full = feature_statistics(fake) + feature_statistics(real)
    assert result['random_ref/fid'] == pytest.approx(frechet_distance(*full), rel=1e-12)
    # pytorch-fid's sqrtm takes 10-60 s at 2048 dimensions on 2 busy cores; 512 of the same
    # features keep the hard case (6 images: singular covariances) at a fraction of the cost.
    part = feature_statistics(fake[:, :512]) + feature_statistics(real[:, :512])
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # pytorch-fid calls sqrtm(disp=False), deprecated
        expected = calculate_frechet_distance(*part)
    assert expected > 1e-3
    assert frechet_distance(*part) == pytest.approx(expected, rel=1e-6)


def test_frechet_distance_full_rank_matches_pytorch_fid():
    from pytorch_fid.fid_score import calculate_frechet_distance
    rng = np.random.default_rng(0)
    a = rng.normal(size=(200, 16))
    b = rng.normal(size=(150, 16)) @ rng.normal(size=(16, 16)) * 0.3 + 0.5
    stats = feature_statistics(a) + feature_statistics(b)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        expected = calculate_frechet_distance(*stats)
    assert frechet_distance(*stats) == pytest.approx(expected, rel=1e-9)


def test_inception_matches_pytorch_fid_inceptionv3_with_the_same_weights(tmp_path, monkeypatch):
    import pytorch_fid.inception as pf_inception
    state = fid_inception_v3(None, seed=3).state_dict()
    weights = tmp_path / FID_WEIGHTS_NAME
    torch.save(state, weights)
    # pytorch-fid's own network would download the weights: hand it the same file instead.
    monkeypatch.setattr(pf_inception, 'load_state_dict_from_url', lambda *a, **k: state)
    reference = pf_inception.InceptionV3([3]).eval()
    metric = FID(inception_weights=str(weights), real_stats_cache=None, device='cpu')
    assert metric.cache_tag == f'{FID_WEIGHTS_NAME[:-4]}-299'
    images = random_images(2, size=64)
    ours = metric.features(list(images))
    with torch.no_grad():
        theirs = reference(images.float() / 255.0)[0].flatten(1).numpy()
    np.testing.assert_allclose(np.stack(ours), theirs, rtol=1e-4, atol=1e-5)


def test_missing_inception_weights_fail_at_construction(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match=FID_WEIGHTS_NAME) as error:
        FID(inception_weights=str(tmp_path / 'nowhere.pth'))
    assert 'github.com/mseitzer/pytorch-fid' in str(error.value)
    monkeypatch.setattr(torch.hub, '_hub_dir', str(tmp_path / 'hub'))
    with pytest.raises(FileNotFoundError, match='hub') as error:
        METRICS.build(dict(type='FID'))
    assert osp.join(str(tmp_path / 'hub'), 'checkpoints', FID_WEIGHTS_NAME) in str(error.value)


def test_random_weights_warn_and_disable_the_cache():
    with pytest.warns(UserWarning, match='randomly initialised'):
        metric = FID(inception_weights=None, input_size=75)
    assert metric.cache_dir is None


def test_named_real_stats_cache_is_written_then_reused(tmp_path):
    images = random_images(8)
    samples = make_samples(shifted(images, 20), images)
    first = tiny_fid(real_stats_cache=str(tmp_path), real_stats_key='toy val')
    value = run_metric(first, samples)['random_ref/fid']
    assert first.feature_extractor.images_seen == 16
    assert os.listdir(tmp_path) == ['toy_val_target_32x32_tiny-v1.npz']
    second = tiny_fid(real_stats_cache=str(tmp_path), real_stats_key='toy val')
    assert run_metric(second, samples)['random_ref/fid'] == pytest.approx(value, rel=1e-12)
    assert second.feature_extractor.images_seen == 8  # fakes only


def test_derived_cache_key_is_reused_by_later_evaluations(tmp_path):
    images = random_images(8)
    metric = tiny_fid(real_stats_cache=str(tmp_path))
    first = run_metric(metric, make_samples(shifted(images, 20), images))['random_ref/fid']
    assert metric.feature_extractor.images_seen == 16
    [name] = os.listdir(tmp_path)
    assert name.startswith('auto-8-') and name.endswith('_target_32x32_tiny-v1.npz')
    second = run_metric(metric, make_samples(shifted(images, 20), images))['random_ref/fid']
    assert metric.feature_extractor.images_seen == 24
    assert second == pytest.approx(first, rel=1e-12)


def test_dict_samples_and_explicit_prefix():
    images = random_images(4)
    metric = tiny_fid(prefix='anime')
    result = run_metric(metric, make_samples(images, shifted(images, 5), as_dict=True))
    assert list(result) == ['anime/fid']


def test_fewer_than_two_images_give_nan():
    images = random_images(1)
    assert np.isnan(run_metric(tiny_fid(), make_samples(images, images))['random_ref/fid'])


N_DIST = 7  # odd: the distributed sampler pads rank 1 with a copy of sample 0


def dist_samples():
    images = random_images(N_DIST, seed=5)
    return make_samples(shifted(images, 30), images)


def dist_metrics():
    return [tiny_fid(), SSIM(), PSNR(prefix='self_ref')]


def _dist_worker(rank, world_size, init_file, out_file):
    import torch.distributed as dist
    dist.init_process_group('gloo', init_method=f'file://{init_file}', rank=rank,
                            world_size=world_size)
    try:
        samples = dist_samples()
        padded = samples + samples[:(-len(samples)) % world_size]
        mine = padded[rank::world_size]  # DefaultSampler(shuffle=False) order
        results = {}
        for metric in dist_metrics():
            results.update(run_metric(metric, mine, batch=2, size=N_DIST))
        if rank == 0:
            torch.save(results, out_file)
    finally:
        dist.destroy_process_group()


@pytest.mark.dist
def test_distributed_evaluation_equals_single_process(tmp_path):
    single = {}
    for metric in dist_metrics():
        single.update(run_metric(metric, dist_samples()))
    out_file = tmp_path / 'dist.pt'
    mp.spawn(_dist_worker, args=(2, str(tmp_path / 'init'), str(out_file)), nprocs=2, join=True)
    distributed = torch.load(out_file, weights_only=True)
    assert set(distributed) == {'random_ref/fid', 'random_ref/ssim', 'self_ref/psnr'}
    for key, value in single.items():
        assert distributed[key] == pytest.approx(value, rel=1e-9), key


def test_mmengine_evaluator_from_config_dicts():
    from mmengine.evaluator import Evaluator
    from mmengine.registry import DefaultScope
    images = random_images(6)
    with DefaultScope.overwrite_default_scope('colorizer'):
        evaluator = Evaluator([dict(type='SSIM'), dict(type='SSIM', mode='global'),
                               dict(type='PSNR')])
    evaluator.metrics.append(tiny_fid())
    evaluator.dataset_meta = dict(regions=['a', 'b'])
    samples = make_samples(shifted(images, 15), images)
    evaluator.process(samples[:4])
    evaluator.process(samples[4:])
    result = evaluator.evaluate(len(samples))
    assert set(result) == {'random_ref/ssim', 'random_ref/ssim_global', 'random_ref/psnr',
                           'random_ref/fid'}
