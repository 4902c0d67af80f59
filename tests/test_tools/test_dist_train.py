"""tools/dist_train.sh: real DDP over gloo on a CPU-only machine; ranks stay identical."""
import json
import os
import subprocess
import sys

import torch

from colorizer.engine.resume_config_check import parse_config_text
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
    # The logged and dumped config name the backend in use, not the default runtime's nccl.
    assert 'nccl' not in log
    dumped = parse_config_text((work / 'dist_demo.py').read_text())
    assert dumped['env_cfg']['dist_cfg'] == {'backend': 'gloo'}


def test_two_nodes_of_one_process_each_through_the_same_script(tmp_path):
    """NNODES=2 on localhost: the multi-node rendezvous path of tools/dist_train.sh."""
    work = tmp_path / 'nodes'
    config = tmp_path / 'dist_demo.py'
    config.write_text(
        f"_base_ = ['{ROOT / 'configs' / 'sga' / 'sga_demo.py'}']\n"
        "custom_imports = dict(imports=['rank_digest_plugin'], allow_failed_imports=False)\n"
        "custom_hooks = [dict(type='SafeCheckpointHook'), dict(type='SampleGridHook'),\n"
        "                dict(type='RankParametersHook')]\n")
    port = str(free_port())
    base_env = dict(os.environ, PYTHON=sys.executable, OMP_NUM_THREADS='1', NNODES='2',
                    MASTER_ADDR='127.0.0.1', MASTER_PORT=port,
                    PYTHONPATH=str(ROOT / 'tests' / 'test_tools' / 'plugins'))
    cmd = ['bash', 'tools/dist_train.sh', str(config), '1', '--work-dir', str(work),
           '--cfg-options', *TINY, 'train_cfg.max_iters=2', 'train_cfg.val_interval=2']
    nodes = [subprocess.Popen(cmd, cwd=ROOT, env=dict(base_env, NODE_RANK=str(rank)),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for rank in (0, 1)]
    outputs = [node.communicate(timeout=600)[0] for node in nodes]
    assert all(node.returncode == 0 for node in nodes), outputs[0][-3000:] + outputs[1][-3000:]
    rank0 = torch.load(work / 'params_rank0.pt')
    rank1 = torch.load(work / 'params_rank1.pt')
    for name in rank0:
        torch.testing.assert_close(rank0[name], rank1[name], rtol=0, atol=0, msg=name)


def test_distributed_test_gives_the_single_process_metrics(tmp_path):
    work = tmp_path / 'work'
    run_tool([sys.executable, 'tools/train.py', 'configs/sga/sga_demo.py', '--work-dir', str(work),
              '--cfg-options', *TINY, 'train_cfg.max_iters=2', 'train_cfg.val_interval=2',
              'default_hooks.checkpoint.interval=2'])
    # 5 samples: two ranks get 3 + 3 with one padding duplicate that must be dropped.
    options = ['--cfg-options', *TINY, 'test_dataloader.dataset.length=5']
    single, dist = tmp_path / 'single.json', tmp_path / 'dist.json'
    run_tool([sys.executable, 'tools/test.py', 'configs/sga/sga_demo.py', str(work / 'iter_2.pth'),
              '--work-dir', str(tmp_path / 't1'), '--out', str(single), *options])
    run_tool(['bash', 'tools/dist_test.sh', 'configs/sga/sga_demo.py', str(work / 'iter_2.pth'),
              '2', '--work-dir', str(tmp_path / 't2'), '--out', str(dist), *options],
             env={'MASTER_PORT': str(free_port())})
    a, b = json.loads(single.read_text()), json.loads(dist.read_text())
    metrics = [k for k in a if k.startswith('random_ref/')]
    assert metrics
    for key in metrics:
        assert abs(a[key] - b[key]) < 1e-6 * max(1.0, abs(a[key])), key
