"""tools/analysis_tools/initial_map.py at a tiny size: the table and its numbers' ranges."""
import json
import math

import pytest


def test_initial_map_table(tmp_path, tool):
    module = tool('initial_map')
    out = tmp_path / 'init.json'
    data = module.main(['--scales', 'demo', '--size', '32', '--seeds', '0', '--batch-size', '2',
                        '--out', str(out)])
    assert json.loads(out.read_text()) == data
    scale = data['scales'][0]
    assert (scale['channels'], scale['tokens']) == (120, 16)
    stats = {k: v['mean'] for k, v in scale['stats'].items()}
    assert stats['entropy_max'] == pytest.approx(math.log(16))
    assert 0 <= stats['entropy'] <= stats['entropy_max']
    assert 1 / 16 <= stats['row_max'] <= 1 and 0 <= stats['below_eps'] <= 1
    assert -1 <= stats['spearman'] <= 1 and 0 < stats['region_chance'] < 1
    lines = module.markdown(data)
    assert lines[0].startswith('| statistic | demo: C = 120, N = 16')
    assert any(line.startswith('| share of columns with c_j < 1e-12 |') for line in lines)
