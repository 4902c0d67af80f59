"""Colourise sketches with a trained checkpoint: one file, a folder, or the pairs of a CSV.

Pairing:

- ``--sketch FILE --reference FILE``: one pair;
- ``--sketch DIR --reference FILE``: the one reference for every sketch;
- ``--sketch FILE --reference DIR``: the one sketch with every reference;
- ``--sketch DIR --reference DIR``: files of the same name (extension aside) in both folders;
- ``--pairs pairs.csv``: rows ``sketch,reference`` (a header row of these names is optional);
  relative paths are resolved against ``--sketch`` / ``--reference`` when they are folders,
  else against the CSV's folder.

Outputs in ``--out``: ``<sketch>.png`` (``<sketch>__<reference>.png`` when a sketch has several
references), ``grids/`` (sketch | reference | output, with ``--grid``) and ``attention/`` (with
``--attention-at x,y``: the sketch with a marker at (x, y) | the reference under a heat map of
where that point takes its colour from). An unreadable file does not stop the batch: the failed
pairs are listed at the end and the exit status is 1.

Memory: a forward pass takes consecutive pairs of one model-input size while their pixels stay
within ``--max-batch-pixels`` (default one 1024x1024 input); a larger pair runs alone, and images
are read as their batch fills. ``--attention-at`` keeps only the attention row of that point.

Examples::

    python tools/colorize.py --model corr_sga_toon64 --sketch drawing.png \
        --reference colours.png --out out/ --region-fill --grid
    python tools/colorize.py --config configs/sga/sga_demo.py \
        --checkpoint work_dirs/sga_demo/iter_1500.pth --sketch sketches/ --reference ref.png \
        --out out/ --grid --multiply-lines
    python tools/colorize.py --config C --checkpoint K --sketch photos/ --reference refs/ \
        --out out/ --extract-sketch --attention-at 32,20
"""
import argparse
import csv
import os.path as osp
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

# Before torch is imported: libgomp reads its thread settings when it loads (see the module).
sys.path.insert(0, osp.dirname(osp.abspath(__file__)))  # tools/thread_setup.py
from thread_setup import THREAD_POLICY  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from mmengine.utils import ProgressBar  # noqa: E402

from colorizer.apis import (MAX_BATCH_PIXELS, MODEL_ZOO, Letterbox, SketchCheck,  # noqa: E402
                            batched, colorize, draw_marker, init_model, input_size, line_art,
                            load_rgb, overlay_heatmap)
from colorizer.datasets.image_io import IMAGE_EXTENSIONS, ImageReadError  # noqa: E402
from colorizer.engine.checkpoint_errors import CheckpointError  # noqa: E402
from colorizer.visualization import header_row, save_image  # noqa: E402

_GAP = 4  # white pixels between the panels of a grid


@dataclass
class Pair:
    """One job: a sketch, its reference and the output's file stem."""

    sketch: str
    reference: str
    name: str = ''


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--config', help='config file of the checkpoint')
    parser.add_argument('--checkpoint', help='checkpoint file')
    parser.add_argument('--model', help='a shipped model by name instead of --config / '
                        f'--checkpoint: {", ".join(sorted(MODEL_ZOO))}')
    parser.add_argument('--sketch', help='sketch file or folder')
    parser.add_argument('--reference', help='reference file or folder')
    parser.add_argument('--out', required=True, help='output folder')
    parser.add_argument('--pairs', help='CSV of sketch,reference rows')
    parser.add_argument('--extract-sketch', action='store_true',
                        help='the sketches are colour images: draw their lines with XDoG')
    parser.add_argument('--no-sketch-check', action='store_true',
                        help='do not warn about sketches that look like colour pictures (by '
                        'default each such sketch is named on stderr; see --extract-sketch)')
    parser.add_argument('--grid', action='store_true',
                        help='also write sketch | reference | output grids to OUT/grids')
    parser.add_argument('--multiply-lines', action='store_true',
                        help='multiply the full-resolution line art over the output')
    parser.add_argument('--region-fill', action='store_true',
                        help='give every closed region of the line art one colour (the median '
                        'of the output there; gaps of 1-2 px are closed, regions over 30%% of '
                        'the image keep the per-pixel output unless it is already uniform)')
    parser.add_argument('--attention-at', metavar='X,Y', type=_point,
                        help='write where the sketch pixel (X, Y) takes its colour from, per '
                        'pair, to OUT/attention')
    parser.add_argument('--device', default='cpu', help="e.g. 'cpu' or 'cuda:0'")
    parser.add_argument('--max-batch-pixels', type=_positive_int, default=MAX_BATCH_PIXELS,
                        help='model-input pixels (sum of H x W) per forward pass, which bound '
                        'its memory (default %(default)s = one 1024x1024 input); consecutive '
                        'pairs of one input size share a pass, a larger pair runs alone')
    parser.add_argument('--batch-size', type=_positive_int, default=None,
                        help='also cap the pairs per forward pass (default: the pixel budget '
                        'alone decides)')
    args = parser.parse_args(argv)
    if args.pairs is None and (args.sketch is None or args.reference is None):
        parser.error('give --sketch and --reference, or --pairs')
    if (args.model is None) == (args.config is None or args.checkpoint is None):
        parser.error('give --model NAME, or --config and --checkpoint')
    return args


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f'expected a positive integer, got {text!r}')
    return value


