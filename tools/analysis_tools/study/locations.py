"""Where the repository and its analysis tools are."""
import importlib.util
import os.path as osp

#: The repository root (tools run from it; configs are relative to it).
ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))


def load_tool(name: str):
    """tools/analysis_tools/<name>.py as a module (the tools folder is no package)."""
    path = osp.join(ROOT, 'tools', 'analysis_tools', f'{name}.py')
    spec = importlib.util.spec_from_file_location(f'_study_tool_{name}', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
