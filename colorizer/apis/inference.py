"""Colourise sketches with a trained model: :func:`init_model`, then :func:`colorize`.

Example::

    from colorizer.apis import colorize, init_model

    model = init_model('configs/sga/sga_demo.py', 'work_dirs/sga_demo/iter_1500.pth')
    image = colorize(model, 'sketch.png', 'reference.jpg')             # (H, W, 3) uint8 RGB
    images = colorize(model, ['a.png', 'b.png'], 'reference.jpg')      # one reference for both
    image, attention = colorize(model, photo, reference, sketch_is_color=True,
                                return_attention=True)
    heat = attention.heatmap(x=120, y=80)                              # over the reference

Sizes: by default (``resolution='native'``) the model runs near the sketch's own size: the
generator is convolutional around its attention, so any multiple of its stride works, and a
1200x200 sketch keeps its detail instead of being squeezed into the 64 px training size. The
size is the sketch's, rescaled only to stay between the training size's pixel count and
``max_pixels``, rounded up to the stride. ``resolution='training'`` is the former behaviour
(every image letterboxed into the training size). Either way each image is letterboxed into the
input size (resized keeping its aspect ratio, then padded: sketches with white paper, references
by repeating their edge pixels), and the output is cut out of the padding and resized back to
the sketch's original size.

Memory is bounded by pixels: a forward pass takes consecutive pairs of one input size while their
input pixels stay within ``max_batch_pixels`` (:mod:`colorizer.apis.pixel_batching`), and the
attention maps asked for are kept pooled or as the rows of given points
(:class:`~colorizer.apis.attention_map.AttentionMap`), never as the full map of every pair.

A sketch that looks like a colour picture (:class:`~colorizer.apis.sketch_check.SketchCheck`)
without ``sketch_is_color=True`` raises a :class:`~colorizer.apis.sketch_check.ColorSketchWarning`
(a warning, not an automatic extraction: line art on tinted paper would otherwise be redrawn).
"""
import copy
import os.path as osp
import warnings
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.config import Config
from mmengine.utils import import_modules_from_strings

from colorizer.engine.checkpoint_errors import CheckpointMismatchError
from colorizer.engine.checkpoint_sources import ensure_safe_loaders
from colorizer.engine.model_state import (INFERENCE_UNUSED_MODULES, TRAINING_ONLY_MODULES,
                                          load_model_state)
from colorizer.models.data_preprocessors.colorization_data_preprocessor import to_uint8
from colorizer.postprocessing import RegionFill
from colorizer.registry import MODELS
from .attention_map import ATTENTION_MAX_CELLS, AttentionMap
from .image_inputs import ImageInput, describe, line_art, load_rgb
from .input_sizing import (MAX_INPUT_PIXELS, RESOLUTIONS, as_pair, input_size, model_size,
                           round_up, training_size)
from .letterbox import Letterbox
from .pixel_batching import MAX_BATCH_PIXELS, batched
from .model_zoo import MODEL_ZOO, resolve_model
from .sketch_check import ColorSketchWarning, SketchCheck

__all__ = ['init_model', 'colorize', 'CheckpointMismatchError', 'TRAINING_ONLY_MODULES',
           'MAX_INPUT_PIXELS', 'MAX_BATCH_PIXELS', 'RESOLUTIONS', 'input_size']