def _point(text: str) -> Tuple[float, float]:
    try:
        x, y = (float(v) for v in text.split(','))
    except ValueError as err:
        raise argparse.ArgumentTypeError(f'expected X,Y pixel coordinates, got {text!r}') from err
    return x, y


# ---------------------------------------------------------------------------------- pairing
def list_images(folder: str) -> List[str]:
    """Image files (by extension) directly in ``folder``, sorted by name."""
    return sorted(str(p) for p in Path(folder).iterdir()
                  if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)


def make_pairs(sketch: Optional[str], reference: Optional[str],
               pairs_csv: Optional[str]) -> Tuple[List[Pair], List[Tuple[str, str]]]:
    """The jobs, and the failures found while pairing (sketch, reason).

    Raises:
        FileNotFoundError: A given file or folder does not exist.
    """
    for path, what in ((sketch, '--sketch'), (reference, '--reference'), (pairs_csv, '--pairs')):
        if path is not None and not osp.exists(path):
            raise FileNotFoundError(f'{what} {path} does not exist')
    if pairs_csv is not None:
        pairs, failures = read_pairs_csv(pairs_csv, sketch, reference), []
    elif osp.isdir(sketch) and osp.isdir(reference):
        pairs, failures = _match_by_name(list_images(sketch), list_images(reference))
    else:
        sketches = list_images(sketch) if osp.isdir(sketch) else [sketch]
        references = list_images(reference) if osp.isdir(reference) else [reference]
        pairs = [Pair(s, r) for s in sketches for r in references]
        failures = []
    return _name_outputs(pairs), failures


def read_pairs_csv(path: str, sketch_root: Optional[str],
                   reference_root: Optional[str]) -> List[Pair]:
    """Rows ``sketch,reference`` of a CSV, paths resolved as the module docstring says."""
    base = osp.dirname(osp.abspath(path))
    sketch_root = sketch_root if sketch_root and osp.isdir(sketch_root) else base
    reference_root = reference_root if reference_root and osp.isdir(reference_root) else base
    pairs = []
    with open(path, newline='') as f:
        for number, row in enumerate(csv.reader(f), start=1):
            row = [cell.strip() for cell in row]
            if not any(row) or (number == 1 and row[:2] == ['sketch', 'reference']):
                continue
            if len(row) < 2 or not row[0] or not row[1]:
                raise ValueError(f'{path}, line {number}: expected "sketch,reference", '
                                 f'got {row}')
            pairs.append(Pair(osp.join(sketch_root, row[0]), osp.join(reference_root, row[1])))
    return pairs


def _match_by_name(sketches: List[str],
                   references: List[str]) -> Tuple[List[Pair], List[Tuple[str, str]]]:
    by_stem = {Path(r).stem: r for r in references}
    pairs, failures = [], []
    for sketch in sketches:
        reference = by_stem.get(Path(sketch).stem)
        if reference is None:
            failures.append((sketch, f'no reference named {Path(sketch).stem}.* in the '
                             'reference folder'))
        else:
            pairs.append(Pair(sketch, reference))
    return pairs, failures


