"""Checkpoint writes are atomic: a failure mid-write leaves the previous file intact."""
import os
import stat

import pytest
from mmengine.fileio import get_file_backend

import colorizer.engine  # noqa: F401  (installs the backend)
from colorizer.fileio.atomic_file import AtomicFile, AtomicLocalBackend, atomic_write


def test_mmengine_uses_the_atomic_backend_for_local_paths(tmp_path):
    assert isinstance(get_file_backend(str(tmp_path / 'x.pth')), AtomicLocalBackend)


def test_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / 'last_checkpoint'
    atomic_write(b'iter_10.pth', target)

    real_fsync = os.fsync

    def dying_fsync(fd):
        raise OSError('disk full')

    monkeypatch.setattr(os, 'fsync', dying_fsync)
    with pytest.raises(OSError, match='disk full'):
        atomic_write(b'iter_20.pth-but-cut', target)
    monkeypatch.setattr(os, 'fsync', real_fsync)
    assert target.read_bytes() == b'iter_10.pth'
    assert os.listdir(tmp_path) == ['last_checkpoint']


def test_put_text_replaces_the_content(tmp_path):
    backend = AtomicLocalBackend()
    backend.put_text('a', tmp_path / 'p')
    backend.put_text('bb', tmp_path / 'p')
    assert (tmp_path / 'p').read_text() == 'bb'


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_atomic_files_get_the_mode_open_gives_under_the_umask(tmp_path, umask_022):
    """mkstemp made every checkpoint 0600 whatever the umask: unreadable by a teammate."""
    atomic_write(b'x', tmp_path / 'new.bin')
    assert stat.S_IMODE(os.stat(tmp_path / 'new.bin').st_mode) == 0o644
    get_file_backend(str(tmp_path / 'ckpt.pth')).put(b'y', str(tmp_path / 'ckpt.pth'))
    assert stat.S_IMODE(os.stat(tmp_path / 'ckpt.pth').st_mode) == 0o644
    with open(tmp_path / 'plain.bin', 'w'):
        pass
    assert os.stat(tmp_path / 'plain.bin').st_mode == os.stat(tmp_path / 'new.bin').st_mode


def test_checkpoints_of_a_run_and_fid_cache_are_0644_under_umask_022(tmp_path, umask_022):
    """The runner's save path (torch.save through MMEngine's backend) and the FID cache."""
    import numpy as np
    import torch
    from mmengine.runner.checkpoint import save_checkpoint

    from colorizer.evaluation.metrics.fid import FID
    save_checkpoint({'state_dict': {'w': torch.ones(1)}}, str(tmp_path / 'iter_1.pth'))
    assert stat.S_IMODE(os.stat(tmp_path / 'iter_1.pth').st_mode) == 0o644
    stats = tmp_path / 'cache' / 'real.npz'
    metric = FID(feature_extractor=torch.nn.Flatten(), device='cpu', real_stats_cache=None)
    metric.save_stats(str(stats), np.zeros(2), np.eye(2), 3, 'ids')
    assert stat.S_IMODE(os.stat(stats).st_mode) == 0o644
    assert np.load(stats)['count'] == 3
    assert os.listdir(stats.parent) == ['real.npz']


def test_replacing_a_file_keeps_its_permissions(tmp_path, umask_022):
    target = tmp_path / 'shared.pth'
    target.write_bytes(b'old')
    os.chmod(target, 0o664)
    atomic_write(b'new', target)
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o664 and target.read_bytes() == b'new'


def test_leftover_temporaries_are_recognised_and_removed(tmp_path):
    (tmp_path / '.iter_3.pth.0123456789abcdef.tmp').write_bytes(b'partial')
    (tmp_path / '.last_checkpoint.abcdef0123456789.tmp').write_bytes(b'')
    (tmp_path / '.iter_2.pth.k2j_x9a1.tmp').write_bytes(b'')  # mkstemp name of older versions
    (tmp_path / 'iter_2.pth').write_bytes(b'keep')
    (tmp_path / 'notes.tmp').write_bytes(b'keep')
    removed = AtomicFile.remove_leftovers(tmp_path)
    assert len(removed) == 3
    assert sorted(os.listdir(tmp_path)) == ['iter_2.pth', 'notes.tmp']
