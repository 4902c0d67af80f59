"""--resume refuses a config that changes the model's computation or the data, listing each
difference, unless --resume-changed-config says the change is on purpose; a changed global
batch is logged."""
import pytest
import torch

from colorizer.engine import safe_load
from colorizer.engine.checkpoint_safety import pack_history_buffers
from colorizer.engine.resume_config_check import (config_changes, global_batch_note,
                                                  parse_config_text)
from tool_runner import ROOT, TINY, train

from test_clean_runs import run_jobs

COMMON = ['train_cfg.val_interval=100', 'default_hooks.checkpoint.interval=2']
CONFIG = 'configs/sga/sga_demo.py'


def resume_job(work_dir, checkpoint, *options):
    """A job of tests/test_tools/train_in_one_process.py: ``--resume PATH`` as options."""
    return [CONFIG, str(work_dir), *TINY, 'train_cfg.max_iters=4', *COMMON, 'resume=True',
            f'load_from={checkpoint}', *options]


@pytest.mark.slow
def test_resume_refuses_each_changed_computation_unless_asked_and_logs_global_batch(tmp_path):
    base = tmp_path / 'base'
    train(base, 'train_cfg.max_iters=2', *COMMON)
    checkpoint = base / 'iter_2.pth'
    # The same checkpoint as if written by 2 processes (colorizer saves meta.world_size).
    saved = safe_load(str(checkpoint))
    assert saved['meta']['world_size'] == 1
    saved['meta']['world_size'] = 2
    pack_history_buffers(saved['message_hub'])
    two_process = tmp_path / 'two_process.pth'
    torch.save(saved, two_process)

    refused = [('train_dataloader.dataset.img_size=40', 'train_dataloader.dataset.img_size',
                32, 40),
               ('train_dataloader.batch_size=2', 'train_dataloader.batch_size', 4, 2),
               ('model.generator.attention.norm=softmax', 'model.generator.attention.norm',
                '<absent>', 'softmax')]
    jobs = [resume_job(tmp_path / f'refused{i}', checkpoint, option)
            for i, (option, *_) in enumerate(refused)]
    jobs += [resume_job(tmp_path / 'asked', checkpoint, 'model.generator.attention.norm=softmax',
                        'resume_changed_config=True'),
             # a longer run, other intervals and worker counts are not changes
             resume_job(tmp_path / 'extended', checkpoint, 'train_dataloader.num_workers=1',
                        'default_hooks.checkpoint.interval=4'),
             resume_job(tmp_path / 'one_process', two_process)]
    runs = run_jobs(jobs, tmp_path)

    for i, (_, key, before, after) in enumerate(refused):
        status, lines = runs[i]
        assert status != 0
        message = next(line for line in lines if 'refusing to resume from' in line)
        assert f'{key}: {before!r} -> {after!r}' in message
        assert '--resume-changed-config' in message
        assert not any('Traceback' in line for line in lines)
        assert not _success_lines(lines), _success_lines(lines)
        assert not list((tmp_path / f'refused{i}').glob('iter_*.pth'))  # nothing trained
    status, lines = runs[3]
    assert status == 0, lines[-20:]
    assert any("model.generator.attention.norm: '<absent>' -> 'softmax'" in line
               and 'on purpose' in line for line in lines)
    assert safe_load(str(tmp_path / 'asked' / 'iter_4.pth'))['meta']['iter'] == 4
    assert runs[4][0] == 0 and (tmp_path / 'extended' / 'iter_4.pth').exists()
    status, lines = runs[5]
    log = '\n'.join(lines)
    assert status == 0, lines[-20:]
    assert 'written by 2 process(es) x batch 4 = 8; this run uses 1 x 4 = 4' in log
    assert ('continues at sample 8 of the seeded sample order; the old run stopped at sample '
            '16 (8 samples of the order are seen again)') in log


