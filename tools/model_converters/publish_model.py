"""Make a training checkpoint shippable: keep the generator's weights only, print the SHA-256.

Inference builds the model without its training-only modules (the discriminator), so a shipped
checkpoint needs only ``generator.*`` (a third of the file for the demo model; no optimiser
states, no message hub). The output loads with ``init_model(config, out)``; its SHA-256 is what
``colorizer/apis/model_zoo.py`` records. Like OpenMMLab's ``publish_model.py``.

Example::

    python tools/model_converters/publish_model.py work_dirs/corr_sga_demo/iter_1000.pth \\
        checkpoints/corr_sga_toon64.pth
"""
import argparse
import os
import os.path as osp
import sys

import torch

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
from colorizer.apis.model_zoo import sha256_of  # noqa: E402
from colorizer.engine.checkpoint_safety import safe_load  # noqa: E402
from colorizer.engine.model_state import model_state_of  # noqa: E402


def publish(src: str, dst: str) -> str:
    """Write the generator-only checkpoint ``dst`` from ``src``; returns its SHA-256.

    Raises:
        FileNotFoundError: ``src`` does not exist.
        ValueError: ``src`` holds no ``generator.*`` weights.
    """
    if not osp.isfile(src):
        raise FileNotFoundError(f'checkpoint {src} does not exist')
    checkpoint = safe_load(src, map_location='cpu')  # the allow-listed loader
    state = model_state_of(checkpoint)
    generator = {k: v for k, v in state.items() if k.startswith('generator.')}
    if not generator:
        raise ValueError(f'{src} has no generator.* weights (keys: {list(state)[:5]} ...)')
    meta = checkpoint.get('meta', {}) if isinstance(checkpoint, dict) else {}
    # plain Python values only: the file must load with torch.load(weights_only=True)
    kept = {k: int(meta[k]) for k in ('iter', 'epoch', 'seed') if k in meta}
    os.makedirs(osp.dirname(osp.abspath(dst)), exist_ok=True)
    torch.save(dict(state_dict=generator, meta=kept), dst)
    return sha256_of(dst)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('src', help='training checkpoint')
    parser.add_argument('dst', help='shippable checkpoint to write')
    args = parser.parse_args(argv)
    digest = publish(args.src, args.dst)
    print(f'{args.dst}: {osp.getsize(args.dst) / 1e6:.2f} MB, sha256 {digest}')


if __name__ == '__main__':
    main()
