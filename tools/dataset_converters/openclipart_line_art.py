"""Build the real line-art set from a folder of flat-coloured SVG clip art.

Per accepted drawing: the colour image, the line art alone, 16-bit region labels and a meta
JSON (layout in ``colorizer/datasets/line_art_conversion.py``). Prints the time and the yield
(accepted, relaxed, each rejection reason) at the end. Resumable: run it again to finish.

Example (Debian's public-domain clip art)::

    apt-get install openclipart-svg
    python tools/dataset_converters/openclipart_line_art.py /usr/share/openclipart/svg \
        data/openclipart_line_art --workers 2
    # optionally, a new split list from the converted drawings:
    python tools/dataset_converters/openclipart_line_art.py /usr/share/openclipart/svg \
        data/openclipart_line_art --write-splits colorizer/datasets/splits/openclipart_line_art.json
"""
import argparse
import sys

from colorizer.datasets.line_art_conversion import convert_folder
from colorizer.datasets.line_art_gates import GateThresholds
from colorizer.datasets.line_art_splits import make_splits
from colorizer.fileio import strict_dumps


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('src', help='folder of SVG files (searched recursively)')
    parser.add_argument('dst', help='output folder')
    parser.add_argument('--size', type=int, default=256, help='side of the renderings (px)')
    parser.add_argument('--workers', type=int, default=1, help='worker processes')
    parser.add_argument('--no-spot-blacks', action='store_true',
                        help='make dark fills regions instead of ink')
    parser.add_argument('--reject-transparent', action='store_true',
                        help='reject drawings with partly transparent shapes instead of leaving '
                        'those shapes out of the line art and the labels')
    parser.add_argument('--limit', type=int, help='convert only the first N distinct files')
    parser.add_argument('--no-progress', action='store_true', help='no progress bar')
    parser.add_argument('--write-splits', metavar='JSON',
                        help='also write a test/val/train split list of the converted drawings')
    parser.add_argument('--num-test', type=int, default=175)
    parser.add_argument('--num-val', type=int, default=50)
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.size < 16 or args.workers < 1:
        print(f'need --size >= 16 and --workers >= 1, got {args.size}, {args.workers}',
              file=sys.stderr)
        return 2
    try:
        summary = convert_folder(args.src, args.dst, args.size, args.workers,
                                 not args.no_spot_blacks, GateThresholds(), args.limit,
                                 progress=not args.no_progress,
                                 transparent='reject' if args.reject_transparent else 'drop')
    except FileNotFoundError as error:
        print(error, file=sys.stderr)
        return 2
    print(f"{summary['files']} files, {summary['distinct']} distinct: {summary['accepted']} "
          f"accepted, {summary['relaxed']} relaxed (fail only strict gates), "
          f"{summary['rejected']} rejected; {summary['seconds_this_run']:.1f} s for "
          f"{summary['converted_this_run']} files ({args.workers} "
          f"worker{'s' if args.workers > 1 else ''})")
    print('rejections:', strict_dumps(summary['rejection_reasons']))
    print('relaxed by:', strict_dumps(summary['relaxed_reasons']))
    if args.write_splits:
        splits = make_splits(args.dst, args.num_test, args.num_val)
        splits['source_summary'] = {k: summary[k] for k in (
            'files', 'distinct', 'accepted', 'relaxed', 'rejected', 'size', 'spot_blacks')}
        with open(args.write_splits, 'w') as f:
            f.write(strict_dumps(splits, indent=1))
        print(f"splits: {len(splits['test'])} test, {len(splits['val'])} val, "
              f"{len(splits['train'])} train ({splits['groups']} groups) -> {args.write_splits}")
    return 0


if __name__ == '__main__':
    sys.exit(main())
