"""Checkpoint writes are atomic: a failure mid-write leaves the previous file intact."""
import os

import pytest
from mmengine.fileio import get_file_backend

import colorizer.engine  # noqa: F401  (installs the backend)
from colorizer.engine.atomic_file_backend import AtomicLocalBackend, atomic_write


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