def test_config_text_is_read_without_running_it():
    text = ("import os\nos.system('echo pwned')\nmodel = dict(type='M', size=(48, 64), "
            "act=print('x'), neg=-1)\nrandomness = dict(seed=0)\n")
    parsed = parse_config_text(text)
    assert parsed['model'] == {'type': 'M', 'size': [48, 64], 'act': "print('x')", 'neg': -1}
    changes = config_changes(parsed, dict(parsed, model=dict(parsed['model'], size=[64, 64]),
                                          train_dataloader=dict(num_workers=4)))
    assert changes == [('model.size[0]', 48, 64)]


def test_global_batch_note_for_each_direction():
    cfg = {'train_dataloader': {'batch_size': 4}}
    assert global_batch_note(cfg, 2, 4, 2, 10, by_epoch=False) is None
    assert 'no sample is skipped' in global_batch_note(cfg, 2, 8, 1, 10, by_epoch=False)
    assert '40 samples of the order are skipped' in global_batch_note(
        cfg, 1, 4, 2, 10, by_epoch=False)
    assert 'epoch 3' in global_batch_note(cfg, 1, 4, 2, 10, by_epoch=True, epoch=3)
    assert global_batch_note(cfg, None, 4, 2, 10, by_epoch=False) is None


#: Lines that say a resume succeeded (colorizer's and MMEngine's).
SUCCESS_LINES = ('Resumed from', 'Auto resumed', 'resumed epoch', 'Load checkpoint from')


def _success_lines(lines):
    return [line for line in lines if any(s in line for s in SUCCESS_LINES)]


@pytest.mark.slow
def test_resume_refuses_a_schedule_whose_end_came_from_the_old_run_length(tmp_path):
    # LinearLR's end (and its total_iters) default to train_cfg.max_iters; ConstantLR's end
    # is explicit, so a longer run does not change it.
    config = tmp_path / 'scheduled.py'
    config.write_text(
        f"_base_ = ['{(ROOT / CONFIG).as_posix()}']\n"
        "param_scheduler = [dict(type='LinearLR', start_factor=0.5, by_epoch=False),\n"
        "                   dict(type='ConstantLR', factor=0.5, by_epoch=False, end=2)]\n")
    base = tmp_path / 'base'
    train(base, 'train_cfg.max_iters=2', *COMMON, config=str(config))
    checkpoint = base / 'iter_2.pth'
    auto = tmp_path / 'auto'  # --resume without a path: the work dir's last checkpoint
    auto.mkdir()
    (auto / 'iter_2.pth').write_bytes(checkpoint.read_bytes())
    (auto / 'last_checkpoint').write_text(str(auto / 'iter_2.pth'))

    def job(work_dir, *options):
        return [str(config), str(work_dir), *TINY, 'train_cfg.max_iters=4', *COMMON,
                'resume=True', *options]

    runs = run_jobs([job(tmp_path / 'refused', f'load_from={checkpoint}'),
                     job(auto),
                     job(tmp_path / 'asked', f'load_from={checkpoint}',
                         'resume_changed_config=True')], tmp_path)

    for status, lines in runs[:2]:
        assert status != 0
        message = next(line for line in lines if 'refusing to resume from' in line)
        assert 'train_cfg.max_iters changed from 2 to 4' in message
        for group in ('generator', 'discriminator'):
            assert f"param_scheduler['{group}'][0] (LinearLR) end: saved 2, this config 4" \
                in message
        assert 'total_iters: saved 1, this config 3' in message
        assert 'ConstantLR' not in message
        assert '--resume-changed-config' in message
        assert not _success_lines(lines), _success_lines(lines)
        assert not any('Traceback' in line for line in lines)
    assert not list((tmp_path / 'refused').glob('iter_*.pth'))
    assert not list(auto.glob('iter_[!2]*.pth'))  # nothing trained

    status, lines = runs[2]
    assert status == 0, lines[-20:]
    warning = next(line for line in lines if 'the schedule keeps its old end' in line)
    assert 'train_cfg.max_iters changed from 2 to 4' in warning and 'LinearLR' in warning
    assert any(f'Resumed from {checkpoint}' in line for line in lines)
    saved = safe_load(str(tmp_path / 'asked' / 'iter_4.pth'))
    assert saved['param_schedulers']['generator'][0]['end'] == 2  # the old schedule, as said
