"""List what is registered in colorizer, with each class's one-line summary.

Examples::

    python tools/misc/list_modules.py               # every registry
    python tools/misc/list_modules.py attention     # attention plugins only
    python tools/misc/list_modules.py attention --import my_plugins   # plus a third-party package
"""
import argparse
import importlib
import inspect
import sys

from colorizer.registry import REGISTRIES


def summary(obj) -> str:
    """First line of an object's docstring, or '' when it has none."""
    doc = inspect.getdoc(obj) or ''
    return doc.splitlines()[0] if doc else ''


def list_registry(name: str) -> list:
    """Return [(type name, summary)] for one registry of :data:`REGISTRIES`."""
    registry = REGISTRIES[name]
    registry.import_from_location()
    return sorted((key, summary(obj)) for key, obj in registry.module_dict.items())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('kinds', nargs='*', metavar='KIND',
                        help=f'registries to list: {", ".join(REGISTRIES)} (default: all)')
    parser.add_argument('--import', dest='imports', nargs='+', default=[],
                        help='extra packages to import first (third-party plugins)')
    args = parser.parse_args(argv)
    unknown = [k for k in args.kinds if k not in REGISTRIES]
    if unknown:
        sys.exit(f'error: unknown registry {unknown}; choose from {list(REGISTRIES)}')
    for module in args.imports:
        importlib.import_module(module)
    for kind in args.kinds or REGISTRIES:
        rows = list_registry(kind)
        print(f'{kind} ({len(rows)})')
        for key, text in rows:
            print(f'  {key:<32} {text}')


if __name__ == '__main__':
    main()
