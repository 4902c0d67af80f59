"""Converting a folder of flat-coloured SVG clip art into the real line-art set.

Layout of a converted folder (``LineArtDataset`` reads it)::

    DST/color/NAME.png     the drawing as drawn, RGB, white paper
    DST/line/NAME.png      the line art alone, grey (255 paper, 0 ink), antialiased
    DST/labels/NAME.png    16-bit region labels: 0 paper, 1... fill shapes, 65535 ink
    DST/meta/NAME.json     source, licence, creator, region colours, gate measurements
    DST/log.jsonl          one line per source file: accepted / rejected and why
    DST/summary.json       counts per outcome and reason, time, thresholds

``NAME`` is the source's path below the source folder with ``/`` as ``__``. A drawing's meta
file is written last, so an interrupted run leaves no half-finished drawing that a resumed run
would take as done; a resumed run skips every name in the log.
"""
import hashlib
import json
import os
import os.path as osp
import time
from collections import Counter
from multiprocessing import Pool
from typing import Dict, Iterable, List, Optional, Tuple

import cv2
import numpy as np

from colorizer.fileio import strict_dumps
from .line_art_gates import STRICT_GATES, GateThresholds, failed_gates, measure_drawing
from .svg_line_art import INK_LABEL, SvgRejected, parse_drawing
from .svg_rendering import decode_labels, render_svg

__all__ = ['convert_svg', 'scan_svgs', 'convert_folder', 'DEFAULT_LICENSE']

#: The licence of Debian's openclipart-svg (its copyright file), for drawings whose own metadata
#: names none.
DEFAULT_LICENSE = 'Creative Commons Public Domain Dedication (Debian openclipart-svg copyright)'
FOLDERS = ('color', 'line', 'labels', 'meta')


def _hex(rgb) -> str:
    return '#%02x%02x%02x' % tuple(int(v) for v in rgb)


def _write_png(path: str, image: np.ndarray) -> None:
    if image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    tmp = path + '.tmp.png'
    if not cv2.imwrite(tmp, image):
        raise OSError(f'could not write {tmp}')
    os.replace(tmp, path)


def convert_svg(svg: bytes, size: int = 256, spot_blacks: bool = True,
                thresholds: GateThresholds = GateThresholds(),
                transparent: str = 'drop') -> dict:
    """Render one drawing and measure it against the gates (writes nothing).

    Args:
        svg: The SVG file's bytes.
        size: Side of the square renderings in px.
        spot_blacks: Keep dark fills as ink (see :func:`~.svg_line_art.parse_drawing`).
        thresholds: The gates.
        transparent: ``'drop'`` partly transparent paints from line art and labels, or
            ``'reject'`` the drawing (see :func:`~.svg_line_art.parse_drawing`).

    Returns:
        dict: ``status`` (``'accepted'``, ``'relaxed'``: fails only strict gates, or
        ``'rejected'``) and ``reason`` (first failed gate or XML rejection, ``None`` if
        accepted); unless rejected before rendering also ``stats`` and ``failed``; unless
        rejected also ``color`` (H, W, 3), ``line`` (H, W), ``labels`` (H, W) uint16 arrays
        and ``meta`` (regions, colours, creator, licence).
    """
    try:
        drawing = parse_drawing(svg, size, spot_blacks, transparent=transparent)
        color = render_svg(drawing.color_svg)[..., :3]
        line = render_svg(drawing.line_svg)[..., 0]  # ink is black, paper white: any channel
        labels = decode_labels(render_svg(drawing.label_svg, crisp=True, background=None),
                               set(drawing.regions))
    except SvgRejected as rejection:
        return dict(status='rejected', reason=rejection.reason, detail=str(rejection))
    present, counts = np.unique(labels, return_counts=True)
    colors, gradient, regions = {}, {}, []
    for label, count in zip(present.tolist(), counts.tolist()):
        if label in (0, INK_LABEL):
            continue
        region = drawing.regions[label]
        rgb = region.color
        if rgb is None:  # gradient: its rendered median colour
            rgb = tuple(int(v) for v in np.median(color[labels == label], axis=0))
        colors[label], gradient[label] = rgb, region.gradient
        regions.append(dict(label=label, color=_hex(rgb), kind=region.kind,
                            gradient=region.gradient, pixels=count))
    stats = measure_drawing(line, labels, colors, gradient, thresholds)
    failed = failed_gates(stats, thresholds)
    hard = [reason for reason in failed if reason not in STRICT_GATES]
    status = 'rejected' if hard else 'relaxed' if failed else 'accepted'
    result = dict(status=status, reason=failed[0] if failed else None, failed=failed,
                  stats=stats)
    if status != 'rejected':
        palette = sorted({r['color'] for r in regions})
        for region in regions:
            region['color_index'] = palette.index(region['color'])
        result.update(color=color, line=line, labels=labels,
                      meta=dict(creator=drawing.creator, license=drawing.license or
                                DEFAULT_LICENSE, size=size, strict=not failed, failed=failed,
                                dropped_transparent=drawing.dropped,
                                stats=stats, colors=palette, regions=regions))
    return result


