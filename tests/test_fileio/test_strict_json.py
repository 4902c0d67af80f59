"""Records are strict JSON: a NaN or infinite value is written as null, and no writer in the
package, the tools or the benchmarks bypasses ``strict_dumps``."""
import ast
import json
import math
from pathlib import Path

import pytest

from colorizer.fileio import finite_or_none, strict_dumps

ROOT = Path(__file__).resolve().parents[2]


def _reject_constants(name):
    raise ValueError(f'non-standard JSON constant {name}')


def test_non_finite_values_become_null_at_any_depth():
    record = {'a': math.nan, 'b': [1.0, math.inf, (-math.inf, 2)], 'c': {'d': 0.5, 'e': 'NaN'}}
    text = strict_dumps(record, indent=1)
    # a strict parser (no NaN / Infinity) reads it
    assert json.loads(text, parse_constant=_reject_constants) == \
        {'a': None, 'b': [1.0, None, [None, 2]], 'c': {'d': 0.5, 'e': 'NaN'}}
    assert finite_or_none(3) == 3 and finite_or_none(True) is True


def test_values_json_cannot_hold_still_raise():
    with pytest.raises(TypeError):
        strict_dumps({'a': object()})


def test_results_of_tools_test_and_benchmarks_are_strict(tmp_path):
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        'benchmark_record', ROOT / 'benchmarks/benchmark_record.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = tmp_path / 'record.json'
    module.write_record(out, {'self_ref/corr/mass_norm_spearman': math.nan},
                        module.LoadWatch())
    data = json.loads(out.read_text(), parse_constant=_reject_constants)
    assert data['self_ref/corr/mass_norm_spearman'] is None


def test_no_writer_calls_json_dump_directly():
    """Every JSON writer goes through strict_dumps (json.dump / json.dumps would write NaN)."""
    offenders = []
    for folder in ('colorizer', 'tools', 'benchmarks'):
        for path in (ROOT / folder).rglob('*.py'):
            if path.name == 'strict_json.py':
                continue
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Attribute) and node.attr in ('dump', 'dumps') and \
                        isinstance(node.value, ast.Name) and node.value.id == 'json':
                    offenders.append(f'{path.relative_to(ROOT)}:{node.lineno}')
    assert not offenders, offenders
