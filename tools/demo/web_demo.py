"""Web demo (Gradio): colourise an uploaded or drawn sketch after a reference, in the browser.

Upload a sketch (or draw one in the "Draw" tab; or upload a colour picture and tick "extract"),
upload a reference, press "Colourise". Click a point of the result or of the line art to see
where in the reference that point takes its colour from (the cross-attention row of the point).
Examples (cartoons of the embedded SyntheticToonDataset at the model's size) are written to a
temporary folder at start-up, so the demo works with a checkpoint of the demo config and
nothing else.

Example::

    python tools/demo/web_demo.py --config configs/sga/sga_demo.py \
        --checkpoint work_dirs/sga_demo/iter_1500.pth --port 7860

Needs the ``demo`` extra (``pip install -e '.[demo]'``).
"""
import argparse
import os
import sys
import tempfile
from typing import List, Optional, Tuple

# Before gradio is imported: no usage statistics or version checks sent from this machine.
os.environ.setdefault('GRADIO_ANALYTICS_ENABLED', 'False')
# Before torch is imported: libgomp reads its thread settings when it loads (see the module).
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # tools/
from thread_setup import THREAD_POLICY  # noqa: E402

if __name__ == '__main__':
    # Importing gradio, then torch, takes from seconds to minutes on a cold disk: say so.
    print('web demo: importing gradio and torch...', file=sys.stderr, flush=True)
import gradio as gr  # noqa: E402
import numpy as np  # noqa: E402

from colorizer.apis import (AttentionMap, colorize, draw_marker, init_model,  # noqa: E402
                            line_art, load_rgb, overlay_heatmap)
from colorizer.datasets import SyntheticToonDataset  # noqa: E402
from colorizer.datasets.transforms.xdog import xdog_sketch  # noqa: E402
from colorizer.engine.checkpoint_safety import UnsafeCheckpointError  # noqa: E402
from colorizer.visualization import save_image  # noqa: E402

_INTRO = """# colorizer: reference-based line-art colourisation
Upload a **sketch** (or draw one, or upload a colour picture and tick *extract*), upload a
**reference** whose colours to use, then press **Colourise**. Click a point of the result or of
the line art to see where in the reference that point takes its colour from."""

_EXAMPLE_SIZE = 256  # pixels: example cartoons are enlarged to at least this
_HEIGHT = 320  # pixels of the image panels

# System fonts only: the page must render on machines without internet (no Google Fonts).
_THEME = gr.themes.Default(font=['system-ui', 'sans-serif'], font_mono=['monospace'])


