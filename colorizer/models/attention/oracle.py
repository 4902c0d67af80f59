"""The "perfect correspondence" control: the SGA block with the ground-truth region map."""
import torch

from colorizer.registry import ATTENTIONS, CROSS_MAPS
from colorizer.structures.token_grid import pool_labels, token_grid
from .cross_map import CrossMap
from .sga import SGA


@CROSS_MAPS.register_module()
class OracleMap(CrossMap):
    """Uniform over the reference tokens of the sketch token's ground-truth region.

    Row i of M is ``[l'_j = l_i] / #{j: l'_j = l_i}``, with the token labels l (sketch) and l'
    (reference) pooled from the pixel labels by majority (``pool_labels``). A sketch token whose
    region has no reference token, or which has no label, reads the uniform row 1 / N'.

    Raises:
        ValueError: at forward time, when the batch carries no region labels.
    """

    context_keys = ('sketch_labels', 'reference_labels')

    def attention_map(self, x: torch.Tensor, y: torch.Tensor, context: dict) -> torch.Tensor:
        """(B, N, N') ground-truth region map, rows summing to 1."""
        sketch_labels = context.get('sketch_labels')
        reference_labels = context.get('reference_labels')
        if sketch_labels is None or reference_labels is None:
            missing = [k for k in self.context_keys if context.get(k) is None]
            raise ValueError(
                f'OracleAttention needs region labels of the sketch and of the reference; the '
                f'batch has no {" / ".join(missing)}. Only data with ground-truth regions '
                f'(SyntheticToonDataset, whose samples carry labels and reference_labels) can '
                f'run this control; it cannot colourise ordinary images.')
        sketch_grid = token_grid(x.shape[1], sketch_labels.shape[-2:])
        reference_grid = token_grid(y.shape[1], reference_labels.shape[-2:])
        rows = pool_labels(sketch_labels, sketch_grid).to(x.device)  # (B, N)
        cols = pool_labels(reference_labels, reference_grid).to(x.device)  # (B, N')
        same = ((rows.unsqueeze(-1) == cols.unsqueeze(-2))
                & (rows.unsqueeze(-1) >= 0)).to(x.dtype)  # (B, N, N')
        count = same.sum(-1, keepdim=True)  # (B, N, 1)
        uniform = torch.full_like(same, 1.0 / y.shape[1])
        return torch.where(count > 0, same / count.clamp_min(1), uniform)


@ATTENTIONS.register_module()
class OracleAttention(SGA):
    """SGA whose cross map is the ground-truth region map :class:`OracleMap`.

    The upper end of a correspondence study: the best map a region-level matcher can find.
    It needs the data's ground-truth region labels (``SyntheticToonDataset``) at training,
    validation and test time, so it is a control, not a colourisation method. Same as
    ``dict(type='SGA', cross_map=dict(type='OracleMap'))``.

    Args:
        channels: C of both feature maps.
        self_attention: keep SGA's self-SGA layer after the cross step.
        **kwargs: further :class:`~.sga.SGA` arguments for the self-SGA layer.

    Raises:
        ValueError: at forward time, when the batch carries no region labels.
    """

    def __init__(self, channels: int, self_attention: bool = True, **kwargs):
        super().__init__(channels, stop_grad=True, self_attention=self_attention,
                         cross_map=OracleMap(), **kwargs)
