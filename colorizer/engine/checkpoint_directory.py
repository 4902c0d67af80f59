"""The checkpoints of a work dir: the ``last_checkpoint`` pointer and what ``--resume`` uses.

Invariant (README, "Faults"): at every instant of a run, including while a checkpoint is
written, published or an old one deleted, the work dir holds at least one complete checkpoint
that ``--resume`` finds. It rests on three pieces:

- checkpoints and the pointer are written atomically
  (:class:`~colorizer.fileio.AtomicFile`);
- :class:`~colorizer.engine.hooks.CheckpointHook` deletes an old checkpoint only after the
  new one and the pointer to it are in place;
- :meth:`CheckpointDirectory.resume_source` does not trust the pointer blindly: when it is
  missing, empty, unreadable or names no complete file, the newest complete ``iter_N.pth`` /
  ``epoch_N.pth`` is used instead, with a warning.
"""
import logging
import os
import os.path as osp
import re
import zipfile
from typing import List, Optional, Tuple

from mmengine.logging import print_log

from colorizer.fileio import AtomicFile, atomic_write
from .checkpoint_errors import CheckpointError


class ResumeSourceError(CheckpointError):
    """``--resume``: the pointer names an unusable file and nothing else can be resumed."""

#: Names of the periodic (full-state) checkpoints of MMEngine's CheckpointHook.
PERIODIC_NAME = re.compile(r'^(epoch|iter)_(\d+)\.pth$')


class CheckpointDirectory:
    """A work dir seen as a store of resumable checkpoints.

    Args:
        work_dir (str): The run's work dir (where ``last_checkpoint`` lives).
        checkpoint_dir (str, optional): Where the checkpoints are, when the checkpoint hook's
            ``out_dir`` differs from the work dir; default: ``work_dir``.
    """

    POINTER = 'last_checkpoint'

    def __init__(self, work_dir: str, checkpoint_dir: Optional[str] = None):
        self.work_dir = work_dir
        self.checkpoint_dir = checkpoint_dir or work_dir

    @property
    def pointer_path(self) -> str:
        return osp.join(self.work_dir, self.POINTER)

    def write_pointer(self, checkpoint: str) -> None:
        """Publish ``checkpoint`` as the one to resume from (atomically)."""
        atomic_write(checkpoint.encode('utf-8'), self.pointer_path)

    def read_pointer(self) -> Tuple[Optional[str], str]:
        """The path the pointer names, or ``None`` and why not.

        Returns:
            tuple: ``(path, problem)``; ``problem`` is ``''`` when ``path`` is complete.
        """
        try:
            with open(self.pointer_path, 'rb') as f:
                text = f.read().decode('utf-8').strip()
        except FileNotFoundError:
            return None, f'there is no {self.pointer_path}'
        except (OSError, UnicodeDecodeError) as error:
            return None, f'{self.pointer_path} is unreadable ({error})'
        if not text:
            return None, f'{self.pointer_path} is empty'
        for path in (osp.join(self.checkpoint_dir, osp.basename(text)), text):
            # The same file name in this work dir first: a copied or moved work dir keeps the
            # pointer of the run that wrote it (an absolute path into the original folder,
            # or one relative to that run's cwd), and must resume from its own files.
            if is_complete(path):
                return path, ''
        if osp.isfile(text):
            return None, f'{self.pointer_path} names {text}, which is not a complete checkpoint'
        return None, f'{self.pointer_path} names {text}, which does not exist'

    def complete_checkpoints(self) -> List[str]:
        """Periodic checkpoints that are complete files, newest (highest step) first."""
        try:
            names = os.listdir(self.checkpoint_dir)
        except FileNotFoundError:
            return []
        found = []
        for name in names:
            match = PERIODIC_NAME.match(name)
            path = osp.join(self.checkpoint_dir, name)
            if match and is_complete(path):
                found.append((int(match.group(2)), osp.getmtime(path), path))
        return [path for _, _, path in sorted(found, reverse=True)]

    def resume_source(self, logger='current') -> Optional[str]:
        """The checkpoint ``--resume`` (without a path) continues from.

        The pointer's checkpoint when it is complete; else the newest complete periodic
        checkpoint, with a warning naming what was wrong with the pointer; ``None`` when there
        is no checkpoint at all (the run starts from scratch).

        Raises:
            ResumeSourceError: The pointer names a file (or holds text) that is not a complete
                checkpoint and the folder holds no complete periodic checkpoint either.
        """
        path, problem = self.read_pointer()
        if path is not None:
            return path
        candidates = self.complete_checkpoints()
        if not candidates and self._pointer_has_content():
            # The pointer says a checkpoint was saved: training from scratch would silently
            # throw that run away (and overwrite its files).
            raise ResumeSourceError(
                f'cannot resume: {problem}, and {self.checkpoint_dir} holds no complete '
                'iter_N.pth / epoch_N.pth to fall back on. Give the checkpoint with '
                f'--resume PATH, or remove {self.pointer_path} to start from scratch')
        if not candidates:
            print_log(f'nothing to resume: {problem} and no complete checkpoint in '
                      f'{self.checkpoint_dir}; starting from scratch', logger=logger,
                      level=logging.WARNING)
            return None
        print_log(f'{problem}: resuming from the newest complete checkpoint in '
                  f'{self.checkpoint_dir} instead, {candidates[0]}', logger=logger,
                  level=logging.WARNING)
        return candidates[0]

    def _pointer_has_content(self) -> bool:
        try:
            with open(self.pointer_path, 'rb') as f:
                return bool(f.read().strip())
        except OSError:
            return False

    def remove_leftovers(self, logger='current') -> List[str]:
        """Delete temporary files of killed writes (call at the start of a run, main process)."""
        removed = []
        for folder in sorted({self.work_dir, self.checkpoint_dir}):
            removed += AtomicFile.remove_leftovers(folder)
        if removed:
            print_log(f'removed {len(removed)} temporary file(s) left by an interrupted write: '
                      f'{", ".join(osp.basename(p) for p in removed)}', logger=logger,
                      level=logging.WARNING)
        return removed


def is_complete(path: str) -> bool:
    """Whether ``path`` is a whole torch checkpoint (its zip index and pickle are present).

    Cheap: reads the zip central directory at the end of the file, which a truncated file
    lacks; the tensors are not read.
    """
    if not osp.isfile(path):
        return False
    try:
        with zipfile.ZipFile(path) as archive:
            return any(name.endswith('/data.pkl') or name == 'data.pkl'
                       for name in archive.namelist())
    except (zipfile.BadZipFile, OSError):
        return False