def write_examples(folder: str, size: Tuple[int, int]) -> List[list]:
    """Write cartoons of the embedded dataset as example files; return Gradio example rows.

    Rows are ``[sketch, reference, extract]``: line-art sketches, and one colour picture to
    extract the lines from. The cartoons are drawn at the model's size, as in training, then
    enlarged by an integer factor without interpolation: the page shows them at a visible
    size, and the letterbox's area shrink gives the model back exactly the drawn pixels.
    """
    dataset = SyntheticToonDataset(img_size=max(size), length=5, seed=2, pipeline=[])
    factor = max(1, -(-_EXAMPLE_SIZE // max(size)))
    paths = {}
    for i in range(5):
        image = dataset.render(dataset.geometry(i), dataset.palette(i))[0]
        sketch = np.repeat(xdog_sketch(image)[..., None], 3, axis=2)
        for kind, picture in (('color', image), ('sketch', sketch)):
            paths[f'{kind}{i}'] = os.path.join(folder, f'toon_{kind}_{i}.png')
            save_image(paths[f'{kind}{i}'], _enlarge(picture, factor))
    return [[paths['sketch0'], paths['color1'], False],
            [paths['sketch2'], paths['color3'], False],
            [paths['color4'], paths['color0'], True]]


def _enlarge(image: np.ndarray, factor: int) -> np.ndarray:
    return np.repeat(np.repeat(image, factor, axis=0), factor, axis=1)


def _sketch_input(mode: str, uploaded: Optional[np.ndarray], drawing) -> np.ndarray:
    """The sketch of the active tab: the upload, or the sketchpad's composite."""
    if mode == 'draw':
        image = drawing.get('composite') if isinstance(drawing, dict) else drawing
        if image is None:
            raise gr.Error('Draw a sketch first (or use the Upload tab).')
        return image
    if uploaded is None:
        raise gr.Error('Upload a sketch first (or draw one in the Draw tab).')
    return uploaded


def correspondence(state: dict, x: float, y: float) -> Tuple[np.ndarray, np.ndarray]:
    """(line art with a marker at (x, y), reference under the attention heat map of (x, y))."""
    attention: AttentionMap = state['attention']
    return (draw_marker(state['lines'], x, y),
            overlay_heatmap(state['reference'], attention.heatmap(x, y)))


def make_colourise(model):
    """The "Colourise" handler bound to ``model``."""

    def run(mode, uploaded, drawing, reference, extract, multiply, fill=False):
        sketch = _sketch_input(mode, uploaded, drawing)
        if reference is None:
            raise gr.Error('Upload a reference first.')
        try:
            sketch_rgb = load_rgb(sketch, 'sketch')
            reference_rgb = load_rgb(reference, 'reference')
            output, attention = colorize(model, sketch_rgb, reference_rgb,
                                         sketch_is_color=extract, multiply_lines=multiply,
                                         region_fill=bool(fill), return_attention=True)
        except ValueError as err:
            raise gr.Error(str(err)) from err
        state = dict(attention=attention, reference=reference_rgb,
                     lines=line_art(sketch_rgb, extract))
        height, width = output.shape[:2]
        marked, heat = correspondence(state, (width - 1) / 2, (height - 1) / 2)
        return output, marked, heat, state

    return run


def on_select(state: Optional[dict], event: gr.SelectData):
    """Show the correspondence of the clicked pixel."""
    if not state:
        raise gr.Error('Colourise first, then click a point.')
    x, y = event.index[:2]
    height, width = state['lines'].shape[:2]
    return correspondence(state, min(max(x, 0), width - 1), min(max(y, 0), height - 1))


def build_demo(model, examples_dir: Optional[str] = None) -> gr.Blocks:
    """The demo's page, bound to a model from :func:`colorizer.apis.init_model`.

    Args:
        model: The colourisation model.
        examples_dir: Where to write the example images (default: a new temporary folder).

    Returns:
        The Gradio app; start it with :func:`launch`.
    """
    examples_dir = examples_dir or tempfile.mkdtemp(prefix='colorizer_demo_')
    examples = write_examples(examples_dir, model.img_size)
    with gr.Blocks(title='colorizer demo') as demo:
        gr.Markdown(_INTRO)
        mode, state = gr.State('upload'), gr.State(None)
        with gr.Row():
            with gr.Column():
                with gr.Tabs():
                    with gr.Tab('Upload') as upload_tab:
                        sketch = gr.Image(label='Sketch', type='numpy', image_mode='RGBA',
                                          sources=['upload', 'clipboard'], format='png',
                                          height=_HEIGHT, elem_id='sketch')
                    with gr.Tab('Draw') as draw_tab:
                        drawing = gr.Sketchpad(label='Draw a sketch', type='numpy',
                                               image_mode='RGBA', canvas_size=(512, 512),
                                               height=_HEIGHT + 80,
                                               format='png', elem_id='drawing',
                                               brush=gr.Brush(default_size=3,
                                                              colors=['#000000'],
                                                              color_mode='fixed'))
                extract = gr.Checkbox(label='The sketch is a colour picture: extract its lines '
                                      '(XDoG)', elem_id='extract')
                multiply = gr.Checkbox(label='Multiply the line art over the result',
                                       elem_id='multiply')
                fill = gr.Checkbox(label='One colour per closed region of the line art',
                                   elem_id='region_fill')
            reference = gr.Image(label='Reference', type='numpy', image_mode='RGBA',
                                 sources=['upload', 'clipboard'], format='png',
                                 height=_HEIGHT, elem_id='reference')
        button = gr.Button('Colourise', variant='primary', elem_id='colourise')
        outputs = dict(format='png', interactive=False, height=_HEIGHT)
        with gr.Row():
            result = gr.Image(label='Result (click a point)', **outputs, elem_id='result')
            marked = gr.Image(label='Line art (click a point)', **outputs, elem_id='lines')
            heat = gr.Image(label='Where that point takes its colour from', **outputs,
                            elem_id='heatmap')
        gr.Examples(examples, inputs=[sketch, reference, extract], label='Examples')

        upload_tab.select(lambda: 'upload', None, mode)
        draw_tab.select(lambda: 'draw', None, mode)
        button.click(make_colourise(model),
                     [mode, sketch, drawing, reference, extract, multiply, fill],
                     [result, marked, heat, state])
        result.select(on_select, state, [marked, heat])
        marked.select(on_select, state, [marked, heat])
    demo.examples_dir = examples_dir
    return demo


def launch(demo: gr.Blocks, host: str = '127.0.0.1', port: Optional[int] = None,
           share: bool = False, block: bool = True):
    """Serve the demo.

    Args:
        demo: From :func:`build_demo`.
        host: Interface to listen on (``0.0.0.0`` for the whole network).
        port: TCP port (default: Gradio's, 7860 or the next free one).
        share: Also open a public gradio.live link (needs internet).
        block: Serve until interrupted; ``False`` returns at once (tests).
    """
    return demo.launch(server_name=host, server_port=port, share=share,
                       prevent_thread_lock=not block, quiet=not block, theme=_THEME,
                       allowed_paths=[demo.examples_dir])


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--config', required=True, help='config file of the checkpoint')
    parser.add_argument('--checkpoint', required=True, help='checkpoint file')
    parser.add_argument('--device', default='cpu', help="e.g. 'cpu' or 'cuda:0'")
    parser.add_argument('--host', default='127.0.0.1', help='interface to listen on')
    parser.add_argument('--port', type=int, help='port (default: 7860 or the next free one)')
    parser.add_argument('--share', action='store_true', help='also make a public gradio.live link')
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    print(THREAD_POLICY.describe(), file=sys.stderr)
    _progress(f'loading the model of {args.config} from {args.checkpoint} on {args.device}')
    try:
        model = init_model(args.config, args.checkpoint, device=args.device)
    except (FileNotFoundError, ValueError, RuntimeError, UnsafeCheckpointError) as err:
        sys.exit(f'error: {err}')
    _progress('building the page (drawing the example cartoons)')
    demo = build_demo(model)
    _progress(f'starting the server on {args.host} (the address follows when it is ready)')
    launch(demo, args.host, args.port, args.share)


def _progress(message: str) -> None:
    """One line on stderr per start-up step, so a slow start is not a silent one."""
    print(f'web demo: {message}...', file=sys.stderr, flush=True)


if __name__ == '__main__':
    main()
