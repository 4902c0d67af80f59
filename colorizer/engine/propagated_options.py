"""Top-level config variables that other config values are computed from: ``data_root`` and
``img_size``.

A config file computes its dataset paths and pipeline sizes from these variables when it is
read (``data_root=f'{data_root}/train'``, ``size=img_size``). ``--cfg-options data_root=DIR``
merged afterwards changes only the variable, not the values computed from it, so the run would
silently use the old folder or size. The tools therefore take these two keys out of
``--cfg-options`` (and ``--data-root``) and apply them here to every value that was computed
from the old one:

- ``data_root``: every dataset ``data_root`` / ``sketch_root`` equal to the config's
  ``data_root`` or below it (``<old>/train`` becomes ``<new>/train``);
- ``img_size``: every dataset ``img_size`` and every pipeline transform's pixel size
  (:data:`PIXEL_SIZE_KEYS`: ``Resize(size=)``, ``LoadColorImage(min_size=)``, ...) equal to
  the old size, also inside transforms that wrap others (``transforms=[...]``).

Values a user set explicitly with a dotted option (``train_dataloader.dataset.data_root=X``)
differ from the old variable and are left alone. A value that reaches nothing is an error: the
config does not read that variable (the demo draws its cartoons in memory).
"""
import os.path as osp
from typing import Dict, Iterator, List, Optional, Tuple

from mmengine.config import Config

from colorizer.config_error import ConfigError

__all__ = ['PIXEL_SIZE_KEYS', 'PROPAGATED_KEYS', 'split_propagated_options',
           'apply_propagated_options', 'dataset_description']

#: Top-level keys applied to the values computed from them.
PROPAGATED_KEYS = ('data_root', 'img_size')
_PATH_KEYS = ('data_root', 'sketch_root')
#: Transform arguments that are a size in pixels: ``size`` (resizing and cropping transforms)
#: and ``min_size`` (``LoadColorImage``'s smallest decode size).
PIXEL_SIZE_KEYS = ('size', 'min_size')
_SPLITS = ('train_dataloader', 'val_dataloader', 'test_dataloader')
#: Trailing folder names that name a split, not a dataset (``afhq/val/dog`` is "dog").
_SPLIT_FOLDERS = {'train', 'val', 'valid', 'validation', 'test', 'images', 'imgs'}


def split_propagated_options(cfg_options: Optional[dict],
                             data_root: Optional[str] = None) -> Tuple[dict, dict]:
    """Separate the propagated keys from the other ``--cfg-options``.

    Args:
        cfg_options: The parsed ``--cfg-options`` (dotted key -> value), or ``None``.
        data_root: ``--data-root``, which wins over ``--cfg-options data_root=``.

    Returns:
        ``(propagated, rest)``: ``{'data_root': ..., 'img_size': ...}`` (the keys given) and
        the remaining options for ``Config.merge_from_dict``.
    """
    rest = dict(cfg_options or {})
    propagated = {key: rest.pop(key) for key in PROPAGATED_KEYS if key in rest}
    if data_root is not None:
        propagated['data_root'] = data_root
    return propagated, rest


def _datasets(cfg: Config) -> Iterator[Tuple[str, dict]]:
    def walk(path, dataset):
        if isinstance(dataset, dict):
            yield path, dataset
            yield from walk(f'{path}.dataset', dataset.get('dataset'))
            for i, inner in enumerate(dataset.get('datasets') or []):
                yield from walk(f'{path}.datasets[{i}]', inner)

    for split in _SPLITS:
        loader = cfg.get(split)
        if isinstance(loader, dict):
            yield from walk(f'{split}.dataset', loader.get('dataset'))


def _reroot(path: str, old: str, new: str) -> Optional[str]:
    old_norm = osp.normpath(old)
    norm = osp.normpath(path)
    if norm == old_norm:
        return new
    if norm.startswith(old_norm + osp.sep):
        return osp.join(new, osp.relpath(norm, old_norm))
    return None


def _apply_data_root(cfg: Config, new: str) -> List[str]:
    old = cfg.get('data_root')
    if not isinstance(old, str):
        types = sorted({str(d.get('type')) for _, d in _datasets(cfg)})
        raise ConfigError(
            f'data_root={new!r}: {cfg.filename} has no top-level data_root, so no dataset reads '
            f'it (dataset types: {types}). To train on a folder of images use '
            'configs/sga/sga_folder.py --data-root DIR.')
    changed = []
    for path, dataset in _datasets(cfg):
        for key in _PATH_KEYS:
            value = dataset.get(key)
            moved = _reroot(value, old, new) if isinstance(value, str) else None
            if moved is not None:
                dataset[key] = moved
                changed.append(f'{path}.{key}')
    if not changed:
        raise ConfigError(f'data_root={new!r}: no dataset of {cfg.filename} reads a path below '
                          f'its data_root {old!r}; set the datasets\' data_root directly')
    cfg.data_root = new
    return changed


