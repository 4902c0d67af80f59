"""Errors about checkpoints that the command-line tools report as one line.

Every message names the checkpoint and says what to do; none needs a traceback to be
understood. ``tools/*.py`` catch :class:`CheckpointError` (and
:class:`~colorizer.engine.checkpoint_safety.UnsafeCheckpointError`, which is one) and exit
with ``error: <message>``.
"""


class CheckpointError(RuntimeError):
    """Base class: a checkpoint cannot be used as asked; the message says why and what to do."""


class CheckpointMismatchError(CheckpointError):
    """The checkpoint's weights do not fit the model the config builds.

    Raised instead of leaving any model parameter or buffer at its random initialisation:
    the message names the missing and the unexpected keys.
    """


class IncompleteCheckpointError(CheckpointError):
    """``--resume`` was given a checkpoint without every training state it restores.

    Best checkpoints and published checkpoints keep the weights only: resuming from them would
    restart the optimisers (and schedulers) from scratch at a late iteration. The message says
    to use ``load_from`` to start a new run from the weights instead.
    """


class CheckpointSourceError(CheckpointError):
    """A checkpoint URL or scheme could not be fetched, or is refused by colorizer."""


def one_line(error: BaseException) -> str:
    """The error's message on one line (newlines of wrapped library messages folded)."""
    return ' '.join(str(error).split())
