"""tools/train.py and tools/test.py refuse a bad plugin argument with one line, writing nothing."""
import sys

from tool_runner import TINY, run_tool


def test_train_refuses_a_bad_attention_argument_in_one_line(tmp_path):
    work = tmp_path / 'w'
    result = run_tool([sys.executable, 'tools/train.py', 'configs/sga/sga_demo.py',
                       '--work-dir', str(work), '--cfg-options', *TINY,
                       'model.generator.attention.norm=single'], check=False)
    assert result.returncode != 0 and 'Traceback' not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith('error:')]
    assert lines == ["error: model.generator.attention.norm = 'single': not valid for SGA; "
                     "valid: one of ('double', 'softmax')"], result.stderr
    assert not work.exists()  # refused before the Runner created anything


def test_test_tool_refuses_a_bad_dataset_argument_in_one_line(tmp_path):
    checkpoint = tmp_path / 'never_read.pth'
    checkpoint.write_bytes(b'')
    result = run_tool([sys.executable, 'tools/test.py', 'configs/sga/sga_demo.py',
                       str(checkpoint), '--work-dir', str(tmp_path / 't'), '--cfg-options',
                       *TINY, 'test_dataloader.dataset.sketch=canny'], check=False)
    assert result.returncode != 0 and 'Traceback' not in result.stderr
    assert "error: test_dataloader.dataset.sketch = 'canny': not valid for " \
           "SyntheticToonDataset; valid: one of ('xdog', 'outline')" in result.stderr