def _same_size(value, old) -> bool:
    """Whether ``value`` is the size ``old`` (a side length or an (h, w) pair)."""
    def as_pair(v):
        return tuple(v) if isinstance(v, (list, tuple)) else (v, v)
    return value is not None and as_pair(value) == as_pair(old)


def _resize_transforms(pipeline, path: str, old, new) -> List[str]:
    """Set every :data:`PIXEL_SIZE_KEYS` value equal to ``old`` in ``pipeline`` (and in the
    ``transforms`` of wrapping transforms) to ``new``; return the dotted paths changed."""
    changed = []
    for i, transform in enumerate(pipeline if isinstance(pipeline, list) else []):
        if not isinstance(transform, dict):
            continue
        for key in PIXEL_SIZE_KEYS:
            if _same_size(transform.get(key), old):
                transform[key] = new
                changed.append(f'{path}[{i}].{key}')
        changed += _resize_transforms(transform.get('transforms'), f'{path}[{i}].transforms',
                                      old, new)
    return changed


def _apply_img_size(cfg: Config, new) -> List[str]:
    old = cfg.get('img_size')
    if old is None:
        raise ConfigError(f'img_size={new!r}: {cfg.filename} has no top-level img_size; set '
                          'the datasets\' img_size or the pipelines\' size directly')
    changed = []
    for path, dataset in _datasets(cfg):
        if 'img_size' in dataset and _same_size(dataset['img_size'], old):
            dataset['img_size'] = new
            changed.append(f'{path}.img_size')
        changed += _resize_transforms(dataset.get('pipeline'), f'{path}.pipeline', old, new)
    # Top-level pipeline variables (train_pipeline, ...) are read by no loader once the config
    # is merged, but the dumped config shows them: left alone they would state the old size.
    for key in list(cfg.keys()):
        value = cfg[key]
        if isinstance(value, list) and any(isinstance(t, dict) and 'type' in t for t in value):
            changed += _resize_transforms(value, key, old, new)
    if not changed:
        raise ConfigError(f'img_size={new!r}: no dataset or pipeline of {cfg.filename} uses '
                          f'its img_size {old!r}')
    cfg.img_size = new
    return changed


def apply_propagated_options(cfg: Config, propagated: Dict[str, object]) -> Dict[str, List[str]]:
    """Apply ``data_root`` / ``img_size`` to the values computed from the config's old ones.

    Args:
        cfg: The loaded config (``--cfg-options`` without the propagated keys merged).
        propagated: From :func:`split_propagated_options`.

    Returns:
        For each key applied, the dotted paths it changed.

    Raises:
        ConfigError: A key that reaches no value of the config.
    """
    changed = {}
    if 'data_root' in propagated:
        changed['data_root'] = _apply_data_root(cfg, str(propagated['data_root']))
    if 'img_size' in propagated:
        changed['img_size'] = _apply_img_size(cfg, propagated['img_size'])
    return changed


def dataset_description(cfg: Config, file_cfg: Optional[Config] = None,
                        split: str = 'test_dataloader') -> dict:
    """What a split's dataset actually is: its type, folder and a name for result tables.

    The name is the config's ``dataset_name`` while the split reads what the config file says;
    when the folder was changed (``--data-root``, dotted options), the name comes from the
    folder (``/data/portraits`` -> ``portraits``; ``data/afhq/val/dog`` -> ``dog``), so a run on
    your own images is never filed under the config's inherited name.

    Args:
        cfg: The config the run used.
        file_cfg: The config file as written (no command-line options); ``None`` reads
            ``cfg.filename``.
        split: ``'test_dataloader'`` (default), ``'val_dataloader'`` or ``'train_dataloader'``.

    Returns:
        ``dict(dataset=name, dataset_type=..., data_root=...)`` (``data_root`` ``None`` for
        in-memory datasets).
    """
    dataset = (cfg.get(split) or {}).get('dataset') or {}
    while isinstance(dataset.get('dataset'), dict):
        dataset = dataset['dataset']
    data_root = dataset.get('data_root')
    if file_cfg is None and cfg.filename and osp.isfile(cfg.filename):
        file_cfg = Config.fromfile(cfg.filename)
    file_dataset = ((file_cfg or {}).get(split) or {}).get('dataset') or {}
    while isinstance(file_dataset.get('dataset'), dict):
        file_dataset = file_dataset['dataset']
    name = cfg.get('dataset_name')
    if data_root is not None and (name is None or data_root != file_dataset.get('data_root')
                                  or dataset.get('type') != file_dataset.get('type')):
        parts = [p for p in osp.normpath(osp.abspath(data_root)).split(osp.sep) if p]
        named = [p for p in parts if p.lower() not in _SPLIT_FOLDERS]
        name = named[-1] if named else (parts[-1] if parts else str(data_root))
    elif name is None:
        name = str(dataset.get('type'))
    return dict(dataset=name, dataset_type=dataset.get('type'),
                data_root=osp.abspath(data_root) if isinstance(data_root, str) else None)
