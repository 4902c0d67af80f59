"""Train several configs one after another in one Python process, with tools/train.py.

One interpreter start (imports of torch, MMEngine and colorizer: seconds each) for many short
runs. Each job is ``[config, work_dir, *cfg_options]``; each job's output is framed by
``=== job <i> start: <config>`` and ``=== job <i> end: <exit status>`` lines, so a test can tell
which config printed what (stdout and stderr should be merged by the caller)::

    python tests/test_tools/train_in_one_process.py jobs.json
"""
import importlib.util
import json
import sys
import traceback
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def load_train_tool():
    spec = importlib.util.spec_from_file_location('_tool_train', ROOT / 'tools' / 'train.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(jobs_file: str) -> int:
    tool = load_train_tool()
    failed = 0
    for i, (config, work_dir, *options) in enumerate(json.loads(Path(jobs_file).read_text())):
        print(f'=== job {i} start: {config}', flush=True)
        # A fresh warning registry per job: Python shows a warning once per place, and each
        # config must show its own. Unique experiment names: MMEngine keys its logger and
        # visualiser instances by them.
        warnings.resetwarnings()
        warnings.simplefilter('default')
        status = 0
        try:
            tool.main([config, '--work-dir', work_dir, '--cfg-options', *options,
                       f'experiment_name=job{i}'])
        except SystemExit as exit_:
            status = exit_.code if isinstance(exit_.code, int) else 1
            if not isinstance(exit_.code, int):
                print(exit_.code, file=sys.stderr, flush=True)
        except Exception:  # noqa: BLE001 - report and go on with the next job
            traceback.print_exc()
            status = 1
        failed += status != 0
        sys.stderr.flush()
        print(f'=== job {i} end: {status}', flush=True)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1]))
