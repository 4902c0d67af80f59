"""Inference: build a trained model (:func:`init_model`) and colourise images (:func:`colorize`)."""
from .attention_map import ATTENTION_MAX_CELLS, AttentionMap, draw_marker, overlay_heatmap
from .image_inputs import ImageInput, line_art, load_rgb
from .inference import (MAX_INPUT_PIXELS, TRAINING_ONLY_MODULES, CheckpointMismatchError,
                        colorize, init_model, input_size, load_checkpoint_strictly,
                        training_size)
from .letterbox import Letterbox, native_input_size
from .model_zoo import MODEL_ZOO, resolve_model
from .pixel_batching import MAX_BATCH_PIXELS, batched, plan_batches
from .sketch_check import ColorSketchWarning, SketchCheck

__all__ = [
    'ATTENTION_MAX_CELLS', 'AttentionMap', 'CheckpointMismatchError', 'ColorSketchWarning',
    'ImageInput', 'Letterbox', 'MAX_BATCH_PIXELS', 'MAX_INPUT_PIXELS', 'MODEL_ZOO', 'SketchCheck',
    'TRAINING_ONLY_MODULES', 'batched', 'colorize', 'draw_marker', 'init_model', 'input_size',
    'line_art', 'load_checkpoint_strictly', 'load_rgb', 'native_input_size', 'overlay_heatmap',
    'plan_batches', 'resolve_model', 'training_size'
]
