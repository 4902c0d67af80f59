"""--resume finds a complete checkpoint whatever state the pointer is in; saves are loadable."""
import logging
import os

import pytest
import torch
from mmengine.logging import HistoryBuffer

from colorizer.engine.checkpoint_directory import (CheckpointDirectory, ResumeSourceError,
                                                  is_complete)
from colorizer.engine.checkpoint_safety import (UnsafeCheckpointError, check_loadable,
                                                find_unloadable)


def _checkpoint(path, step):
    torch.save({'meta': {'iter': step}, 'state_dict': {'w': torch.ones(100)}}, path)


@pytest.fixture
def work(tmp_path):
    _checkpoint(tmp_path / 'iter_1.pth', 1)
    _checkpoint(tmp_path / 'iter_2.pth', 2)
    _checkpoint(tmp_path / 'iter_10.pth', 10)
    whole = (tmp_path / 'iter_10.pth').read_bytes()
    (tmp_path / 'iter_11.pth').write_bytes(whole[:len(whole) // 2])  # truncated: skipped
    _checkpoint(tmp_path / 'best_x_iter_12.pth', 12)  # not a periodic checkpoint: skipped
    return tmp_path


def _resume_source(folder, caplog):
    """(checkpoint, the warnings logged)."""
    logger = logging.getLogger('test_checkpoint_directory')
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger='test_checkpoint_directory'):
        source = CheckpointDirectory(str(folder)).resume_source(logger)
    return source, ' '.join(f'{r.levelname} {r.getMessage()}' for r in caplog.records)


@pytest.mark.parametrize('pointer, problem', [
    (b'', 'is empty'),                               # MMEngine's open('w') killed mid-write
    (b'\xff\xfe\x00garbage', 'unreadable'),
    (b'/nowhere/iter_99.pth', 'does not exist'),     # dangling
    (None, 'there is no'),                           # killed before the first pointer write
])
def test_broken_pointer_falls_back_to_the_newest_complete_checkpoint(work, caplog, pointer,
                                                                     problem):
    if pointer is not None:
        (work / 'last_checkpoint').write_bytes(pointer)
    source, log = _resume_source(work, caplog)
    assert source == str(work / 'iter_10.pth')
    assert problem in log and 'WARNING' in log and 'newest complete checkpoint' in log


def test_pointer_to_a_truncated_file_falls_back(work, caplog):
    (work / 'last_checkpoint').write_text(str(work / 'iter_11.pth'))
    source, log = _resume_source(work, caplog)
    assert source == str(work / 'iter_10.pth') and 'not a complete checkpoint' in log


def test_valid_pointer_is_used_silently_even_when_relative_to_another_cwd(work, caplog):
    (work / 'last_checkpoint').write_text('work_dirs/elsewhere/iter_2.pth')
    assert _resume_source(work, caplog) == (str(work / 'iter_2.pth'), '')


def test_no_checkpoint_at_all_starts_from_scratch(tmp_path, caplog):
    (tmp_path / 'last_checkpoint').write_text('')
    source, log = _resume_source(tmp_path, caplog)
    assert source is None and 'starting from scratch' in log


def test_completeness_is_read_from_the_zip_index(work):
    assert is_complete(str(work / 'iter_10.pth'))
    assert not is_complete(str(work / 'iter_11.pth'))
    assert not is_complete(str(work / 'missing.pth'))


def test_pointer_is_written_atomically_and_readable(tmp_path):
    directory = CheckpointDirectory(str(tmp_path))
    _checkpoint(tmp_path / 'iter_3.pth', 3)
    directory.write_pointer(str(tmp_path / 'iter_3.pth'))
    assert directory.read_pointer() == (str(tmp_path / 'iter_3.pth'), '')
    assert sorted(os.listdir(tmp_path)) == ['iter_3.pth', 'last_checkpoint']


def test_save_time_check_names_what_would_not_load():
    checkpoint = {'message_hub': {'log_scalars': {'loss': HistoryBuffer([1.0], [1])}},
                  'meta': {'ok': torch.ones(1), 'fine': [1, 'a', None, 2.5]}}
    found = find_unloadable(checkpoint)
    assert found == [("checkpoint['message_hub']['log_scalars']['loss']", 'HistoryBuffer')]
    with pytest.raises(UnsafeCheckpointError, match="'loss'.*HistoryBuffer"):
        check_loadable(checkpoint)


@pytest.mark.parametrize('pointer, problem', [
    (b'/gone/iter_7.pth', 'names /gone/iter_7.pth, which does not exist'),
    (b'\xff\xfe\x00garbage', 'unreadable'),
])
def test_a_pointer_to_nothing_without_any_checkpoint_refuses_to_start_from_scratch(
        tmp_path, pointer, problem):
    (tmp_path / 'last_checkpoint').write_bytes(pointer)
    with pytest.raises(ResumeSourceError, match=f'cannot resume: .*{problem}.*no complete '
                                                'iter_N.pth / epoch_N.pth to fall back on'):
        CheckpointDirectory(str(tmp_path)).resume_source()
