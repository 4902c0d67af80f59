"""Checkpoints you can trust, end to end through the command-line tools.

- a crafted checkpoint at an http:// URL is refused by tools/train.py (load_from) and
  tools/test.py, in one line, and never executed;
- a 2-process (gloo) run's checkpoint, written without SafeCheckpointHook, is used by one
  process: init_model, tools/test.py and --resume; a checkpoint that would leave a weight
  uninitialised, or lacks the optimiser state (a best checkpoint), is refused in one line;
- SIGKILL injected with strace at the pointer write, at the rename of a checkpoint and at
  max_keep_ckpts' deletion: --resume continues each time and finishes.
"""
import functools
import http.server
import shutil
import sys
import threading

import pytest
import torch

from colorizer.apis import init_model
from colorizer.engine import safe_load
from colorizer.engine.checkpoint_safety import pack_history_buffers
from tool_runner import TINY, free_port, run_tool, train

DEMO = 'configs/sga/sga_demo.py'
#: TINY without its SampleGridHook option: these runs list no custom hooks at all.
TINY_NO_HOOKS = [o for o in TINY if not o.startswith('custom_hooks')] + ['custom_hooks=[]']


class _WritesAFile:
    """Unpickling this object would create a file: proof of code execution."""

    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (open, (self.target, 'w'))


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def _one_line_error(result, *fragments):
    """The tool failed with one line on stderr naming ``fragments``, and no traceback."""
    assert result.returncode != 0, result.stdout[-2000:]
    assert 'Traceback' not in result.stderr, result.stderr[-3000:]
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith('error: '), result.stderr[-3000:]
    for fragment in fragments:
        assert fragment in last, last
    return last


