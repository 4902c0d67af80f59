"""tools/deployment/export_onnx.py: the exported generator computes what PyTorch computes."""
import re
import sys

import numpy as np
import pytest
import torch

from api_samples import load_tool
from colorizer.apis import init_model
from tool_runner import run_tool

onnx = pytest.importorskip('onnx')
onnxruntime = pytest.importorskip('onnxruntime')


@pytest.mark.slow
def test_onnx_matches_pytorch(trained, tmp_path):
    config, checkpoint = trained
    out = tmp_path / 'generator.onnx'
    # 40 x 56: not square, and not the training size
    result = run_tool([sys.executable, 'tools/deployment/export_onnx.py', config, checkpoint,
                       '--out', str(out), '--size', '40', '56'])
    reported = float(re.search(r'max abs difference PyTorch vs onnxruntime: (\S+)',
                               result.stdout).group(1))
    assert reported < 1e-4

    onnx.checker.check_model(str(out))
    session = onnxruntime.InferenceSession(str(out), providers=['CPUExecutionProvider'])
    assert [i.name for i in session.get_inputs()] == ['sketch', 'reference']
    assert session.get_inputs()[0].shape == [1, 1, 40, 56]
    generator = init_model(config, checkpoint).generator
    rng = np.random.default_rng(0)
    sketch = np.where(rng.random((1, 1, 40, 56)) < 0.1, -1, 1).astype(np.float32)
    reference = rng.uniform(-1, 1, (1, 3, 40, 56)).astype(np.float32)
    (actual, ) = session.run(None, {'sketch': sketch, 'reference': reference})
    with torch.no_grad():
        expected = generator(torch.from_numpy(sketch), torch.from_numpy(reference)).numpy()
    assert actual.shape == (1, 3, 40, 56)
    np.testing.assert_allclose(actual, expected, atol=1e-4, rtol=0)


def test_size_off_the_stride_is_refused(trained, tmp_path):
    config, checkpoint = trained
    export_onnx = load_tool('deployment/export_onnx.py')
    with pytest.raises(SystemExit, match='not a multiple of the generator stride 8'):
        export_onnx.main([config, checkpoint, '--out', str(tmp_path / 'g.onnx'),
                          '--size', '36', '56'])
    assert not (tmp_path / 'g.onnx').exists()
