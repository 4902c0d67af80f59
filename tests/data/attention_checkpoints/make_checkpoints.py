"""Write the checkpoint fixtures of the SGA-family attention modules (run once, kept as data).

Each ``<name>.pt`` holds the module's config, its ``state_dict`` (C = 8, BatchNorm running
statistics moved off their defaults by two training-mode forwards), the inputs and context, and
the eval-mode forward output and cross map that the code which wrote the file produced. The
files were written by the SGA code as it was before the cross map became a strategy object
(``GivenMapSGA`` subclasses); ``tests/test_models/test_attention_checkpoints.py`` loads them
into the current classes strictly and asserts the same outputs, so checkpoints of existing runs
keep loading. Written at commit 6edbd19; do not regenerate them from newer code: that would
make the test vacuous.

Run from the repository root: ``python tests/data/attention_checkpoints/make_checkpoints.py``.
"""
import os.path as osp

import torch

from colorizer.registry import ATTENTIONS

VARIANTS = dict(
    sga=dict(type='SGA'),
    sga_ablation=dict(type='SGA', stop_grad=False, norm='softmax', self_attention=False,
                      implementation='naive'),
    uniform=dict(type='UniformAttention'),
    oracle=dict(type='OracleAttention'),
    line_art_sga=dict(type='LineArtSGA', chunk_size=5),
)


def main():
    g = torch.Generator().manual_seed(0)
    sketch = torch.randn(2, 8, 4, 4, generator=g)
    reference = torch.randn(2, 8, 4, 4, generator=g)
    context = dict(
        sketch_labels=torch.randint(0, 4, (2, 8, 8), generator=g),
        reference_labels=torch.randint(0, 4, (2, 8, 8), generator=g),
        reference_line_feat=torch.randn(2, 8, 4, 4, generator=g))
    for name, cfg in VARIANTS.items():
        torch.manual_seed(1)
        module = ATTENTIONS.build(cfg, default_args=dict(channels=8))
        with torch.no_grad():
            for param in module.parameters():
                param.copy_(torch.randn(param.shape, generator=g) * 0.5)
        keys = {k: context[k] for k in module.context_keys}
        kwargs = dict(context=keys) if keys else {}
        module.train()
        for _ in range(2):
            module(sketch, reference, **kwargs)
        module.eval()
        with torch.no_grad():
            out, attn = module(sketch, reference, return_attention=True, **kwargs)
        torch.save(dict(cfg=cfg, state_dict=module.state_dict(), sketch=sketch,
                        reference=reference, context=keys, output=out, attention=attn),
                   osp.join(osp.dirname(__file__), f'{name}.pt'))


if __name__ == '__main__':
    main()
