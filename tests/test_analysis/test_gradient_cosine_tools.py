"""End to end: tools/train.py with GradientCosineHook on the demo config, then the analysis
tools."""
import json

import numpy as np
import pytest
from matplotlib import image as mpimg

from tool_runner import ROOT, TINY, train


def _config(tmp_path, base, hook='interval=1, summary_interval=2, bins=20'):
    cfg = tmp_path / 'gradcos_cfg.py'
    cfg.write_text(f"""_base_ = ['{ROOT / base}']
custom_hooks = [
    dict(type='SafeCheckpointHook'),
    dict(type='SampleGridHook', interval=250, num_samples=8),
    dict(type='GradientCosineHook', {hook}),
]
vis_backends = [dict(type='LocalVisBackend'), dict(type='TensorboardVisBackend')]
visualizer = dict(type='Visualizer', vis_backends=vis_backends)
""")
    return cfg


def _assert_png(path):
    assert path.is_file() and path.stat().st_size > 1000, path
    image = mpimg.imread(str(path))
    assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100
    assert image[..., :3].std() > 0  # not a blank canvas


@pytest.mark.slow
def test_scft_demo_run_writes_summaries_and_the_plot_tools_draw_them(tmp_path, tool):
    work = tmp_path / 'scft'
    cfg = _config(tmp_path, 'configs/scft/scft_demo.py')
    train(work, 'train_cfg.max_iters=4', 'train_cfg.val_interval=4', config=str(cfg))

    out = work / 'gradient_cosine'
    summary = json.loads((out / 'summary.json').read_text())
    assert summary['mode'] == 'step' and summary['period_unit'] == 'iter'
    assert [(p['iter_start'], p['iter_end'], p['num_captures']) for p in summary['periods']] == \
        [(1, 2, 2), (3, 4, 2)]
    assert summary['modules']['generator.attention']['type'] == 'SCFT'
    last = summary['periods'][-1]['modules']['generator.attention']
    assert last['absent_branches'] == []
    for pair in ('x_skip~x_total', 'x_q~x_total', 'y_v~y_total', 'y_k~y_total'):
        stats = last['pairs'][pair]
        assert stats['pixel']['count'] > 0 and stats['instance']['count'] == 2 * 4
        assert 0 <= stats['pixel']['share_negative'] <= 1
        assert sum(stats['pixel']['hist']) == stats['pixel']['count']
    arrays = np.load(out / summary['periods'][-1]['npz'])
    values = arrays['generator.attention/x_q~x_total/pixel']
    assert values.size == last['pairs']['x_q~x_total']['pixel']['count']
    assert np.all(np.abs(values) <= 1 + 1e-5)

    # scalars in MMEngine's scalars.json, histograms in tensorboard
    (scalars, ) = work.glob('*/vis_data/scalars.json')
    records = [json.loads(line) for line in scalars.read_text().splitlines()]
    key = 'gradcos/generator.attention/x_q~x_total/pixel/share_negative'
    assert [r['step'] for r in records if key in r] == [2, 4]
    assert any('loss_rec' in r for r in records)
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    events = EventAccumulator(str(scalars.parent), size_guidance={'histograms': 0})
    events.Reload()
    assert 'gradcos/generator.attention/x_q~x_total/pixel' in events.Tags()['histograms']

    figs = tmp_path / 'figs'
    written = tool('plot_gradient_cosine').main([str(work), '--out', str(figs)])
    assert len(written) == 4  # hist + shares, pixel + instance
    for path in written:
        _assert_png(figs / path.split('/')[-1])

    losses_png = tmp_path / 'losses.png'
    tool('plot_losses').main([str(work), str(work), '--out', str(losses_png),
                              '--labels', 'a', 'b', '--keys', 'loss_rec', 'loss_g_adv'])
    _assert_png(losses_png)

    ckpt = str(work / 'iter_4.pth')
    spectrum_dir = tmp_path / 'spectrum'
    tool('spectrum').main([str(cfg), ckpt, '--out', str(spectrum_dir), '--num-batches', '1',
                           '--device', 'cpu', '--cfg-options', *TINY])
    _assert_png(spectrum_dir / 'spectrum.png')
    rows = (spectrum_dir / 'spectrum.csv').read_text().splitlines()
    assert rows[0] == 'r,sketch_before,reference_before,after'
    last_row = [float(v) for v in rows[-1].split(',')[1:]]
    assert last_row == pytest.approx([1.0, 1.0, 1.0], abs=1e-5)  # the ratio ends at 1

    per_loss = tmp_path / 'per_loss'
    tool('gradient_cosine_per_loss').main([str(cfg), ckpt, '--out', str(per_loss),
                                           '--num-batches', '1', '--device', 'cpu',
                                           '--cfg-options', *TINY])
    record = json.loads((per_loss / 'gradient_cosine_per_loss.json').read_text())
    assert list(record['losses']) == ['loss_rec', 'loss_g_adv', 'total']
    for loss in record['losses']:
        pairs = record['losses'][loss]['modules']['generator.attention']['pairs']
        assert pairs['x_q~x_total']['pixel']['count'] > 0
        _assert_png(per_loss / f'per_loss_{loss}.png')


@pytest.mark.slow
def test_sga_without_stop_gradient_demo_records_the_fig10_pairs(tmp_path, tool):
    work = tmp_path / 'sga_wo'
    cfg = _config(tmp_path, 'configs/sga/sga_wo_stopgrad_demo.py',
                  hook="interval=1, summary_interval=2, per='pixel', bins=20")
    train(work, 'train_cfg.max_iters=2', 'train_cfg.val_interval=2', config=str(cfg))
    summary = json.loads((work / 'gradient_cosine' / 'summary.json').read_text())
    assert summary['mode'] == 'step'  # captured in the train step, which it leaves unchanged
    assert summary['modules']['generator.attention']['stop_gradient'] == {'stop_grad': False}
    (period, ) = summary['periods']
    pairs = period['modules']['generator.attention']['pairs']
    assert {'x_kept~x_total', 'x_kept~x_att', 'y_proj~y_total', 'y_kept~y_att'} <= set(pairs)
    assert pairs['x_kept~x_att']['label'] == 'cos(g_X, ḡ_X − g_X)'
    assert 'instance' not in pairs['x_kept~x_att']
    assert period['modules']['generator.attention']['grad_norm']['x_att'] > 0
    # a checkpoint of another architecture is refused with the keys named
    with pytest.raises(SystemExit, match='does not fit.*to_q'):
        tool('spectrum').main([str(ROOT / 'configs/scft/scft_demo.py'), str(work / 'iter_2.pth'),
                               '--out', str(tmp_path / 'no'), '--cfg-options', *TINY])
    figs = tmp_path / 'figs'
    written = tool('plot_gradient_cosine').main([str(work), '--out', str(figs), '--layout',
                                                'side'])
    for path in written:
        _assert_png(figs / path.split('/')[-1])
