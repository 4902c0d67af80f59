"""Apply colorizer's thread policy before torch loads (imported first by the tools).

libgomp reads ``OMP_WAIT_POLICY`` and ``OMP_NUM_THREADS`` once, when torch loads it, and
``import colorizer`` loads torch (it registers the safe checkpoint loaders with MMEngine). So the
tools load ``colorizer/thread_policy.py``, which needs only the standard library, from its file
without importing the package, apply it, and only then import colorizer, mmengine or torch::

    sys.path.insert(0, osp.dirname(osp.abspath(__file__)))   # tools/
    from thread_setup import THREAD_POLICY                    # noqa: E402
"""
import importlib.util
import os.path as osp
import sys


def load_thread_policy_module():
    """``colorizer/thread_policy.py`` as a module, without running ``colorizer/__init__.py``."""
    package = importlib.util.find_spec('colorizer')  # locates the package; executes nothing
    if package is None or not package.submodule_search_locations:
        sys.exit('error: the colorizer package is not installed in this interpreter '
                 f'({sys.executable}); run `pip install -e .` in the repository first')
    path = osp.join(list(package.submodule_search_locations)[0], 'thread_policy.py')
    spec = importlib.util.spec_from_file_location('_colorizer_thread_policy', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


#: The policy in force; tools log ``THREAD_POLICY.describe()`` once.
THREAD_POLICY = load_thread_policy_module().apply_thread_policy(exit_on_error=True)
