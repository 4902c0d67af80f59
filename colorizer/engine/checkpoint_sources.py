"""Every way a checkpoint enters the process goes through the allow-listed loader.

MMEngine's ``CheckpointLoader`` picks a loader by the path's scheme. Its own loaders for
``http(s)://`` (``torch.hub.load_state_dict_from_url``), ``open-mmlab://``, ``torchvision://``,
``modelzoo://``, ``mmcls://``, ``pavi://`` and ``s3://`` / ``petrel://`` unpickle whatever the
file says: a crafted file served at a URL given as ``load_from`` would run code. On
``import colorizer``, :func:`register_safe_loaders` replaces every one of them:

=============================================  =============================================
scheme                                         colorizer's loader
=============================================  =============================================
local path (no scheme)                         :func:`~.checkpoint_safety.safe_load`
``http://``, ``https://``                      download to a temporary file (``urllib``),
                                               then ``safe_load``
``torchvision://``, ``modelzoo://``            MMEngine's name -> URL table, then as http
``open-mmlab://``, ``openmmlab://``            MMEngine's name -> URL/file table, then as
                                               http or as a local path
``mmcls://``                                   MMEngine's table, as http, then MMEngine's
                                               key conversion
``s3://``, ``petrel://`` (any ``xx:`` prefix)  bytes through MMEngine's file backend, then
                                               ``safe_load``
``pavi://``                                    refused (:class:`CheckpointSourceError`):
                                               download the file and give its local path
=============================================  =============================================

:func:`register_safe_loaders` also replaces any scheme registered later by MMEngine code
imported after colorizer (it re-checks at every call of :func:`ensure_safe_loaders`).
"""
import os.path as osp
import re
import shutil
import tempfile
import urllib.error
import urllib.request
from typing import Any, Callable, Dict

from mmengine.fileio import get_file_backend
from mmengine.runner import checkpoint as mm_checkpoint
from mmengine.runner.checkpoint import CheckpointLoader

from .checkpoint_errors import CheckpointSourceError
from .checkpoint_safety import safe_load

#: Seconds without data before a download is abandoned.
DOWNLOAD_TIMEOUT_S = 60


def load_from_local(filename: str, map_location: Any = None) -> Dict[str, Any]:
    """A local path, through :func:`~colorizer.engine.checkpoint_safety.safe_load`."""
    return safe_load(filename, map_location=map_location)


def load_from_http(url: str, map_location: Any = None) -> Dict[str, Any]:
    """Download ``url`` to a temporary file, then load it with the allow-listed loader.

    Every process downloads its own copy (no rank waits for another), into a temporary folder
    removed afterwards: nothing from the URL is kept or cached.

    Raises:
        CheckpointSourceError: The download failed (the message names the URL and the reason).
        UnsafeCheckpointError: The file references objects outside the allow-list.
    """
    with tempfile.TemporaryDirectory(prefix='colorizer_download_') as folder:
        path = osp.join(folder, 'checkpoint.pth')
        try:
            with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response, \
                    open(path, 'wb') as f:
                shutil.copyfileobj(response, f)
        except (urllib.error.URLError, OSError, ValueError) as error:
            reason = getattr(error, 'reason', None) or error
            raise CheckpointSourceError(
                f'could not download checkpoint {url}: {reason}') from error
        return safe_load(path, map_location=map_location, name=url)


def load_from_torchvision(filename: str, map_location: Any = None) -> Dict[str, Any]:
    """``torchvision://NAME`` / ``modelzoo://NAME``: MMEngine's URL of NAME, then as http."""
    name = re.sub(r'^(torchvision|modelzoo)://', '', filename)
    urls = mm_checkpoint.get_torchvision_models()
    if name not in urls:
        raise CheckpointSourceError(
            f'{filename}: torchvision has no model weights named {name!r}')
    return load_from_http(urls[name], map_location=map_location)


def load_from_openmmlab(filename: str, map_location: Any = None) -> Dict[str, Any]:
    """``open-mmlab://NAME``: MMEngine's table gives a URL (as http) or a file under
    MMEngine's home folder (as a local path)."""
    name = re.sub(r'^open-?mmlab://', '', filename)
    name = mm_checkpoint.get_deprecated_model_names().get(name, name)
    urls = mm_checkpoint.get_external_models()
    if name not in urls:
        raise CheckpointSourceError(f'{filename}: OpenMMLab has no model named {name!r}')
    url = urls[name]
    if url.startswith(('http://', 'https://')):
        return load_from_http(url, map_location=map_location)
    return safe_load(osp.join(mm_checkpoint._get_mmengine_home(), url),
                     map_location=map_location)