def test_crafted_checkpoint_at_a_url_is_refused_by_train_and_test(tmp_path):
    www = tmp_path / 'www'
    www.mkdir()
    marker = tmp_path / 'pwned.txt'
    torch.save({'state_dict': {}, 'payload': _WritesAFile(str(marker))}, www / 'evil.pth')
    server = http.server.ThreadingHTTPServer(
        ('127.0.0.1', 0), functools.partial(_QuietHandler, directory=str(www)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f'http://127.0.0.1:{server.server_address[1]}/evil.pth'
    try:
        result = train(tmp_path / 'train', 'train_cfg.max_iters=1', f'load_from={url}',
                       check=False)
        _one_line_error(result, 'refused to load checkpoint', url)
        result = run_tool([sys.executable, 'tools/test.py', DEMO, url, '--work-dir',
                           str(tmp_path / 'test'), '--cfg-options', *TINY], check=False)
        _one_line_error(result, 'refused to load checkpoint', url)
    finally:
        server.shutdown()
        server.server_close()
    assert not marker.exists()


def test_multi_process_checkpoint_serves_one_process_and_bad_resumes_are_refused(tmp_path):
    work = tmp_path / 'dist'
    run_tool(['bash', 'tools/dist_train.sh', DEMO, '2', '--work-dir', str(work),
              '--cfg-options', *TINY_NO_HOOKS, 'train_cfg.max_iters=2',
              'train_cfg.val_interval=2', 'default_hooks.checkpoint.interval=2'],
             env={'MASTER_PORT': str(free_port())})
    checkpoint = safe_load(str(work / 'iter_2.pth'))  # no SafeCheckpointHook: still loads
    keys = list(checkpoint['state_dict'])
    assert keys and not [k for k in keys if '.module.' in k or k.startswith('module.')]

    model = init_model(str(work / 'sga_demo.py'), str(work / 'iter_2.pth'))
    for key, value in model.generator.state_dict().items():
        assert torch.equal(value, checkpoint['state_dict'][f'generator.{key}']), key

    # The old form (generator.module.*, written by earlier versions) loads the same.
    old = {'state_dict': {k.replace('generator.', 'generator.module.', 1): v
                          for k, v in checkpoint['state_dict'].items()}}
    torch.save(old, tmp_path / 'old_form.pth')
    old_model = init_model(str(work / 'sga_demo.py'), str(tmp_path / 'old_form.pth'))
    for key, value in model.state_dict().items():
        assert torch.equal(value, old_model.state_dict()[key]), key

    run_tool([sys.executable, 'tools/test.py', DEMO, str(work / 'iter_2.pth'), '--work-dir',
              str(tmp_path / 'test'), '--out', str(tmp_path / 'test.json'),
              '--cfg-options', *TINY_NO_HOOKS])

    # A NaN loss stops the run in one line, naming the iteration and the loss term; the
    # checkpoint it resumed from stays as it was.
    before = (work / 'iter_2.pth').read_bytes()
    # (a changed model setting: --resume-changed-config says it is on purpose)
    result = train(work, 'train_cfg.max_iters=3', 'model.reconstruction_loss.loss_weight=nan',
                   *TINY_NO_HOOKS, extra=['--resume', '--resume-changed-config'], check=False)
    _one_line_error(result, 'non-finite loss at iteration 3', 'loss_rec=nan')
    assert (work / 'iter_2.pth').read_bytes() == before

    # One process resumes the 2-process run and finishes.
    result = train(work, 'train_cfg.max_iters=3', 'train_cfg.val_interval=100',
                   *TINY_NO_HOOKS, extra=['--resume'])
    assert 'resumed epoch: 0, iter: 2' in result.stdout
    assert safe_load(str(work / 'iter_3.pth'))['meta']['iter'] == 3

    # A checkpoint that would leave a weight at its random initialisation is refused.
    lacking = dict(checkpoint, state_dict=dict(checkpoint['state_dict']))
    dropped = next(k for k in lacking['state_dict'] if k.startswith('generator.decoder'))
    del lacking['state_dict'][dropped]
    pack_history_buffers(lacking['message_hub'])  # safe_load unpacked them
    torch.save(lacking, tmp_path / 'lacking.pth')
    result = train(tmp_path / 'r1', 'train_cfg.max_iters=3', *TINY_NO_HOOKS,
                   extra=['--resume', str(tmp_path / 'lacking.pth')], check=False)
    _one_line_error(result, 'does not fit', f'missing keys {dropped}')

    # A best checkpoint keeps the weights only: --resume says to use load_from.
    best = next(work.glob('best_*.pth'))
    assert 'optimizer' not in safe_load(str(best))
    result = train(tmp_path / 'r2', 'train_cfg.max_iters=3', *TINY_NO_HOOKS,
                   extra=['--resume', str(best)], check=False)
    _one_line_error(result, 'cannot resume', "optimiser state of 'generator'",
                    "'discriminator'", f'load_from={best}')


STRACE = shutil.which('strace')
#: max_keep_ckpts=1: MMEngine deleted the old checkpoint before writing the new one.
KEEP_ONE = ['train_cfg.val_interval=100', 'default_hooks.checkpoint.interval=1',
            'default_hooks.checkpoint.max_keep_ckpts=1']


def _killed_train(work, when, max_iters, trace_path=None):
    """tools/train.py --resume under strace, SIGKILLed at the syscall ``when`` names.

    ``when`` is ``(syscall, n)``: the ``n``-th call of ``syscall`` by the training process
    (strace counts per process; only colorizer's atomic writer calls ``fsync`` and ``rename``
    in a run, so their order is fixed: checkpoint 1, pointer 1, checkpoint 2, ...). With
    ``trace_path``, only calls naming that path count (strace ``-P``; it matches the first
    path argument).
    """
    syscall, n = when
    cmd = [STRACE, '-f', '-qq', '-o', '/dev/null']
    if trace_path is not None:
        cmd += ['-P', str(trace_path)]
    cmd += ['-e', f'trace={syscall}', '-e', f'inject={syscall}:signal=SIGKILL:when={n}',
            sys.executable, 'tools/train.py', DEMO, '--work-dir', str(work), '--resume',
            '--cfg-options', *TINY, *KEEP_ONE, f'train_cfg.max_iters={max_iters}']
    result = run_tool(cmd, check=False)
    assert result.returncode in (-9, 137), (result.returncode, result.stderr[-3000:])


def _tmp_files(work):
    return sorted(p.name for p in work.iterdir() if p.name.endswith('.tmp'))


@pytest.mark.skipif(STRACE is None, reason='needs strace for SIGKILL injection at exact '
                    'syscalls (apt-get install strace; .ci/run installs it)')
def test_sigkill_at_pointer_write_checkpoint_rename_and_old_checkpoint_delete(tmp_path):
    work = tmp_path / 'work'
    # 1. Killed while writing the pointer to iter_2.pth (its 4th atomic write: the data is
    #    written, not yet fsynced or renamed; any earlier instant of that write leaves the
    #    same state: the old pointer and a temporary file).
    _killed_train(work, ('fsync', 4), max_iters=4)
    assert (work / 'last_checkpoint').read_text() == str(work / 'iter_1.pth')
    assert safe_load(str(work / 'iter_1.pth'))['meta']['iter'] == 1
    assert [n for n in _tmp_files(work) if n.startswith('.last_checkpoint.')]

    # 2. --resume continues from iter_1; killed at the rename that publishes iter_3.pth (its
    #    3rd rename, after iter_2.pth and its pointer). MMEngine had already deleted
    #    iter_2.pth, the only other checkpoint, at that instant.
    _killed_train(work, ('rename', 3), max_iters=4)
    assert safe_load((work / 'last_checkpoint').read_text())['meta']['iter'] == 2
    assert [n for n in _tmp_files(work) if n.startswith('.iter_3.pth.')]

    # 3. --resume continues (and removes the temporary files); killed at max_keep_ckpts'
    #    deletion of iter_2.pth, after iter_3.pth and its pointer are in place.
    _killed_train(work, ('unlink', 1), max_iters=4, trace_path=work / 'iter_2.pth')
    assert _tmp_files(work) == []
    assert safe_load((work / 'last_checkpoint').read_text())['meta']['iter'] == 3
    assert (work / 'iter_2.pth').exists()

    # 4. A damaged pointer (empty, as MMEngine's truncating write left it when killed):
    #    --resume falls back to the newest complete checkpoint, says so, and finishes.
    (work / 'last_checkpoint').write_text('')
    result = train(work, *KEEP_ONE, 'train_cfg.max_iters=4', extra=['--resume'])
    assert 'is empty: resuming from the newest complete checkpoint' in result.stdout
    assert 'resumed epoch: 0, iter: 3' in result.stdout
    assert safe_load(str(work / 'iter_4.pth'))['meta']['iter'] == 4
    assert _tmp_files(work) == []
    # max_keep_ckpts=1 deleted iter_3.pth; iter_2.pth, whose deletion the kill interrupted,
    # stays (an extra old checkpoint is the price of that kill; none is ever missing).
    assert sorted(p.name for p in work.glob('iter_*.pth')) == ['iter_2.pth', 'iter_4.pth']


def test_a_copied_work_dir_resumes_from_its_own_files_and_leaves_the_original_alone(tmp_path):
    # The newcomer's case: cp -r w1 w2; --work-dir w2 --resume. The pointer and the message hub
    # of w1's checkpoints name w1's files by absolute path; MMEngine resumed from them and,
    # at the next best score, deleted w1's best checkpoint.
    every_2 = ['train_cfg.val_interval=2', 'default_hooks.checkpoint.interval=2',
               'default_hooks.checkpoint.rule=greater',
               'default_hooks.checkpoint.save_best=random_ref/ssim']  # ssim rises: new bests
    original, copy = tmp_path / 'w1', tmp_path / 'w2'
    train(original, 'train_cfg.max_iters=4', *every_2)
    before = {p.name: p.stat().st_mtime_ns for p in original.iterdir() if p.is_file()}
    assert any(name.startswith('best_') for name in before)
    shutil.copytree(original, copy)
    result = train(copy, 'train_cfg.max_iters=6', *every_2, extra=['--resume'])
    log = result.stdout + result.stderr
    assert f'{copy}/iter_4.pth' in log and f'{original}/iter_4.pth' not in log
    after = {p.name: p.stat().st_mtime_ns for p in original.iterdir() if p.is_file()}
    assert after == before  # nothing in the original folder deleted or rewritten
    assert (copy / 'iter_6.pth').is_file()
