from .checkpoint_hook import CheckpointHook
from .correspondence_hook import CorrespondenceHook
from .gradient_cosine_hook import GradientCosineHook
from .safe_checkpoint_hook import SafeCheckpointHook
from .sample_grid_hook import SampleGridHook
from .save_images_hook import SaveColorizationsHook

__all__ = ['CheckpointHook', 'CorrespondenceHook', 'GradientCosineHook', 'SafeCheckpointHook',
           'SampleGridHook', 'SaveColorizationsHook']
