"""tools/misc/list_modules.py shows every registered plugin with its summary line."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_lists_attention_plugins_with_their_summary():
    out = subprocess.run([sys.executable, 'tools/misc/list_modules.py', 'attention'], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout
    lines = {line.split()[0]: line for line in out.splitlines()[1:]}
    assert {'SGA', 'SCFT'} <= set(lines)
    assert len(lines['SGA'].split()) > 2  # the docstring's first line follows the name


def test_lists_a_third_party_plugin_after_importing_it():
    env_path = str(ROOT / 'examples' / 'custom_attention')
    out = subprocess.run(
        [sys.executable, 'tools/misc/list_modules.py', 'attention', '--import',
         'my_attention_plugin'], cwd=ROOT, capture_output=True, text=True, check=True,
        env={'PYTHONPATH': env_path, 'PATH': ''}).stdout
    assert 'CosineCrossAttention' in out


def test_unknown_registry_is_an_error():
    result = subprocess.run([sys.executable, 'tools/misc/list_modules.py', 'atention'], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode != 0 and 'atention' in result.stderr