def load_from_mmcls(filename: str, map_location: Any = None) -> Dict[str, Any]:
    """``mmcls://NAME``: MMEngine's URL of NAME as http, then MMEngine's key conversion."""
    name = filename[len('mmcls://'):]
    urls = mm_checkpoint.get_mmcls_models()
    if name not in urls:
        raise CheckpointSourceError(f'{filename}: mmcls has no model named {name!r}')
    checkpoint = load_from_http(urls[name], map_location=map_location)
    return mm_checkpoint._process_mmcls_checkpoint(checkpoint)


def load_from_ceph(filename: str, map_location: Any = None) -> Dict[str, Any]:
    """``s3://`` / ``petrel://``: the bytes through MMEngine's petrel file backend, then a
    temporary file loaded with the allow-listed loader."""
    try:
        data = get_file_backend(filename, backend_args={'backend': 'petrel'}).get(filename)
    except (ImportError, OSError) as error:
        raise CheckpointSourceError(f'could not read checkpoint {filename}: {error}') from error
    with tempfile.TemporaryDirectory(prefix='colorizer_download_') as folder:
        path = osp.join(folder, 'checkpoint.pth')
        with open(path, 'wb') as f:
            f.write(data)
        return safe_load(path, map_location=map_location, name=filename)


def load_from_pavi(filename: str, map_location: Any = None) -> Dict[str, Any]:
    """``pavi://``: refused; MMEngine's pavi loader cannot be routed through a safe load."""
    raise CheckpointSourceError(
        f'{filename}: pavi:// checkpoints are not loaded by colorizer (their loader would '
        'unpickle arbitrary objects); download the file and give its local path')


#: Scheme prefix (MMEngine's regular expressions) -> colorizer's loader.
SAFE_LOADERS: Dict[str, Callable] = {
    '': load_from_local,
    'http://': load_from_http,
    'https://': load_from_http,
    'torchvision://': load_from_torchvision,
    'modelzoo://': load_from_torchvision,
    'open-mmlab://': load_from_openmmlab,
    'openmmlab://': load_from_openmmlab,
    'mmcls://': load_from_mmcls,
    r'(\S+\:)?s3://': load_from_ceph,
    r'(\S+\:)?petrel://': load_from_ceph,
    'pavi://': load_from_pavi,
}


def register_safe_loaders() -> None:
    """Make every scheme of MMEngine's ``CheckpointLoader`` use colorizer's loaders.

    A scheme that neither MMEngine 0.10.7 nor colorizer knows (registered by third-party
    code) is refused rather than left to a loader that may unpickle anything.
    """
    for prefix in list(CheckpointLoader._schemes):
        if prefix not in SAFE_LOADERS:
            CheckpointLoader.register_scheme(prefix, _refuse_unknown_scheme, force=True)
    for prefix, loader in SAFE_LOADERS.items():
        CheckpointLoader.register_scheme(prefix, loader, force=True)


def _refuse_unknown_scheme(filename: str, map_location: Any = None) -> Dict[str, Any]:
    raise CheckpointSourceError(
        f'{filename}: this scheme has no loader that colorizer trusts to load without '
        'executing code; download the file and give its local path')


def is_remote(path: str) -> bool:
    """Whether ``path`` names a checkpoint by a scheme (URL, ``open-mmlab://``...), not a
    local file."""
    return any(prefix and re.match(prefix, path) for prefix in CheckpointLoader._schemes) \
        or bool(re.match(r'^[A-Za-z][A-Za-z0-9+.-]*://', path))


def ensure_safe_loaders() -> None:
    """Re-register if any scheme was (re)registered to a loader that is not colorizer's."""
    if any(getattr(loader, '__module__', None) != __name__
           for loader in CheckpointLoader._schemes.values()):
        register_safe_loaders()


__all__ = ['SAFE_LOADERS', 'register_safe_loaders', 'ensure_safe_loaders', 'is_remote',
           'load_from_http', 'load_from_local']
