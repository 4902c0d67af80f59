"""JSON that every parser reads: a measured value that is not finite is written as ``null``.

Python's ``json`` writes ``NaN`` and ``Infinity`` by default, which RFC 8259 does not allow and
strict parsers (JavaScript's ``JSON.parse``, ``jq``, most non-Python readers) reject. A metric
can be NaN for honest reasons (a rank correlation over constant values, a statistic with no
labelled rows), so every record colorizer writes goes through :func:`strict_dumps`.
"""
import json
import math
from typing import Any


def finite_or_none(value: Any) -> Any:
    """``value`` with every float that is NaN or infinite replaced by ``None``, recursively
    through dicts, lists and tuples (tuples become lists, as JSON has no tuples)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: finite_or_none(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_or_none(item) for item in value]
    return value


def strict_dumps(value: Any, **kwargs) -> str:
    """``json.dumps`` of :func:`finite_or_none` ``(value)``; never writes NaN or Infinity.

    Raises:
        TypeError: as ``json.dumps``, for a value JSON cannot represent.
    """
    return json.dumps(finite_or_none(value), allow_nan=False, **kwargs)
