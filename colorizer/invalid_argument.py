"""One error type for a constructor argument outside its valid set, and the checks that raise it.

Every plugin (attention module, dataset, transform, loss, metric) checks its constructor
arguments with these functions. The error carries the argument's name, its value and a phrase
for the valid set, so a start-up check that builds the components from a config
(:func:`colorizer.engine.component_validation.check_components`) can report the config key
path (``model.generator.attention.norm = 'single'``) instead of a traceback from deep inside
the build. It stays a ``ValueError``: code that caught the former errors still catches it.
"""
import math
from numbers import Integral, Real
from typing import Any, Optional, Sequence, Tuple, Union

__all__ = ['InvalidArgumentError', 'check_choice', 'check_number', 'check_size']


class InvalidArgumentError(ValueError):
    """A constructor argument with a value outside its valid set.

    Attributes:
        argument: The argument's name as the constructor (and so the config) spells it.
        value: The value given.
        valid: What is valid, as a phrase (``"one of ('double', 'softmax')"``).
        owner: The class that refused it, if known.
    """

    def __init__(self, argument: str, value: Any = None, valid: str = '', owner: str = ''):
        self.argument, self.value, self.valid, self.owner = argument, value, valid, owner
        where = f'{owner}: ' if owner else ''
        super().__init__(f'{where}{argument}={value!r} is not valid; valid: {valid}'
                         if valid else argument)

    def __reduce__(self):  # DataLoader workers pickle exceptions
        return type(self), (self.argument, self.value, self.valid, self.owner)


def check_choice(argument: str, value: Any, choices: Sequence, owner: str = '') -> Any:
    """Return ``value`` if it is one of ``choices``.

    Raises:
        InvalidArgumentError: Naming ``argument``, ``value`` and ``choices``.
    """
    try:
        ok = value in choices
    except TypeError:  # an unhashable value against a set
        ok = False
    if not ok:
        raise InvalidArgumentError(argument, value, f'one of {tuple(choices)}', owner)
    return value


def check_number(argument: str, value: Any, minimum: Optional[float] = None,
                 maximum: Optional[float] = None, *, exclusive_minimum: bool = False,
                 exclusive_maximum: bool = False, integer: bool = False,
                 allow_none: bool = False, allow_inf: bool = False, owner: str = '') -> Any:
    """Return ``value`` if it is a number (an int if ``integer``) in the given range.

    Args:
        argument: The argument's name.
        value: The value given.
        minimum: Lower bound (inclusive unless ``exclusive_minimum``).
        maximum: Upper bound (inclusive unless ``exclusive_maximum``).
        integer: Require an integer (``bool`` is refused either way).
        allow_none: ``None`` is valid too.
        allow_inf: ``math.inf`` is valid (NaN never is).
        owner: The refusing class's name, for the message.

    Raises:
        InvalidArgumentError: Naming ``argument``, ``value`` and the valid range.
    """
    if value is None and allow_none:
        return value
    kind = Integral if integer else Real
    ok = isinstance(value, kind) and not isinstance(value, bool) and not (
        isinstance(value, float) and (math.isnan(value) or (math.isinf(value) and not allow_inf)))
    if ok and minimum is not None:
        ok = value > minimum if exclusive_minimum else value >= minimum
    if ok and maximum is not None:
        ok = value < maximum if exclusive_maximum else value <= maximum
    if not ok:
        raise InvalidArgumentError(argument, value, _range_phrase(
            minimum, maximum, exclusive_minimum, exclusive_maximum, integer, allow_none),
            owner)
    return value


def _range_phrase(minimum, maximum, exclusive_minimum, exclusive_maximum, integer,
                  allow_none) -> str:
    kind = 'an integer' if integer else 'a number'
    bounds = []
    if minimum is not None:
        bounds.append(f'{">" if exclusive_minimum else ">="} {minimum}')
    if maximum is not None:
        bounds.append(f'{"<" if exclusive_maximum else "<="} {maximum}')
    phrase = f'{kind} {" and ".join(bounds)}'.strip()
    return phrase + (' or None' if allow_none else '')


def check_size(argument: str, value: Any, minimum: int = 1,
               owner: str = '') -> Tuple[int, int]:
    """An image size given as a side length or an ``(h, w)`` pair, as ``(h, w)``.

    Raises:
        InvalidArgumentError: Not an int or a pair of ints, or a side below ``minimum``.
    """
    pair: Union[Tuple[Any, Any], None] = None
    if isinstance(value, Integral) and not isinstance(value, bool):
        pair = (value, value)
    elif isinstance(value, (tuple, list)) and len(value) == 2:
        pair = tuple(value)
    ok = pair is not None and all(
        isinstance(v, Integral) and not isinstance(v, bool) and v >= minimum for v in pair)
    if not ok:
        raise InvalidArgumentError(
            argument, value, f'an integer >= {minimum} or an (h, w) pair of them', owner)
    return int(pair[0]), int(pair[1])
