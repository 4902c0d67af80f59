"""Batches bounded by input pixels, not by image count.

Inference memory grows with the pixels of a forward pass (activations are per pixel; with the
chunked SGA the attention is too), so a count of images bounds nothing: eight 1024² sketches
need eight times the memory of one, and one large sketch among small ones decides the peak of
its batch. :func:`batched` groups consecutive items while their input pixels stay within a
budget; an item above the budget runs alone. Items of different input sizes never share a
batch (a batch is one tensor).
"""
from typing import Callable, Iterable, Iterator, List, Optional, Sequence, Tuple, TypeVar

__all__ = ['MAX_BATCH_PIXELS', 'batched', 'plan_batches']

#: Default pixel budget of one forward pass (sum of H * W over a batch): the native-resolution
#: cap of one image (1024²), so the largest single input sets the peak and small images share
#: a pass up to the same pixel count.
MAX_BATCH_PIXELS = 1024 * 1024

T = TypeVar('T')


def batched(items: Iterable[T], size_of: Callable[[T], Tuple[int, int]],
            max_batch_pixels: int = MAX_BATCH_PIXELS,
            max_batch_size: Optional[int] = None) -> Iterator[List[T]]:
    """Group consecutive items into batches of one input size within a pixel budget.

    Lazy: an item is taken from ``items`` only when the batch before it is being decided, so at
    most one batch and one item are held (images are loaded as they are needed).

    Args:
        items: The items, in order (kept).
        size_of: The (H, W) input size of an item.
        max_batch_pixels: Budget of ``sum(H * W)`` per batch; an item above it is alone.
        max_batch_size: Optional cap on the number of items per batch as well.

    Yields:
        Non-empty lists of consecutive items.

    Raises:
        ValueError: A budget or cap below 1.
    """
    if max_batch_pixels < 1 or (max_batch_size is not None and max_batch_size < 1):
        raise ValueError(f'max_batch_pixels and max_batch_size must be >= 1, got '
                         f'{max_batch_pixels} and {max_batch_size}')
    batch: List[T] = []
    batch_size: Optional[Tuple[int, int]] = None
    pixels = 0
    for item in items:
        height, width = size_of(item)
        full = (max_batch_size is not None and len(batch) >= max_batch_size)
        if batch and (full or (height, width) != batch_size
                      or pixels + height * width > max_batch_pixels):
            yield batch
            batch, pixels = [], 0
        batch.append(item)
        batch_size = (height, width)
        pixels += height * width
    if batch:
        yield batch


def plan_batches(sizes: Sequence[Tuple[int, int]], max_batch_pixels: int = MAX_BATCH_PIXELS,
                 max_batch_size: Optional[int] = None) -> List[List[int]]:
    """The batches :func:`batched` makes of inputs of ``sizes``, as lists of indices."""
    return list(batched(range(len(sizes)), lambda i: tuple(sizes[i]), max_batch_pixels,
                        max_batch_size))
