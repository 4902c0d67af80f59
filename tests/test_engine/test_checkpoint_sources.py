"""Every way a checkpoint enters goes through the allow-listed loader (a URL load
must not run the code a crafted file carries).

A crafted file is served by a local ``http.server`` on 127.0.0.1; unpickling it would create a
marker file. Each scheme either loads it through the allow-listed loader (and refuses it) or
refuses the scheme; the marker is never created.
"""
import functools
import http.server
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import torch
from mmengine.runner import checkpoint as mm_checkpoint
from mmengine.runner.checkpoint import CheckpointLoader

import colorizer  # noqa: F401  (registers the loaders)
from colorizer.apis import init_model
from colorizer.engine.checkpoint_errors import CheckpointError, CheckpointSourceError
from colorizer.engine.checkpoint_safety import UnsafeCheckpointError
from colorizer.engine.checkpoint_sources import SAFE_LOADERS, register_safe_loaders

ROOT = Path(__file__).resolve().parents[2]
DEMO = str(ROOT / 'configs' / 'sga' / 'sga_demo.py')


class _WritesAFile:
    """Unpickling this object would create a file: proof of code execution."""

    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (open, (self.target, 'w'))


@pytest.fixture
def served(tmp_path):
    """A local HTTP server over ``tmp_path/www``: (folder, base URL, marker path)."""
    www = tmp_path / 'www'
    www.mkdir()
    marker = tmp_path / 'pwned.txt'
    torch.save({'state_dict': {}, 'payload': _WritesAFile(str(marker))}, www / 'evil.pth')
    handler = functools.partial(_QuietHandler, directory=str(www))
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield www, f'http://127.0.0.1:{server.server_address[1]}', marker
    server.shutdown()
    server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def test_every_registered_scheme_is_colorizers_after_import_colorizer_alone():
    code = ('import colorizer\n'
            'from mmengine.runner.checkpoint import CheckpointLoader\n'
            'print(sorted({v.__module__ for v in CheckpointLoader._schemes.values()}))\n'
            'print(sorted(CheckpointLoader._schemes))')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                         check=True, cwd=ROOT).stdout.splitlines()
    assert out[0] == "['colorizer.engine.checkpoint_sources']"
    for prefix in ('', 'http://', 'https://', 'open-mmlab://', 'openmmlab://', 'torchvision://',
                   'modelzoo://', 'mmcls://', 'pavi://'):
        assert repr(prefix) in out[1]


def test_import_colorizer_alone_loads_colorizer_checkpoints_and_refuses_crafted_ones(tmp_path):
    """Packed message hub and numpy meta load through MMEngine's loader; a crafted file not."""
    from colorizer.engine.checkpoint_safety import pack_history_buffers
    from mmengine.logging import MessageHub
    import numpy as np
    hub = MessageHub.get_instance('test_import_alone')
    hub.update_scalar('train/loss', 1.5)
    state = hub.state_dict()
    pack_history_buffers(state)
    torch.save({'meta': {'seed': np.int64(3)}, 'message_hub': state,
                'state_dict': {'w': torch.ones(2)}}, tmp_path / 'ok.pth')
    marker = tmp_path / 'pwned.txt'
    torch.save({'payload': _WritesAFile(str(marker))}, tmp_path / 'evil.pth')
    code = (
        'import sys, colorizer\n'
        'from mmengine.runner.checkpoint import CheckpointLoader\n'
        'c = CheckpointLoader.load_checkpoint(sys.argv[1])\n'
        "print(type(c['message_hub']['log_scalars']['train/loss']).__name__)\n"
        'try:\n'
        '    CheckpointLoader.load_checkpoint(sys.argv[2])\n'
        'except colorizer.engine.UnsafeCheckpointError as e:\n'
        "    print('refused')\n")
    out = subprocess.run([sys.executable, '-c', code, str(tmp_path / 'ok.pth'),
                          str(tmp_path / 'evil.pth')], capture_output=True, text=True,
                         cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    printed = [line for line in out.stdout.splitlines() if ' - mmengine - ' not in line]
    assert printed == ['HistoryBuffer', 'refused']
    assert not marker.exists()


def test_http_checkpoint_is_downloaded_then_refused_not_executed(served):
    _, url, marker = served
    with pytest.raises(UnsafeCheckpointError, match='evil.pth'):
        CheckpointLoader.load_checkpoint(f'{url}/evil.pth', map_location='cpu')
    assert not marker.exists()


def test_init_model_with_a_url_refuses_the_crafted_file_and_loads_a_good_one(served):
    www, url, marker = served
    with pytest.raises(UnsafeCheckpointError):
        init_model(DEMO, f'{url}/evil.pth')
    assert not marker.exists()
    model = init_model(DEMO)
    torch.save({'state_dict': model.state_dict()}, www / 'good.pth')
    loaded = init_model(DEMO, f'{url}/good.pth')
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key


def test_named_schemes_resolve_to_urls_and_load_through_the_safe_loader(served, monkeypatch):
    _, url, marker = served
    monkeypatch.setattr(mm_checkpoint, 'get_torchvision_models',
                        lambda: {'evil': f'{url}/evil.pth'})
    monkeypatch.setattr(mm_checkpoint, 'get_external_models',
                        lambda: {'evil': f'{url}/evil.pth', 'local': 'evil_local.pth'})
    monkeypatch.setattr(mm_checkpoint, 'get_mmcls_models', lambda: {'evil': f'{url}/evil.pth'})
    for name in ('torchvision://evil', 'modelzoo://evil', 'open-mmlab://evil',
                 'openmmlab://evil', 'mmcls://evil'):
        with pytest.raises(UnsafeCheckpointError):
            CheckpointLoader.load_checkpoint(name)
    assert not marker.exists()
    with pytest.raises(CheckpointSourceError, match='no model weights named'):
        CheckpointLoader.load_checkpoint('torchvision://nope')


def test_remote_stores_go_through_the_safe_loader(served, monkeypatch):
    www, _, marker = served

    class _Store:  # what MMEngine's petrel backend returns: the file's bytes
        def get(self, filename):
            return (www / 'evil.pth').read_bytes()

    from colorizer.engine import checkpoint_sources
    monkeypatch.setattr(checkpoint_sources, 'get_file_backend', lambda *a, **k: _Store())
    for name in ('s3://bucket/evil.pth', 'petrel://bucket/evil.pth',
                 'cluster1:s3://bucket/evil.pth'):
        with pytest.raises(UnsafeCheckpointError):
            CheckpointLoader.load_checkpoint(name)
    assert not marker.exists()


def test_pavi_and_unknown_schemes_are_refused_with_a_clear_message():
    with pytest.raises(CheckpointSourceError, match='local path'):
        CheckpointLoader.load_checkpoint('pavi://model/x.pth')
    CheckpointLoader.register_scheme('weird://', lambda f, m=None: torch.load(f), force=True)
    try:
        register_safe_loaders()
        with pytest.raises(CheckpointSourceError, match='weird://x'):
            CheckpointLoader.load_checkpoint('weird://x')
    finally:
        CheckpointLoader._schemes.pop('weird://', None)
    assert set(SAFE_LOADERS) <= set(CheckpointLoader._schemes)


def test_failed_download_names_the_url(served):
    _, url, _ = served
    with pytest.raises(CheckpointSourceError, match='missing.pth'):
        CheckpointLoader.load_checkpoint(f'{url}/missing.pth')
    assert issubclass(CheckpointSourceError, CheckpointError)
