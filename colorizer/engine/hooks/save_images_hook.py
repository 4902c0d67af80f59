"""Save every colourisation of a test run as an image file."""
import os.path as osp

from mmengine.dist import get_world_size, is_main_process
from mmengine.hooks import Hook
from mmengine.utils import ProgressBar

from colorizer.registry import HOOKS
from colorizer.visualization import save_image, tensor_to_image


@HOOKS.register_module()
class SaveColorizationsHook(Hook):
    """Write each test sample's ``output`` to ``out_dir`` as PNG.

    Files are named by sample index, plus the sketch file's name when it has one
    (``000123_dog_0042.png``), so results of two runs can be compared file by file.
    Every rank writes its own samples (distributed testing splits the set).

    Args:
        out_dir (str): Destination folder (created).
    """

    priority = 'LOW'

    def __init__(self, out_dir: str):
        self.out_dir = out_dir
        self._progress = None

    def before_test(self, runner) -> None:
        # Rank 0 shows the progress of all ranks (each saves about as many images as it).
        if is_main_process():
            self._progress = ProgressBar(len(runner.test_dataloader.dataset))

    def after_test_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        for sample in outputs or []:
            path = sample.metainfo.get('sketch_path')
            name = f"{sample.metainfo.get('index', batch_idx):06d}"
            if path:
                name += '_' + osp.splitext(osp.basename(path))[0]
            save_image(osp.join(self.out_dir, f'{name}.png'), tensor_to_image(sample.output))
            if self._progress is not None:
                for _ in range(get_world_size()):
                    self._progress.update()
