"""Fixtures of the inference tests: a 2-iteration checkpoint of the tiny demo config."""
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# tool_runner (TINY settings, tools/train.py in a subprocess) lives with the tool tests
sys.path.insert(0, str(ROOT / 'tests' / 'test_tools'))

from tool_runner import train  # noqa: E402


@pytest.fixture(scope='session')
def trained(tmp_path_factory):
    """(config, checkpoint) of the demo config shrunk to 32 px, trained for 2 iterations.

    The config is the resolved one the training run dumps, so it carries the TINY options.
    """
    work = tmp_path_factory.mktemp('tiny_sga')
    train(work, 'train_cfg.max_iters=2', 'train_cfg.val_interval=2',
          'default_hooks.checkpoint.interval=2')
    return str(work / 'sga_demo.py'), str(work / 'iter_2.pth')


@pytest.fixture(scope='session')
def model(trained):
    from colorizer.apis import init_model
    return init_model(*trained)