def init_model(config: Union[str, Config],
               checkpoint: Optional[str] = None,
               device: Union[str, torch.device] = 'cpu',
               img_size: Optional[Union[int, Tuple[int, int]]] = None) -> torch.nn.Module:
    """Build a colourisation model for inference.

    Args:
        config: Config file path, :class:`mmengine.Config` (not modified), or the name of a
            shipped model (:data:`~colorizer.apis.model_zoo.MODEL_ZOO`, e.g.
            ``'corr_sga_toon64'``): its config and checksum-verified checkpoint are used.
        checkpoint: Checkpoint to load: a local path, or a URL / ``open-mmlab://``-style
            name (downloaded, then loaded through the same allow-listed
            :func:`~colorizer.engine.checkpoint_safety.safe_load`). Loaded completely
            (:func:`~colorizer.engine.model_state.load_model_state`); checkpoints of
            multi-process runs (``generator.module.*`` keys) load too. ``None`` keeps the
            random initialisation (tests).
        device: Where the model runs, e.g. ``'cpu'`` or ``'cuda:0'``.
        img_size: Input size ``(h, w)`` or side length; default: the training size of the
            config's dataset (``img_size``, or the ``size`` of a resizing transform).

    Returns:
        The model in eval mode, with ``cfg`` (the config) and ``img_size`` (the (h, w) input
        size, a multiple of the generator's stride) set.

    Raises:
        FileNotFoundError: The config or checkpoint file is missing.
        KeyError: ``config`` is neither a file nor a shipped model's name.
        CheckpointMismatchError: The checkpoint holds weights of another architecture.
        UnsafeCheckpointError: The checkpoint references objects outside the allow-list.
        CheckpointSourceError: A checkpoint URL could not be downloaded.
    """
    if isinstance(config, str) and not osp.isfile(config) and config in MODEL_ZOO:
        entry = resolve_model(config)
        config, checkpoint = entry.config, checkpoint or entry.checkpoint
    cfg = _load_config(config)
    if cfg.get('custom_imports'):
        # Third-party plugins (e.g. an attention module) register themselves on import.
        import_modules_from_strings(**cfg.custom_imports)
    model_cfg = copy.deepcopy(cfg.model)
    for name in TRAINING_ONLY_MODULES:
        if name in model_cfg:
            model_cfg[name] = None
    model = MODELS.build(model_cfg)
    if checkpoint is not None:
        # inference never runs the discriminator: a published, generator-only checkpoint
        # (tools/model_converters/publish_model.py) loads too
        load_checkpoint_strictly(model, checkpoint,
                                 exempt=TRAINING_ONLY_MODULES + INFERENCE_UNUSED_MODULES)
    model.cfg = cfg
    model.img_size = round_up(as_pair(img_size) if img_size else training_size(cfg),
                               getattr(model.generator, 'size_divisor', 1))
    return model.to(device).eval()


def load_checkpoint_strictly(model: torch.nn.Module, checkpoint: str,
                             exempt: Tuple[str, ...] = TRAINING_ONLY_MODULES) -> None:
    """Load every weight of ``checkpoint`` (path, URL or scheme) into ``model``.

    Weights of the ``exempt`` modules (default :data:`TRAINING_ONLY_MODULES`) may be absent on
    either side: inference builds the model without them. :func:`init_model` also exempts
    :data:`INFERENCE_UNUSED_MODULES`.

    Raises:
        CheckpointMismatchError: Missing or unexpected keys, or mismatched shapes.
        UnsafeCheckpointError: The file references objects outside the allow-list.
    """
    from mmengine.runner.checkpoint import CheckpointLoader
    ensure_safe_loaders()
    state = CheckpointLoader.load_checkpoint(checkpoint, map_location='cpu')
    load_model_state(model, state, checkpoint, exempt)


