"""The data sample that travels from the dataset to the metrics."""
from mmengine.structures import BaseDataElement


class ColorizationDataSample(BaseDataElement):
    """One sketch / reference / target triple and, after inference, its colourisation.

    Data fields (all ``torch.Tensor``, RGB, channel first, uint8 values):

    - ``target`` (3, H, W): the colour image the sketch was drawn from (after colour jitter in
      training). What the reconstruction losses and SSIM / PSNR compare with.
    - ``oracle`` (3, H, W), optional: the sketch's geometry painted with the reference's
      palette. Only synthetic data has it; it is the true answer of the random-reference protocol.
    - ``labels`` (H, W) int64, optional: semantic region id per pixel of the sketch.
    - ``reference_labels`` (H', W') int64, optional: region id per pixel of the reference.
    - ``cross_attention`` (N, N'), ``diagonal_attention`` (N, N) and ``reference_token_norm``
      (N',) float32, optional: set by ``val_step`` / ``test_step`` when the model has
      ``correspondence_outputs=True`` (read by ``CorrespondenceMetric``).
    - ``output`` (3, H, W): the colourisation, set by the model's ``val_step`` / ``test_step``.

    Metainfo keys: ``sketch_path``, ``reference_path`` (or ``None`` for generated data),
    ``index``, ``reference_index``, ``protocol`` (``'random'``, ``'self'`` or ``'train'``),
    ``img_shape`` (H, W).
    """
