"""Shipped models are found by name, and their checkpoints are checked before loading."""
import dataclasses

import numpy as np
import pytest

from colorizer.apis import MODEL_ZOO, colorize, init_model, resolve_model
from colorizer.apis import model_zoo
from colorizer.apis.model_zoo import sha256_of


def test_every_entry_exists_and_matches_its_checksum():
    for name in MODEL_ZOO:
        entry = resolve_model(name)  # raises on a missing file or a wrong SHA-256
        assert len(MODEL_ZOO[name].sha256) == 64
        assert sha256_of(entry.checkpoint) == MODEL_ZOO[name].sha256


def test_unknown_name_and_damaged_checkpoint_are_refused(monkeypatch):
    with pytest.raises(KeyError, match='shipped models'):
        resolve_model('no_such_model')
    name = next(iter(MODEL_ZOO))
    damaged = dataclasses.replace(MODEL_ZOO[name], sha256='0' * 64)
    monkeypatch.setitem(model_zoo.MODEL_ZOO, name, damaged)
    with pytest.raises(ValueError, match='SHA-256'):
        init_model(name)


def test_shipped_model_colours_a_drawing_by_name():
    model = init_model('corr_sga_toon64')
    assert model.img_size == (64, 64) and not model.training
    sketch = np.full((80, 60), 255, np.uint8)
    sketch[20, 10:50] = sketch[60, 10:50] = sketch[20:61, 10] = sketch[20:61, 49] = 0
    reference = np.zeros((64, 64, 3), np.uint8)
    reference[:] = (200, 60, 40)
    out = colorize(model, sketch, reference, region_fill=True)
    assert out.shape == (80, 60, 3)


@pytest.mark.slow
def test_tools_test_scores_the_generator_only_shipped_checkpoint(tmp_path):
    """The test loop never runs the discriminator: the published checkpoint tests as it is,
    and a checkpoint missing a module the loop does run is still refused."""
    import json
    import subprocess
    import sys

    import torch
    entry = resolve_model('corr_sga_toon64')
    command = [sys.executable, 'tools/test.py', entry.config, entry.checkpoint,
               '--work-dir', str(tmp_path / 'work'), '--out', str(tmp_path / 'r.json'),
               '--cfg-options', 'test_dataloader.dataset.length=4',
               'test_dataloader.num_workers=0', 'test_dataloader.persistent_workers=False']
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    metrics = json.loads((tmp_path / 'r.json').read_text())
    assert 0 <= metrics['random_ref/region_accuracy'] <= 1
    # without the decoder's last layer the generator is incomplete: refused, one line
    state = torch.load(entry.checkpoint, map_location='cpu', weights_only=True)
    state['state_dict'] = {k: v for k, v in state['state_dict'].items()
                           if not k.startswith('generator.decoder')}
    broken = tmp_path / 'broken.pth'
    torch.save(state, broken)
    command[3] = str(broken)
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode != 0 and 'generator.decoder' in done.stderr