def _name_outputs(pairs: List[Pair]) -> List[Pair]:
    """``<sketch stem>``, or ``<sketch stem>__<reference stem>`` when a stem repeats."""
    stems = [Path(p.sketch).stem for p in pairs]
    for pair, stem in zip(pairs, stems):
        pair.name = stem if stems.count(stem) == 1 else f'{stem}__{Path(pair.reference).stem}'
    return pairs


# ---------------------------------------------------------------------------------- running
class ImageCache:
    """Loads each file once per batch (a shared reference is read once, not per sketch)."""

    def __init__(self):
        self._images: Dict[str, object] = {}

    def clear(self) -> None:
        """Forget every image (after a batch: memory is bounded by one batch)."""
        self._images.clear()

    def get(self, path: str, what: str) -> np.ndarray:
        if path not in self._images:
            try:
                self._images[path] = load_rgb(path, what)
            except (ImageReadError, ValueError) as err:
                self._images[path] = err
        image = self._images[path]
        if isinstance(image, Exception):
            raise image
        return image


def warn_color_sketch(path: str, sketch: np.ndarray, args, checked: set) -> None:
    """Name a sketch that looks like a colour picture on stderr, once per file (the API's
    ColorSketchWarning would name an array, not the file)."""
    if args.extract_sketch or args.no_sketch_check or path in checked:
        return
    checked.add(path)
    check = SketchCheck.measure(sketch)
    if check.looks_like_color_picture:
        print(f'warning: {check.message(f"sketch {path!r}", "--extract-sketch")} '
              '(--no-sketch-check silences this)', file=sys.stderr)


def load_pair(pair: Pair, args, cache: ImageCache, failures: List[Tuple[str, str]],
              checked: set) -> Optional[Tuple[Pair, np.ndarray, np.ndarray]]:
    """``(pair, sketch, reference)`` images, or ``None`` (the failure is listed)."""
    try:
        loaded = (pair, cache.get(pair.sketch, 'sketch'), cache.get(pair.reference, 'reference'))
    except (ImageReadError, ValueError) as err:
        failures.append((pair.sketch, str(err)))
        return None
    warn_color_sketch(pair.sketch, loaded[1], args, checked)
    return loaded


def run_loaded(model, loaded: List[tuple], args, failures: List[Tuple[str, str]]) -> int:
    """Colourise one batch of loaded pairs and write its outputs; returns how many were
    written."""
    try:
        results = _colorize_loaded(model, loaded, args)
    except (ValueError, RuntimeError) as err:
        if len(loaded) == 1:
            failures.append((loaded[0][0].sketch, f'{type(err).__name__}: {err}'))
            return 0
        # One pair spoiled the batch: go through it pair by pair, so the others are written
        # and the failure is listed under its own file.
        return sum(run_loaded(model, [item], args, failures) for item in loaded)
    written = 0
    for (pair, sketch, reference), (output, attention) in zip(loaded, results):
        try:
            write_outputs(args, pair, sketch, reference, output, attention)
            written += 1
        except (OSError, ValueError) as err:
            failures.append((pair.sketch, str(err)))
    return written


def _colorize_loaded(model, loaded, args) -> List[tuple]:
    """``(output, attention map or None)`` for each loaded ``(pair, sketch, reference)``."""
    points = None if args.attention_at is None else [args.attention_at]
    result = colorize(model, [s for _, s, _ in loaded], [r for _, _, r in loaded],
                      sketch_is_color=args.extract_sketch, multiply_lines=args.multiply_lines,
                      region_fill=args.region_fill,
                      return_attention=points is not None, check_sketch=False,
                      batch_size=args.batch_size, max_batch_pixels=args.max_batch_pixels,
                      attention_points=points)  # the one row --attention-at reads, exact
    outputs, maps = result if args.attention_at is not None else (result, [None] * len(loaded))
    return list(zip(outputs, maps))


