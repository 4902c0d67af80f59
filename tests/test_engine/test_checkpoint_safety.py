"""Checkpoints load with weights_only semantics; crafted pickles are refused, never executed."""
import os
import pickle

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer, MessageHub
from mmengine.runner.checkpoint import CheckpointLoader

from colorizer.engine import safe_load
from colorizer.engine.checkpoint_safety import (UnsafeCheckpointError, pack_history_buffers,
                                                unpack_history_buffers)


def _message_hub_state():
    hub = MessageHub.get_instance('test_checkpoint_safety')
    for value in (1.0, np.float64(2.5), torch.tensor(4.0)):
        hub.update_scalar('train/loss', value)
    hub.update_info('iter', 7)
    return hub.state_dict()


def test_packed_message_hub_round_trips_through_weights_only_load(tmp_path):
    state = _message_hub_state()
    pack_history_buffers(state)
    checkpoint = dict(meta=dict(seed=np.int64(3), iter=7, hist=np.arange(3.0)),
                      message_hub=state, state_dict={'w': torch.ones(2)})
    path = str(tmp_path / 'ok.pth')
    torch.save(checkpoint, path)

    loaded = safe_load(path)
    unpack_history_buffers(loaded['message_hub'])
    buffer = loaded['message_hub']['log_scalars']['train/loss']
    assert isinstance(buffer, HistoryBuffer)
    np.testing.assert_allclose(buffer.data[0], [1.0, 2.5, 4.0])
    assert buffer.mean() == pytest.approx(2.5)
    assert loaded['meta']['seed'] == 3
    np.testing.assert_array_equal(loaded['meta']['hist'], np.arange(3.0))


def test_unpacked_history_buffer_is_refused_because_its_pickle_calls_getattr(tmp_path):
    path = str(tmp_path / 'raw.pth')
    torch.save(dict(message_hub=_message_hub_state()), path)
    with pytest.raises(UnsafeCheckpointError, match='getattr'):
        safe_load(path)


class _WritesAFile:
    """Unpickling this object would create a file: proof of code execution."""

    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (open, (self.target, 'w'))


def test_crafted_pickle_is_refused_and_not_executed(tmp_path):
    marker = tmp_path / 'pwned.txt'
    path = str(tmp_path / 'evil.pth')
    torch.save({'state_dict': {}, 'payload': _WritesAFile(str(marker))}, path)
    with pytest.raises(UnsafeCheckpointError, match='evil.pth'):
        safe_load(path)
    assert not marker.exists()


def test_plain_pickle_file_is_refused_and_not_executed(tmp_path):
    marker = tmp_path / 'pwned.txt'
    path = tmp_path / 'legacy.pth'
    with open(path, 'wb') as f:
        pickle.dump(_WritesAFile(str(marker)), f)
    with pytest.raises((UnsafeCheckpointError, RuntimeError), match='legacy.pth'):
        safe_load(str(path))
    assert not marker.exists()


def test_mmengine_local_loader_is_the_safe_one(tmp_path):
    import colorizer.engine  # noqa: F401  (registers the loader)
    marker = tmp_path / 'pwned.txt'
    path = str(tmp_path / 'evil.pth')
    torch.save({'payload': _WritesAFile(str(marker))}, path)
    with pytest.raises(UnsafeCheckpointError):
        CheckpointLoader.load_checkpoint(path, map_location='cpu')
    assert not marker.exists()


def test_missing_and_truncated_checkpoints_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        safe_load(str(tmp_path / 'nope.pth'))
    good = tmp_path / 'good.pth'
    torch.save({'w': torch.ones(1000)}, good)
    truncated = tmp_path / 'truncated.pth'
    truncated.write_bytes(good.read_bytes()[: os.path.getsize(good) // 2])
    with pytest.raises((RuntimeError, pickle.UnpicklingError), match='truncated.pth'):
        safe_load(str(truncated))
