"""tools/dist_train.sh: real DDP over gloo on a CPU-only machine; ranks stay identical."""
import torch

from tool_runner import ROOT, TINY, free_port, run_tool


def test_two_cpu_processes_keep_identical_weights(tmp_path):
    work = tmp_path / 'dist'
    config = tmp_path / 'dist_demo.py'
    config.write_text(
        f"_base_ = ['{ROOT / 'configs' / 'sga' / 'sga_demo.py'}']\n"
        "custom_imports = dict(imports=['rank_digest_plugin'], allow_failed_imports=False)\n"
        "custom_hooks = [dict(type='SafeCheckpointHook'), dict(type='SampleGridHook'),\n"
        "                dict(type='RankParametersHook')]\n")
    env = {'MASTER_PORT': str(free_port()),
           'PYTHONPATH': str(ROOT / 'tests' / 'test_tools' / 'plugins')}
    run_tool(['bash', 'tools/dist_train.sh', str(config), '2', '--work-dir', str(work),
              '--cfg-options', *TINY, 'train_cfg.max_iters=3', 'train_cfg.val_interval=3'],
             env=env)
    rank0 = torch.load(work / 'params_rank0.pt')
    rank1 = torch.load(work / 'params_rank1.pt')
    assert rank0.keys() == rank1.keys() and len(rank0) > 10
    for name in rank0:
        torch.testing.assert_close(rank0[name], rank1[name], rtol=0, atol=0, msg=name)
    # They trained: the generator moved away from its initialisation on both ranks.
    log = next(work.glob('*/*.log')).read_text()
    assert 'Iter(train) [3/3]' in log
