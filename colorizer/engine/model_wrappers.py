"""Distributed wrappers for the GAN that also run on CPU processes."""
import torch
from mmengine.model import MMSeparateDistributedDataParallel as _MMSeparateDDP

from colorizer.registry import MODEL_WRAPPERS


@MODEL_WRAPPERS.register_module()
class SeparateDistributedDataParallel(_MMSeparateDDP):
    """MMEngine's ``MMSeparateDistributedDataParallel``, usable with gloo on CPU.

    Each trainable child (generator, discriminator) gets its own DDP wrapper, so the two
    optimisers of a GAN step independently. MMEngine's Runner always passes
    ``device_ids=[LOCAL_RANK]``, which DDP rejects for CPU modules; without CUDA this wrapper
    drops it (``device_ids=None`` is what DDP expects for CPU modules).

    Args:
        module (nn.Module): The model to wrap.
        broadcast_buffers (bool): Broadcast BatchNorm buffers from rank 0 every forward.
        find_unused_parameters (bool): See ``torch.nn.parallel.DistributedDataParallel``.
        **kwargs: Passed to each child's ``MMDistributedDataParallel``.
    """

    def __init__(self, module, broadcast_buffers=False, find_unused_parameters=False, **kwargs):
        if not torch.cuda.is_available():
            kwargs.pop('device_ids', None)
            kwargs.pop('output_device', None)
        super().__init__(module, broadcast_buffers=broadcast_buffers,
                         find_unused_parameters=find_unused_parameters, **kwargs)
