"""Tolerances of float32 comparisons, derived from the computation instead of tuned on a run.

Two float32 computations of the same value (a chunked and a materialised attention, a batch and
a single sample, PyTorch and onnxruntime) differ by their rounding errors. Each rounding is at
most ``eps / 2`` relative (``eps`` = 2**-23 for float32); a sum of ``n`` terms of magnitude ``M``
in a different order differs by about ``eps * M * sqrt(n)`` (random-walk accumulation; the
worst case is ``n`` instead of ``sqrt(n)``), and a chain of reductions adds their lengths. So a
comparison allows

    atol = k * eps * magnitude * sqrt(reduction_length)

with ``magnitude`` the scale of the terms summed (by default the largest value of the expected
tensor: a reduction's rounding follows its terms' scale, not each output element's), the
``reduction_length`` the number of terms summed along the computation (the caller spells it out
from the shapes), and ``k`` = :data:`K` a safety factor of order ten that covers the constant of
the random walk, two independent computations and the condition of softmax / normalisation.
A failure then means an error beyond float32 rounding, not an unlucky CPU.
"""
import math

import torch

#: float32 machine epsilon (2**-23).
EPS32 = torch.finfo(torch.float32).eps
#: Safety factor over the sqrt(n) rounding estimate (see the module docstring).
K = 16.0


def float32_atol(magnitude: float, reduction_length: int, k: float = K) -> float:
    """``k * eps32 * magnitude * sqrt(reduction_length)``.

    Args:
        magnitude: Scale of the summed terms (e.g. the largest absolute value involved).
        reduction_length: Terms summed along the computation (sum over a chain of reductions).
        k: Safety factor.
    """
    return k * EPS32 * float(magnitude) * math.sqrt(max(1, int(reduction_length)))


def assert_close_float32(actual: torch.Tensor, expected: torch.Tensor, reduction_length: int,
                         magnitude: float = None, k: float = K, msg: str = None) -> None:
    """``torch.testing.assert_close`` with the float32 rounding bound as ``atol`` (rtol 0).

    Args:
        actual, expected: Tensors of the same shape.
        reduction_length: Terms summed along the computation of each element.
        magnitude: Scale of the summed terms; default the largest ``|expected|`` (at least
            the smallest normal float32, so an all-zero tensor must match exactly).
        k: Safety factor.
        msg: Extra message on failure.
    """
    expected_t = torch.as_tensor(expected)
    if magnitude is None:
        magnitude = max(float(expected_t.abs().max()) if expected_t.numel() else 0.0,
                        torch.finfo(torch.float32).tiny)
    atol = float32_atol(magnitude, reduction_length, k)
    torch.testing.assert_close(actual, expected, rtol=0, atol=atol,
                               msg=(lambda m: f'{m}\n(float32 bound: atol {atol:.3g} = {k} * eps'
                                    f' * {magnitude:.3g} * sqrt({reduction_length})) {msg or ""}'))