def scan_svgs(src: str, limit: Optional[int] = None
              ) -> Tuple[List[Tuple[str, str]], List[str]]:
    """The SVG files below ``src``, sorted, without byte-identical copies.

    Args:
        src: Source folder.
        limit: Keep only the first ``limit`` distinct files, and only the copies of those.

    Returns:
        ``(files, duplicates)``: ``files`` as ``(name, path)`` with ``name`` the path below
        ``src`` without ``.svg``, ``/`` written ``__``; ``duplicates`` the names of later copies
        of a file listed in ``files``.

    Raises:
        FileNotFoundError: ``src`` is not a folder or holds no ``.svg`` file.
    """
    if not osp.isdir(src):
        raise FileNotFoundError(f'SVG folder not found: {src}')
    paths = sorted(osp.join(d, f) for d, _, files in os.walk(src) for f in files
                   if f.lower().endswith('.svg'))
    if not paths:
        raise FileNotFoundError(f'no .svg file below {src}')
    first_of = {}  # digest -> index in files of its first copy
    files, duplicates = [], []
    for path in paths:
        name = osp.relpath(path, src)[:-4].replace(os.sep, '__')
        with open(path, 'rb') as f:
            digest = hashlib.sha1(f.read()).hexdigest()
        if digest in first_of:
            duplicates.append((name, first_of[digest]))
        else:
            first_of[digest] = len(files)
            files.append((name, path))
    if limit is not None:
        files = files[:limit]
    return files, [name for name, first in duplicates if first < len(files)]


def _work(job) -> dict:
    """Convert and write one drawing (runs in a worker process)."""
    name, path, src, dst, size, spot_blacks, thresholds, transparent = job
    with open(path, 'rb') as f:
        svg = f.read()
    result = convert_svg(svg, size, spot_blacks, thresholds, transparent)
    record = dict(name=name, status=result['status'], reason=result['reason'])
    if 'stats' in result:
        record['stats'] = result['stats']
    if result['status'] != 'rejected':
        _write_png(osp.join(dst, 'color', name + '.png'), result['color'])
        _write_png(osp.join(dst, 'line', name + '.png'), result['line'])
        _write_png(osp.join(dst, 'labels', name + '.png'), result['labels'])
        meta = dict(name=name, source=osp.relpath(path, src),
                    sha1=hashlib.sha1(svg).hexdigest(), **result['meta'])
        tmp = osp.join(dst, 'meta', name + '.json.tmp')
        with open(tmp, 'w') as f:
            f.write(strict_dumps(meta, indent=1))
        os.replace(tmp, osp.join(dst, 'meta', name + '.json'))
    return record


def _read_log(path: str) -> Dict[str, dict]:
    done = {}
    if osp.exists(path):
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line:
                    record = json.loads(line)
                    done[record['name']] = record
    return done


def convert_folder(src: str, dst: str, size: int = 256, workers: int = 1,
                   spot_blacks: bool = True, thresholds: GateThresholds = GateThresholds(),
                   limit: Optional[int] = None, progress: bool = True,
                   transparent: str = 'drop') -> dict:
    """Convert every SVG below ``src`` into ``dst`` (layout in the module docstring).

    Resumable: names already in ``dst/log.jsonl`` are skipped. Deterministic: the outputs of a
    drawing depend only on its file and the arguments, not on the number of workers.

    Args:
        src: Source folder (searched recursively).
        dst: Output folder (created).
        size: Side of the square renderings in px.
        workers: Worker processes (1: convert in this process).
        spot_blacks: Keep dark fills as ink.
        thresholds: The gates.
        limit: Convert only the first ``limit`` distinct files (sorted by name).
        progress: Show a progress bar (tqdm).
        transparent: ``'drop'`` or ``'reject'`` partly transparent paints (:func:`convert_svg`).

    Returns:
        The summary written to ``dst/summary.json``: counts per status and per rejection
        reason (over all files in the log, this run's and earlier ones'), this run's seconds.
    """
    start = time.time()
    files, duplicates = scan_svgs(src, limit)
    for folder in FOLDERS:
        os.makedirs(osp.join(dst, folder), exist_ok=True)
    log_path = osp.join(dst, 'log.jsonl')
    done = _read_log(log_path)
    jobs = [(name, path, src, dst, size, spot_blacks, thresholds, transparent)
            for name, path in files if name not in done]
    records: Iterable[dict]
    pool = Pool(workers) if workers > 1 else None
    try:
        records = pool.imap_unordered(_work, jobs, chunksize=4) if pool else map(_work, jobs)
        if progress:
            from tqdm import tqdm
            records = tqdm(records, total=len(jobs), desc='svg', unit='file', smoothing=0.05)
        with open(log_path, 'a') as log:
            for record in records:
                done[record['name']] = record
                log.write(strict_dumps(record) + '\n')
                log.flush()
    finally:
        if pool:
            pool.close()
            pool.join()
    names = {name for name, _ in files}
    outcomes = [done[name] for name in sorted(names) if name in done]
    statuses = Counter(r['status'] for r in outcomes)
    reasons = Counter(r['reason'] for r in outcomes if r['status'] == 'rejected')
    relaxed_reasons = Counter(r['reason'] for r in outcomes if r['status'] == 'relaxed')
    summary = dict(source=osp.abspath(src), files=len(files) + len(duplicates),
                   distinct=len(files), duplicates=len(duplicates),
                   accepted=statuses['accepted'], relaxed=statuses['relaxed'],
                   rejected=statuses['rejected'], rejection_reasons=dict(reasons.most_common()),
                   relaxed_reasons=dict(relaxed_reasons.most_common()),
                   converted_this_run=len(jobs), seconds_this_run=round(time.time() - start, 1),
                   workers=workers, size=size, spot_blacks=spot_blacks, transparent=transparent,
                   thresholds=thresholds.to_dict())
    with open(osp.join(dst, 'summary.json'), 'w') as f:
        f.write(strict_dumps(summary, indent=1))
    return summary
