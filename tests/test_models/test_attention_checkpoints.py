"""Checkpoints of the SGA family written before the cross map became a strategy still load.

The fixtures (``tests/data/attention_checkpoints``, see its ``make_checkpoints.py``) hold the
state dicts and the eval-mode outputs of ``SGA`` (default and ablation), ``UniformAttention``,
``OracleAttention`` and ``LineArtSGA`` as the code of that time computed them.
"""
import os.path as osp

import pytest
import torch

from colorizer.registry import ATTENTIONS

DATA = osp.join(osp.dirname(osp.dirname(__file__)), 'data', 'attention_checkpoints')
NAMES = ('sga', 'sga_ablation', 'uniform', 'oracle', 'line_art_sga')


@pytest.mark.parametrize('name', NAMES)
def test_saved_checkpoint_loads_strictly_and_gives_the_saved_output(name):
    saved = torch.load(osp.join(DATA, f'{name}.pt'), weights_only=True)
    module = ATTENTIONS.build(saved['cfg'], default_args=dict(channels=8))
    module.load_state_dict(saved['state_dict'], strict=True)
    module.eval()
    kwargs = dict(context=saved['context']) if saved['context'] else {}
    assert set(kwargs.get('context', {})) == set(module.context_keys)
    with torch.no_grad():
        out, attn = module(saved['sketch'], saved['reference'], return_attention=True, **kwargs)
    torch.testing.assert_close(out, saved['output'], rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(attn, saved['attention'], rtol=1e-5, atol=1e-6)
