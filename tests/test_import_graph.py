"""The package's layers: no module imports a higher layer, and the import graph has no cycle.

The graph is read from the source (``ast`` over ``colorizer/**/*.py``), imports inside functions
included: a deferred import hides a cycle from Python's import system, not from a reader.
"""
import ast
from pathlib import Path
from typing import Dict, List, Set, Tuple

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / 'colorizer'

#: Lowest first. A module may import its own layer and the layers below it. The package's own
#: ``__init__`` is the entry point: it wires up the import-time registrations (safe checkpoint
#: loading, atomic writes), so it sits above everything.
LAYERS: Tuple[Tuple[str, ...], ...] = (
    ('colorizer.version', 'colorizer.registry', 'colorizer.config_error', 'colorizer.invalid_argument',
     'colorizer.xdog_parameters', 'colorizer.thread_policy', 'colorizer.fileio',
     'colorizer.postprocessing',
     'colorizer.structures'),
    ('colorizer.datasets',),
    ('colorizer.models',),
    ('colorizer.evaluation',),
    ('colorizer.visualization',),
    ('colorizer.engine',),
    ('colorizer.apis',),
    ('colorizer',),
)


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix('').parts
    return '.'.join(parts[:-1] if parts[-1] == '__init__' else parts)


def import_graph(package: Path = PACKAGE) -> Dict[str, Set[Tuple[str, int]]]:
    """module -> {(imported colorizer module, line)} for every module of ``package``."""
    files = {module_name(p): p for p in package.rglob('*.py')}
    graph = {}
    for name, path in files.items():
        is_package = path.name == '__init__.py'
        edges = set()
        for node in ast.walk(ast.parse(path.read_text(encoding='utf-8'), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = name.split('.')
                    base = base[:len(base) - node.level + (1 if is_package else 0)]
                    source = '.'.join(base + ([node.module] if node.module else []))
                else:
                    source = node.module or ''
                # `from colorizer import registry` imports the module colorizer.registry
                targets = [f'{source}.{alias.name}' if f'{source}.{alias.name}' in files
                           else source for alias in node.names]
            else:
                continue
            edges |= {(t, node.lineno) for t in targets if t.split('.')[0] == 'colorizer'}
        graph[name] = edges
    return graph


def layer_of(module: str) -> int:
    best, level = -1, None
    for index, layer in enumerate(LAYERS):
        for prefix in layer:
            # the package's entry ('colorizer') holds its __init__ only, not what is below it
            below = prefix != 'colorizer' and module.startswith(prefix + '.')
            if (module == prefix or below) and len(prefix) > best:
                best, level = len(prefix), index
    if level is None:
        raise AssertionError(f'{module} is in no layer: add it to LAYERS in {__file__}')
    return level


def find_cycle(graph: Dict[str, Set[str]]) -> List[str]:
    """One cycle of ``graph`` (its modules, first repeated at the end), or []."""
    state, stack = {}, []

    def visit(node):
        state[node] = 'open'
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 'open':
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 'done'
        return []

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return []


def test_graph_sees_the_imports():
    graph = import_graph()
    assert len(graph) > 50
    # absolute, relative and `from package import module` forms all resolve
    assert any(t == 'colorizer.registry' for t, _ in graph['colorizer.datasets.transforms.xdog'])
    assert any(t == 'colorizer.datasets.transforms.random_state'
               for t, _ in graph['colorizer.datasets.transforms.xdog'])
    assert any(t == 'colorizer.registry' for t, _ in graph['colorizer.engine.config_validation'])


def test_every_module_has_a_layer():
    for module in import_graph():
        layer_of(module)


def test_no_import_from_a_higher_layer():
    upward = []
    for module, edges in sorted(import_graph().items()):
        for target, line in sorted(edges):
            if layer_of(target) > layer_of(module):
                upward.append(f'{module}:{line} imports {target}')
    assert not upward, 'imports from a higher layer:\n' + '\n'.join(upward)


def test_no_import_cycle():
    graph = {m: {t for t, _ in edges} for m, edges in import_graph().items()}
    cycle = find_cycle(graph)
    assert not cycle, 'import cycle: ' + ' -> '.join(cycle)


def test_checks_fail_on_bad_graphs():
    """The two checks catch what they are for (a graph built by hand)."""
    assert find_cycle({'a': {'b'}, 'b': {'c'}, 'c': {'a'}}) == ['a', 'b', 'c', 'a']
    assert find_cycle({'a': {'b'}, 'b': set()}) == []
    assert layer_of('colorizer.models.attention.sga') > layer_of('colorizer.datasets.pairing')
    assert layer_of('colorizer.engine.runner') > layer_of('colorizer.evaluation.metrics.fid')
    with pytest.raises(AssertionError, match='in no layer'):
        layer_of('colorizer.brand_new_room')
