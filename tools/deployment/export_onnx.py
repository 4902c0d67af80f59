"""Export a checkpoint's generator to ONNX and check it against onnxruntime.

The ONNX model has two inputs, ``sketch`` (1, 1, H, W) and ``reference`` (1, 3, H, W), and one
output, ``image`` (1, 3, H, W), all float32 in [-1, 1] (uint8 ``v`` maps to ``v / 127.5 - 1``).
H and W are fixed at export (default: the config's training size) and must be multiples of the
generator's stride. After writing the file the tool runs both PyTorch and onnxruntime on a
cartoon of the embedded SyntheticToonDataset and prints the largest absolute difference; it
exits with status 1 when that exceeds ``--tolerance``.

The exporter is torch's ``dynamo`` exporter (``torch.export`` + onnxscript); where it fails
(an unusual plugin) ``--exporter auto`` falls back to the TorchScript tracer. SGA's stop-gradient
map (computed under ``no_grad``) and its chunked ``scaled_dot_product_attention`` export with
both, so the module is exported as trained, without switching it to ``implementation='naive'``.

Example::

    python tools/deployment/export_onnx.py configs/sga/sga_demo.py \
        work_dirs/sga_demo/iter_1500.pth --out sga_demo.onnx
"""
import argparse
import os
import os.path as osp
import sys
from typing import Tuple

import numpy as np
import torch
from torch import nn

from colorizer.apis import init_model
from colorizer.datasets import SyntheticToonDataset
from colorizer.datasets.transforms.xdog import xdog_sketch
from colorizer.engine.checkpoint_errors import CheckpointError


class GeneratorForExport(nn.Module):
    """The generator as a two-input, one-output graph (no ``return_attention`` branch)."""

    def __init__(self, generator: nn.Module):
        super().__init__()
        self.generator = generator

    def forward(self, sketch: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
        """(1, 1, H, W) and (1, 3, H, W) in [-1, 1] -> (1, 3, H, W) in [-1, 1]."""
        return self.generator(sketch, reference)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config', help='config file of the checkpoint')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', required=True, help='ONNX file to write')
    parser.add_argument('--size', nargs=2, type=int, metavar=('H', 'W'),
                        help='input size (default: the training size)')
    parser.add_argument('--opset', type=int, default=18, help='ONNX opset version')
    parser.add_argument('--exporter', choices=('auto', 'dynamo', 'torchscript'), default='auto',
                        help="torch.onnx exporter; 'auto' tries dynamo, then TorchScript")
    parser.add_argument('--tolerance', type=float, default=1e-4,
                        help='largest accepted |PyTorch - onnxruntime| difference')
    return parser.parse_args(argv)


def sample_inputs(size: Tuple[int, int]) -> Tuple[torch.Tensor, torch.Tensor]:
    """An XDoG sketch of one synthetic cartoon and another cartoon as reference, in [-1, 1]."""
    height, width = size
    dataset = SyntheticToonDataset(img_size=max(size), length=2, seed=0, pipeline=[])
    images = [dataset.render(dataset.geometry(i), dataset.palette(i))[0][:height, :width]
              for i in range(2)]
    sketch = torch.from_numpy(xdog_sketch(images[0]))[None, None]
    reference = torch.from_numpy(np.ascontiguousarray(images[1])).permute(2, 0, 1)[None]
    return sketch.float() / 127.5 - 1, reference.float() / 127.5 - 1


def export(module: nn.Module, inputs: Tuple[torch.Tensor, ...], out: str, opset: int,
           exporter: str) -> str:
    """Write ``module`` to ``out``; returns the exporter that succeeded."""
    kwargs = dict(input_names=['sketch', 'reference'], output_names=['image'],
                  opset_version=opset)
    if exporter in ('auto', 'dynamo'):
        try:
            # one self-contained file: the generators are far below protobuf's 2 GB limit
            torch.onnx.export(module, inputs, out, dynamo=True, external_data=False, **kwargs)
            return 'dynamo'
        except Exception as err:  # the dynamo exporter raises many types; fall back on any
            if exporter == 'dynamo':
                raise
            print(f'dynamo export failed ({type(err).__name__}: {err}); trying TorchScript',
                  file=sys.stderr)
    torch.onnx.export(module, inputs, out, dynamo=False, **kwargs)
    return 'torchscript'


def max_difference(module: nn.Module, onnx_file: str,
                   inputs: Tuple[torch.Tensor, torch.Tensor]) -> float:
    """Largest |PyTorch - onnxruntime| over the output for ``inputs``."""
    import onnxruntime  # optional dependency: the 'deploy' extra
    session = onnxruntime.InferenceSession(onnx_file, providers=['CPUExecutionProvider'])
    sketch, reference = inputs
    actual = session.run(None, {'sketch': sketch.numpy(), 'reference': reference.numpy()})[0]
    with torch.no_grad():
        expected = module(sketch, reference).numpy()
    return float(np.abs(actual - expected).max())


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        model = init_model(args.config, args.checkpoint, img_size=args.size)
    except (FileNotFoundError, ValueError, CheckpointError) as err:
        # CheckpointMismatchError, UnsafeCheckpointError, CheckpointSourceError, ...
        sys.exit(f'error: {err}')
    if args.size and tuple(args.size) != tuple(model.img_size):
        sys.exit(f'error: --size {args.size[0]} {args.size[1]} is not a multiple of the '
                 f'generator stride {model.generator.size_divisor}; try {model.img_size}')
    module = GeneratorForExport(model.generator).eval()
    inputs = sample_inputs(model.img_size)
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    with torch.no_grad():
        used = export(module, inputs, args.out, args.opset, args.exporter)
    diff = max_difference(module, args.out, inputs)
    height, width = model.img_size
    print(f'exported {args.out} ({used} exporter, opset {args.opset}): sketch (1, 1, {height}, '
          f'{width}), reference (1, 3, {height}, {width}) -> image (1, 3, {height}, {width})')
    print(f'max abs difference PyTorch vs onnxruntime: {diff:.3g}')
    if not diff <= args.tolerance:
        print(f'error: the difference exceeds --tolerance {args.tolerance}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
