"""Shared helpers of the gradient-cosine analysis tests."""
import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# tool_runner (TINY settings, tools/train.py in a subprocess) lives with the tool tests
sys.path.insert(0, str(ROOT / 'tests' / 'test_tools'))


def load_tool(name):
    """Import tools/analysis_tools/<name>.py as a module (the tools folder is no package)."""
    path = ROOT / 'tools' / 'analysis_tools' / f'{name}.py'
    spec = importlib.util.spec_from_file_location(f'_analysis_tool_{name}', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='session')
def tool():
    return load_tool
