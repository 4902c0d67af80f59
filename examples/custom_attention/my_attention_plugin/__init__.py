"""An attention plugin living outside colorizer: register it, name it in a config, train it."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from colorizer.registry import ATTENTIONS


@ATTENTIONS.register_module()
class CosineCrossAttention(nn.Module):
    """Cross attention on cosine similarity with a temperature (a third-party example plugin).

    ``softmax(cos(X, Y) / tau) · W_v Y + X``: each sketch token takes the value of the reference
    tokens it resembles most. Implements colorizer's attention contract: built with
    ``channels=C``, called as ``module(sketch_feat, ref_feat, return_attention=False)``.

    Args:
        channels (int): Feature channels C (given by the generator).
        temperature (float): Softmax temperature tau; smaller is sharper.
    """

    def __init__(self, channels: int, temperature: float = 0.05):
        super().__init__()
        self.value = nn.Linear(channels, channels)
        self.temperature = temperature

    def forward(self, sketch_feat, ref_feat, return_attention=False):
        b, c, h, w = sketch_feat.shape
        x = sketch_feat.flatten(2).transpose(1, 2)  # (B, N, C)
        y = ref_feat.flatten(2).transpose(1, 2)  # (B, M, C)
        sim = F.normalize(x, dim=-1) @ F.normalize(y, dim=-1).transpose(1, 2)  # (B, N, M)
        attention = torch.softmax(sim / self.temperature, dim=-1)
        fused = x + attention @ self.value(y)
        fused = fused.transpose(1, 2).reshape(b, c, h, w)
        return (fused, attention) if return_attention else fused