def write_outputs(args, pair: Pair, sketch: np.ndarray, reference: np.ndarray,
                  output: np.ndarray, attention) -> None:
    """The colourisation and, as asked, its grid and attention view."""
    out = Path(args.out)
    save_image(str(out / f'{pair.name}.png'), output)
    if args.extract_sketch:  # show the lines that were coloured, not the source picture
        sketch = cv2.cvtColor(line_art(sketch, True), cv2.COLOR_GRAY2RGB)
    if args.grid:
        save_image(str(out / 'grids' / f'{pair.name}.png'),
                   side_by_side([sketch, reference, output], sketch.shape[0],
                                headers=('sketch', 'reference', 'output')))
    if attention is not None:
        x, y = args.attention_at
        heat = overlay_heatmap(reference, attention.heatmap(x, y))
        save_image(str(out / 'attention' / f'{pair.name}.png'),
                   side_by_side([draw_marker(sketch, x, y), heat], sketch.shape[0]))


def side_by_side(images: Sequence[np.ndarray], height: int,
                 headers: Sequence[str] = ()) -> np.ndarray:
    """RGB images scaled to one height (aspect kept) in a row, on white; ``headers``: a title
    above each panel."""
    panels = []
    for image in images:
        width = max(1, round(image.shape[1] * height / image.shape[0]))
        panels.append(Letterbox.fit(image.shape[:2], (height, width)).apply(image, 255))
    gap = np.full((height, _GAP, 3), 255, np.uint8)
    row = [panels[0]]
    for panel in panels[1:]:
        row += [gap, panel]
    image = np.concatenate(row, axis=1)
    if headers:
        titles = [header_row([text], panel.shape[1], 0) for text, panel in zip(headers, panels)]
        strip_h = max(t.shape[0] for t in titles)
        strip = [np.pad(t, ((strip_h - t.shape[0], 0), (0, 0), (0, 0)), constant_values=255)
                 for t in titles]
        strip_row = [strip[0]]
        for title in strip[1:]:
            strip_row += [np.full((strip_h, _GAP, 3), 255, np.uint8), title]
        strip_image = np.concatenate(strip_row, axis=1)
        strip_image = np.pad(strip_image, ((0, 0), (0, image.shape[1] - strip_image.shape[1]),
                                           (0, 0)), constant_values=255)
        image = np.concatenate([strip_image, image], axis=0)
    return cv2.copyMakeBorder(image, _GAP, _GAP, _GAP, _GAP,
                              cv2.BORDER_CONSTANT, value=(255, 255, 255))


def colorize_all(model, pairs: List[Pair], args,
                 failures: List[Tuple[str, str]]) -> int:
    """Every pair, in batches within ``--max-batch-pixels``, with a progress bar; returns how
    many were written. Images are read as their batch fills, so memory holds one batch."""
    progress = ProgressBar(len(pairs))
    written, checked, cache = 0, set(), ImageCache()

    def loaded_pairs():
        for pair in pairs:
            loaded = load_pair(pair, args, cache, failures, checked)
            if loaded is None:
                progress.update()
            else:
                yield loaded

    def size_of(loaded) -> Tuple[int, int]:  # the input size colorize() will choose
        return input_size(model, loaded[1].shape[:2])

    for batch in batched(loaded_pairs(), size_of, args.max_batch_pixels, args.batch_size):
        cache.clear()  # the next pair, already read, is held by the batching
        written += run_loaded(model, batch, args, failures)
        for _ in batch:
            progress.update()
    sys.stdout.write('\n')
    return written


def main(argv=None) -> int:
    args = parse_args(argv)
    print(THREAD_POLICY.describe(), file=sys.stderr)
    try:
        pairs, failures = make_pairs(args.sketch, args.reference, args.pairs)
        if args.model is not None:
            model = init_model(args.model, device=args.device)
        else:
            model = init_model(args.config, args.checkpoint, device=args.device)
    except (FileNotFoundError, KeyError, ValueError, CheckpointError) as err:
        # CheckpointMismatchError, UnsafeCheckpointError, CheckpointSourceError, ...
        sys.exit(f'error: {err}')
    written = colorize_all(model, pairs, args, failures) if pairs else 0
    print(f'{written} colourisation(s) written to {args.out}')
    if failures:
        print(f'{len(failures)} failed:', file=sys.stderr)
        for path, reason in failures:
            print(f'  {path}: {reason}', file=sys.stderr)
        return 1
    if not pairs:
        print('error: no sketch / reference pairs found', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
