"""The provenance every benchmark JSON carries: machine, libraries, threads, load, command.

Every speed, memory or throughput figure in the README and ``docs/`` comes from a JSON file that a
script in ``benchmarks/`` wrote through :func:`write_record`, so a reader can tell on what machine,
with which library versions, how many threads and under what load a number was measured, and
rerun the exact command. ``docs/benchmarks.md`` cites those files (``docs/records/*.json``).

Usage in a benchmark script::

    from benchmark_record import LoadWatch, write_record   # benchmarks/ is on sys.path

    watch = LoadWatch()            # load average before
    result = run(args)
    write_record(args.out, result, watch, threads=1)
"""
import os
import platform
import shlex
import sys
from importlib import metadata
from pathlib import Path

from colorizer.fileio import strict_dumps

#: Fields a record always has (tests check them).
RECORD_FIELDS = ('machine', 'libraries', 'threads', 'load_average', 'command')

_LIBRARIES = ('torch', 'torchvision', 'numpy', 'opencv-python-headless', 'opencv-python',
              'pillow', 'mmengine', 'albumentations', 'scikit-image')


def cpu_model() -> str:
    """The CPU's model name as ``/proc/cpuinfo`` gives it (``platform`` elsewhere)."""
    try:
        for line in Path('/proc/cpuinfo').read_text().splitlines():
            if line.startswith('model name'):
                return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict:
    """CPU model, logical cores (and those this process may use), memory, OS, Python."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        usable = os.cpu_count()
    try:
        mem_kib = next(int(line.split()[1])
                       for line in Path('/proc/meminfo').read_text().splitlines()
                       if line.startswith('MemTotal'))
        memory_gib = round(mem_kib / 2**20, 1)
    except (OSError, StopIteration):
        memory_gib = None
    info = dict(cpu=cpu_model(), cores=os.cpu_count(), usable_cores=usable, memory_gib=memory_gib,
                system=platform.platform(), python=platform.python_version())
    gpu = _gpu()
    if gpu:
        info['gpu'] = gpu
    return info


def _gpu():
    torch = sys.modules.get('torch')
    if torch is not None and torch.cuda.is_available():
        return [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    return None


def libraries() -> dict:
    """Installed versions of the libraries whose speed the benchmarks measure."""
    versions = {}
    for name in _LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    torch = sys.modules.get('torch')
    if torch is not None:
        versions['torch_cuda'] = torch.version.cuda
    return versions


def threads(torch_threads=None) -> dict:
    """The thread settings in force: torch's intra-op threads and the environment's knobs."""
    env = {k: os.environ[k] for k in ('OMP_NUM_THREADS', 'OMP_WAIT_POLICY', 'MKL_NUM_THREADS',
                                      'COLORIZER_THREADS') if k in os.environ}
    torch = sys.modules.get('torch')
    if torch_threads is None and torch is not None:
        torch_threads = torch.get_num_threads()
    out = dict(torch=torch_threads, environment=env)
    cv2 = sys.modules.get('cv2')
    if cv2 is not None:  # OpenCV keeps its own pool (the data pipeline's transforms use it)
        out['opencv'] = cv2.getNumThreads()
    return out


class LoadWatch:
    """Reads the 1/5/15-minute load average when made; :meth:`as_dict` adds the one after."""

    def __init__(self):
        self.before = _loadavg()

    def as_dict(self) -> dict:
        return dict(before=self.before, after=_loadavg())


def _loadavg():
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return None


def record(watch: LoadWatch, torch_threads=None) -> dict:
    """The provenance block: call it right after the measurement (it reads the load after)."""
    return dict(machine=machine(), libraries=libraries(), threads=threads(torch_threads),
                load_average=watch.as_dict(),
                command=' '.join(shlex.quote(a) for a in [Path(sys.executable).name, *sys.argv]))


def write_record(path, result: dict, watch: LoadWatch, torch_threads=None) -> dict:
    """Write ``result`` with its provenance block under ``record`` to ``path`` (JSON)."""
    payload = dict(result, record=record(watch, torch_threads))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(strict_dumps(payload, indent=2) + '\n')  # NaN as null
    return payload
