"""Inference: build a trained model (:func:`init_model`) and colourise images (:func:`colorize`)."""
from .attention_map import AttentionMap, draw_marker, overlay_heatmap
from .image_inputs import ImageInput, line_art, load_rgb
from .inference import (TRAINING_ONLY_MODULES, CheckpointMismatchError, colorize, init_model,
                        load_checkpoint_strictly, training_size)
from .letterbox import Letterbox

__all__ = [
    'AttentionMap', 'CheckpointMismatchError', 'ImageInput', 'Letterbox', 'TRAINING_ONLY_MODULES',
    'colorize', 'draw_marker', 'init_model', 'line_art', 'load_checkpoint_strictly', 'load_rgb',
    'overlay_heatmap', 'training_size'
]
