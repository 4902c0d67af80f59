"""describe_fault: known faults become one line naming what, where and what to do."""
import errno
import os

import pytest
from torch.utils.data import DataLoader, Dataset

from colorizer.datasets.image_io import ImageReadError
from colorizer.fileio import atomic_write
from colorizer.engine.fault_report import describe_fault, reported_faults, worker_error_line


class _BadImages(Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, index):
        raise ImageReadError(f'/data/img_{index}.png', 'truncated PNG')


def test_an_image_error_in_a_dataloader_worker_is_one_line_naming_the_file():
    with pytest.raises(Exception) as caught:  # PyTorch re-raises as RuntimeError here
        next(iter(DataLoader(_BadImages(), num_workers=1)))
    assert 'Original Traceback' in str(caught.value)  # what a user saw
    line = describe_fault(caught.value)
    assert line == ("cannot read image '/data/img_0.png': truncated PNG "
                    '(in DataLoader worker 0, ImageReadError)')
    assert worker_error_line(ValueError('plain')) is None


class _Buggy(Dataset):
    def __len__(self):
        return 2

    def __getitem__(self, index):
        return 1 // 0


def test_a_bug_in_a_dataloader_worker_keeps_its_traceback():
    with pytest.raises(ZeroDivisionError) as caught:
        next(iter(DataLoader(_Buggy(), num_workers=1)))
    assert describe_fault(caught.value) is None


def test_enospc_of_a_write_names_the_file_and_the_free_space(tmp_path, monkeypatch):
    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, 'fsync', full)
    target = tmp_path / 'iter_1.pth'
    with pytest.raises(OSError) as caught:
        atomic_write(b'x' * 10, target)
    assert caught.value.filename == str(target)  # the write names its file
    assert [p.name for p in tmp_path.iterdir()] == []  # the temporary file is gone
    line = describe_fault(caught.value)
    assert line.startswith(f'no space left on the device (or quota exceeded) while writing '
                           f'{target} (') and ' MiB free there' in line and '--resume' in line


@pytest.mark.parametrize('code, says', [(errno.EROFS, 'read-only'),
                                        (errno.EACCES, 'permission denied'),
                                        (errno.EPERM, 'immutable')])
def test_unwritable_work_dirs_are_one_line(code, says):
    line = describe_fault(PermissionError(code, os.strerror(code), '/w/last_checkpoint'))
    assert line.startswith('cannot write /w/last_checkpoint: ') and says in line
    assert '--work-dir' in line


def test_unknown_errors_keep_their_traceback():
    assert describe_fault(KeyError('x')) is None
    with pytest.raises(KeyError):
        with reported_faults():
            raise KeyError('x')


def test_known_fault_exits_with_one_line_and_traceback_on_request(capsys, monkeypatch):
    error = OSError(errno.EROFS, 'Read-only file system', '/w/x')
    monkeypatch.delenv('COLORIZER_TRACEBACK', raising=False)
    with pytest.raises(SystemExit) as stop:
        with reported_faults():
            raise error
    assert stop.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith('error: cannot write /w/x') and 'Traceback' not in err
    monkeypatch.setenv('COLORIZER_TRACEBACK', '1')
    with pytest.raises(SystemExit):
        with reported_faults():
            raise error
    err = capsys.readouterr().err
    assert 'Traceback' in err and err.splitlines()[-1].startswith('error: cannot write /w/x')


def test_non_finite_input_error_is_known():
    from colorizer.models.reference_colorizer import NonFiniteInputError
    assert describe_fault(NonFiniteInputError('non-finite input\n at x')) == \
        'non-finite input at x'