def colorize(model: torch.nn.Module,
             sketch: Union[ImageInput, Sequence[ImageInput]],
             reference: Union[ImageInput, Sequence[ImageInput]],
             *,
             sketch_is_color: bool = False,
             multiply_lines: bool = False,
             return_attention: bool = False,
             batch_size: Optional[int] = None,
             resolution: Union[str, Tuple[int, int]] = 'native',
             max_pixels: int = MAX_INPUT_PIXELS,
             check_sketch: bool = True,
             max_batch_pixels: int = MAX_BATCH_PIXELS,
             attention_cells: Optional[int] = ATTENTION_MAX_CELLS,
             attention_points: Optional[Sequence[Tuple[float, float]]] = None,
             region_fill: Union[bool, dict, RegionFill] = False):
    """Colourise sketches after references.

    Each pair runs at :func:`input_size` (by default near the sketch's own size); both images
    are letterboxed into it (resized keeping their aspect ratio, then padded: sketches with
    white paper, references with their edge pixels); the output is cut out of the padding and
    resized back to the sketch's original size.

    Args:
        model: From :func:`init_model`.
        sketch: One image or a list. An image is a path, numpy array or PIL image (layouts
            and dtypes: :mod:`colorizer.apis.image_inputs`; RGBA is composited on white).
        reference: One image or a list; a list pairs with the sketches one to one, a single
            reference serves every sketch (and a single sketch every reference).
        sketch_is_color: The sketches are colour pictures: their line art is drawn with XDoG
            at the model's input size, as in training. Otherwise they are line art already
            (converted to gray).
        multiply_lines: Multiply the full-resolution line art over the output (as artists lay
            the line layer over the colours in "multiply" mode): lines stay crisp at any size.
        return_attention: Also return the cross-attention of each pair (an
            :class:`~colorizer.apis.attention_map.AttentionMap`), kept pooled to at most
            ``attention_cells`` cells per axis, or as the exact rows of ``attention_points``.
        batch_size: Optional cap on the pairs per forward pass; the pixel budget
            ``max_batch_pixels`` bounds a batch either way.
        resolution: ``'native'`` (default), ``'training'`` (the former behaviour: the
            training size for every image) or ``(H, W)``; see :func:`input_size`.
        max_pixels: Pixel budget of ``'native'``: larger sketches are run scaled down.
        check_sketch: Warn (:class:`~colorizer.apis.sketch_check.ColorSketchWarning`) when a
            sketch looks like a colour picture and ``sketch_is_color`` is False.
        max_batch_pixels: Input pixels (sum of H * W) per forward pass: consecutive pairs of
            one input size share a pass within it; a pair above it runs alone
            (:func:`~colorizer.apis.pixel_batching.batched`). Images are loaded pass by pass.
        attention_cells: Cells kept per axis of each attention map (``None``: the full
            ``(N, N')`` map, 1 GiB for a 1024² input).
        attention_points: (x, y) points of the sketches: keep only their attention rows, exact
            (``heatmap`` at another point then raises ``ValueError``).
        region_fill: Give every closed region of the full-resolution line art one colour
            (the Lab median of the output there; :class:`~colorizer.postprocessing.RegionFill`,
            applied before ``multiply_lines``). ``True`` uses the defaults, a dict or a
            ``RegionFill`` sets its arguments.

    Returns:
        ``(H, W, 3)`` uint8 RGB of the sketch's original size, or a list of them when a list
        was given. With ``return_attention``: ``(image, attention)``, or
        ``(images, attentions)`` for lists.

    Raises:
        ImageReadError: An unreadable file (named in the message).
        ValueError: An unsupported array, or lists of different lengths.
        TypeError: An input that is no path, array or PIL image.
    """
    sketches, references, single = _pairwise(sketch, reference)
    model_size(model)
    filler = _region_filler(region_fill)
    # prepared lazily: only the pass being filled holds its images
    prepared = (_prepare(model, sketches[i], references[i], sketch_is_color, multiply_lines,
                         None if single else i, resolution, max_pixels, check_sketch,
                         filler is not None)
                for i in range(len(sketches)))
    images, maps = [], []
    for group in batched(prepared, lambda pair: pair.sketch_box.dst_size, max_batch_pixels,
                         batch_size):
        outputs, attention = _forward(model, group, return_attention)
        images.extend(_finish(pair, out, filler) for pair, out in zip(group, outputs))
        if return_attention:
            maps.extend(AttentionMap.from_tensor(weights, pair.sketch_box, pair.reference_box,
                                                 attention_cells, attention_points)
                        for pair, weights in zip(group, attention))
        del attention  # the full maps of this pass: only the kept forms outlive it
    result = images[0] if single else images
    if return_attention:
        return result, (maps[0] if single else maps)
    return result


@dataclass
class _Pair:
    """One sketch / reference pair at the model's input size, with the way back."""

    sketch_input: np.ndarray  # (H, W) uint8 line art
    reference_input: np.ndarray  # (H, W, 3) uint8 RGB
    sketch_box: Letterbox
    reference_box: Letterbox
    lines: Optional[np.ndarray]  # (h, w) uint8 full-resolution line art (multiply, fill)
    multiply: bool = False


