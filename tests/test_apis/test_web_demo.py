"""The Gradio demo in a real browser: Debian's chromium, driven by Playwright."""
import shutil

import cv2
import numpy as np
import pytest

from api_samples import color_picture, line_drawing, load_tool, write_png
from tool_runner import free_port

CHROMIUM = shutil.which('chromium') or '/usr/bin/chromium'
# As root in a container: no sandbox; nothing may phone home (no network here).
CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
                  '--no-first-run', '--disable-background-networking',
                  '--disable-component-update', '--disable-sync']
TIMEOUT_MS = 60_000


@pytest.fixture
def browser_page(tmp_path):
    """A page of a fresh chromium profile (skips where chromium or Playwright is absent)."""
    if not shutil.which(CHROMIUM):
        pytest.skip(f'chromium not installed: no {CHROMIUM} (apt-get install chromium)')
    sync_api = pytest.importorskip('playwright.sync_api',
                                   reason='playwright not installed (pip install playwright)')
    with sync_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / 'profile'), executable_path=CHROMIUM, headless=True,
            args=CHROMIUM_FLAGS, viewport={'width': 1280, 'height': 1000})
        try:
            yield context.new_page()
        finally:
            context.close()


@pytest.fixture
def demo_url(model, tmp_path):
    """The demo of the tiny model, served on 127.0.0.1 and a free port."""
    pytest.importorskip('gradio', reason='gradio not installed (pip install gradio)')
    web_demo = load_tool('demo/web_demo.py')
    demo = web_demo.build_demo(model, examples_dir=str(tmp_path / 'examples'))
    port = free_port()
    web_demo.launch(demo, host='127.0.0.1', port=port, block=False)
    try:
        yield f'http://127.0.0.1:{port}/'
    finally:
        demo.close()


def _image_at(page, selector: str) -> np.ndarray:
    """Download the image an <img> shows and decode it (RGB)."""
    src = page.locator(f'{selector} img').first.get_attribute('src')
    data = page.request.get(src).body()
    return cv2.cvtColor(cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR),
                        cv2.COLOR_BGR2RGB)


@pytest.mark.slow
@pytest.mark.filterwarnings('ignore::Warning:gradio.queueing')  # pandas deprecations
def test_upload_colourise_and_click_in_the_browser(demo_url, browser_page, tmp_path):
    sketch = write_png(tmp_path / 'sketch.png', line_drawing(200, 300))
    reference = write_png(tmp_path / 'reference.png', color_picture(120, 160, seed=4))
    page = browser_page
    page.goto(demo_url, wait_until='domcontentloaded', timeout=TIMEOUT_MS)
    page.wait_for_selector('#colourise', timeout=TIMEOUT_MS)
    page.locator('#sketch input[type=file]').set_input_files(sketch)
    page.locator('#reference input[type=file]').set_input_files(reference)
    page.wait_for_selector('#sketch img', timeout=TIMEOUT_MS)
    page.wait_for_selector('#reference img', timeout=TIMEOUT_MS)
    page.click('#colourise')
    page.wait_for_selector('#result img', timeout=TIMEOUT_MS)

    output = _image_at(page, '#result')
    assert output.shape == (200, 300, 3)  # the sketch's size
    assert output.std() > 5, 'the output image is blank'
    heat = _image_at(page, '#heatmap')
    assert heat.shape == (120, 160, 3)  # the reference's size

    # a click on the result shows the correspondence of that point: the marker moves there
    before = page.locator('#lines img').first.get_attribute('src')
    box = page.locator('#result img').first.bounding_box()  # the image is centred in it
    page.mouse.click(box['x'] + box['width'] / 2 - 0.4 * min(box['width'], 300),
                     box['y'] + box['height'] / 2)
    page.wait_for_function(
        "before => { const img = document.querySelector('#lines img');"
        ' return img && img.src !== before; }', arg=before, timeout=TIMEOUT_MS)
