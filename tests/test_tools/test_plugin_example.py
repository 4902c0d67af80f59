"""The third-party attention plugin of examples/custom_attention trains from its config."""
from colorizer.engine import safe_load
from tool_runner import ROOT, train


def test_custom_attention_plugin_trains(tmp_path):
    env = {'PYTHONPATH': str(ROOT / 'examples' / 'custom_attention')}
    train(tmp_path, 'train_cfg.max_iters=2', 'train_cfg.val_interval=2',
          'default_hooks.checkpoint.interval=2',
          config='examples/custom_attention/cosine_attention_demo.py', env=env)
    state = safe_load(str(tmp_path / 'iter_2.pth'))['state_dict']
    assert 'generator.attention.value.weight' in state