def _prepare(model: torch.nn.Module, sketch: ImageInput, reference: ImageInput,
             sketch_is_color: bool, multiply_lines: bool, index: Optional[int],
             resolution, max_pixels: int, check_sketch: bool,
             keep_lines: bool = False) -> _Pair:
    suffix = '' if index is None else f' {index}'
    rgb = load_rgb(sketch, 'sketch' + suffix)
    if check_sketch and not sketch_is_color:
        check = SketchCheck.measure(rgb)
        if check.looks_like_color_picture:
            warnings.warn(check.message(describe(sketch, 'sketch' + suffix)),
                          ColorSketchWarning, stacklevel=3)
    size = input_size(model, rgb.shape[:2], resolution, max_pixels)
    box = Letterbox.fit(rgb.shape[:2], size)
    if sketch_is_color:
        # XDoG at the input size: training drew its lines at that size, so they are as thick.
        sketch_input = line_art(box.apply(rgb, 255), True)
        lines = line_art(rgb, True) if multiply_lines or keep_lines else None
    else:
        lines = line_art(rgb, False)
        sketch_input = box.apply(lines, 255)
    ref = load_rgb(reference, 'reference' + suffix)
    ref_box = Letterbox.fit(ref.shape[:2], size)
    return _Pair(sketch_input, ref_box.apply(ref, None), box, ref_box,
                 lines if multiply_lines or keep_lines else None, multiply_lines)


def _forward(model: torch.nn.Module, pairs: List[_Pair],
             return_attention: bool) -> Tuple[np.ndarray, Optional[torch.Tensor]]:
    """Run the generator on a batch: (B, H, W, 3) uint8 outputs and the (B, N, N') attention
    (on the model's device)."""
    data = dict(inputs=dict(
        sketch=[torch.from_numpy(pair.sketch_input)[None] for pair in pairs],
        reference=[torch.from_numpy(pair.reference_input).permute(2, 0, 1) for pair in pairs]))
    with torch.no_grad():
        # the model's own preprocessor: same normalisation, device and memory format as training
        inputs = model.data_preprocessor(data, False)['inputs']
        result = model.generator(inputs['sketch'], inputs['reference'],
                                 return_attention=return_attention)
    attention = None
    if return_attention:
        result, attention = result
        if attention is None:
            raise ValueError(f'the fusion module {type(model.generator.attention).__name__} '
                             'returns no attention map')
    return to_uint8(result).permute(0, 2, 3, 1).cpu().numpy(), attention


def _region_filler(region_fill):
    """A :class:`RegionFill` from ``colorize``'s ``region_fill`` argument, or None."""
    if region_fill is False or region_fill is None:
        return None
    if region_fill is True:
        return RegionFill()
    if isinstance(region_fill, dict):
        return RegionFill(**region_fill)
    if isinstance(region_fill, RegionFill):
        return region_fill
    raise TypeError(f'region_fill must be a bool, a dict of RegionFill arguments or a '
                    f'RegionFill, got {type(region_fill).__name__}')


def _finish(pair: _Pair, output: np.ndarray, filler=None) -> np.ndarray:
    image = pair.sketch_box.invert(output)
    if filler is not None:
        image = filler(image, pair.lines)
    if pair.multiply:
        # multiply blend in integers: out * lines / 255, rounded
        image = ((image.astype(np.uint32) * pair.lines[..., None] + 127) // 255).astype(np.uint8)
    return image


def _pairwise(sketch, reference) -> Tuple[list, list, bool]:
    """Lists of equal length from single images or lists; ``single`` when neither was a list."""
    sketch_list = isinstance(sketch, (list, tuple))
    reference_list = isinstance(reference, (list, tuple))
    sketches = list(sketch) if sketch_list else [sketch]
    references = list(reference) if reference_list else [reference]
    if sketch_list and reference_list and len(sketches) != len(references):
        raise ValueError(f'{len(sketches)} sketches but {len(references)} references: lists '
                         'pair one to one (or pass a single reference for all sketches)')
    if not sketches or not references:
        raise ValueError('no sketch or no reference given')
    count = max(len(sketches), len(references))
    sketches = sketches * count if len(sketches) == 1 else sketches
    references = references * count if len(references) == 1 else references
    return sketches, references, not (sketch_list or reference_list)


def _load_config(config: Union[str, Config]) -> Config:
    if isinstance(config, Config):
        return copy.deepcopy(config)
    if not osp.isfile(config):
        raise FileNotFoundError(f'config file {config} does not exist')
    return Config.fromfile(config)


