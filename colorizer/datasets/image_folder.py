"""Finding the images of a dataset folder."""
import os
from pathlib import Path
from typing import List, Sequence, Union

from .image_io import IMAGE_EXTENSIONS

__all__ = ['scan_image_folder']


def scan_image_folder(root: Union[str, Path],
                      extensions: Sequence[str] = IMAGE_EXTENSIONS) -> List[str]:
    """List the image files under ``root``, recursively.

    Hidden files and folders (names starting with ``.``) are ignored, so ``.ipynb_checkpoints``
    and macOS ``._`` resource forks do not end up in a training set.

    Args:
        root: Folder to scan.
        extensions: Accepted suffixes, lower case with the dot; matching ignores case.

    Returns:
        Paths relative to ``root`` with ``/`` separators, sorted, so the order (and hence seeded
        pairings) is the same on every machine.

    Raises:
        FileNotFoundError: ``root`` does not exist or is not a folder.
        ValueError: ``root`` holds no image files.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f'image folder not found: {str(root)!r} '
                                f'(absolute: {str(root.absolute())!r})')
    suffixes = tuple(ext.lower() for ext in extensions)
    found = []
    for folder, dirs, files in os.walk(root, followlinks=True):
        dirs[:] = [d for d in dirs if not d.startswith('.')]
        rel_folder = Path(folder).relative_to(root)
        found.extend((rel_folder / name).as_posix() for name in files
                     if not name.startswith('.') and name.lower().endswith(suffixes))
    if not found:
        raise ValueError(f'no image files ({", ".join(suffixes)}) found under {str(root)!r}')
    return sorted(found)
