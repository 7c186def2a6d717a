"""Parameter checks shared by the data modules.

Each check raises :class:`~sparsernn.errors.InputError` with one line in the house
form: "The 'p' parameter of f must be ...; got ...".
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from ..errors import InputError


def _is_int(value: object) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _is_real(value: object) -> bool:
    return (isinstance(value, (int, float, np.integer, np.floating))
            and not isinstance(value, (bool, np.bool_)))


def check_int(value: object, name: str, func: str, *, minimum: int | None = None) -> int:
    """Return ``value`` as an int, or raise if it is not an int ``>= minimum``."""
    if not _is_int(value) or (minimum is not None and value < minimum):
        expected = "an int" if minimum is None else f"an int >= {minimum}"
        raise InputError(f"The {name!r} parameter of {func} must be {expected}; got {value!r}.")
    return int(value)


def check_fraction(value: object, name: str, func: str, *, high_open: bool = False,
                   low_open: bool = False) -> float:
    """Return ``value`` as a float in [0, 1] (ends excluded as asked), or raise."""
    ok = _is_real(value) and math.isfinite(value)
    if ok:
        v = float(value)
        ok = (0.0 < v if low_open else 0.0 <= v) and (v < 1.0 if high_open else v <= 1.0)
    if not ok:
        interval = ("(" if low_open else "[") + "0, 1" + (")" if high_open else "]")
        raise InputError(f"The {name!r} parameter of {func} must be a float in {interval}; got {value!r}.")
    return float(value)


def check_split_fractions(test_fraction: object, validation_fraction: object,
                          func: str) -> tuple[float, float]:
    """Check the two split fractions: each in [0, 1) and their sum below 1."""
    test = check_fraction(test_fraction, "test_fraction", func, high_open=True)
    validation = check_fraction(validation_fraction, "validation_fraction", func, high_open=True)
    if test + validation >= 1.0:
        raise InputError(
            f"The 'test_fraction' and 'validation_fraction' parameters of {func} must sum to less "
            f"than 1 so that some strings are left for training; got {test!r} + {validation!r}."
        )
    return test, validation


def check_choice(value: object, name: str, func: str, choices: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``choices``, or raise listing them."""
    choices = tuple(choices)
    if not isinstance(value, str) or value not in choices:
        listed = ", ".join(repr(c) for c in choices)
        raise InputError(f"The {name!r} parameter of {func} must be one of {listed}; got {value!r}.")
    return value


def check_seed(seed: object, func: str) -> int:
    """Return ``seed`` as an int (the builders derive several seeds from it), or raise."""
    if not _is_int(seed):
        raise InputError(f"The 'seed' parameter of {func} must be an int; got {seed!r}.")
    return int(seed)


def round_half_up(x: float) -> int:
    """Round a non-negative number to the nearest int, halves up (not to even)."""
    return int(math.floor(x + 0.5))
