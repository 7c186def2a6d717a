"""Parameter checks shared by every sparsernn module.

Each check takes ``(value, name, func, *, ...)``: the value, the parameter's name and
the public function (or class) it was passed to. It returns the value in its canonical
type or raises :class:`~sparsernn.errors.InputError` with one line in the house form
"The 'p' parameter of f must be ...; got ...". Checks that need a graph live in
:mod:`sparsernn.graphs.dag`; seeds are checked by :mod:`sparsernn.seeding`.

Examples
--------
>>> check_int(3, "n", "f", minimum=1)
3
>>> check_fraction(1, "p", "f")
1.0
>>> check_fraction(1.0, "balance", "f", low_open=True, high_open=True)
Traceback (most recent call last):
...
sparsernn.errors.InputError: The 'balance' parameter of f must be a float in (0, 1); got 1.0.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable

import numpy as np

from .errors import InputError

__all__ = ["check_choice", "check_fraction", "check_int", "is_int", "is_real", "listed"]


def is_int(value: object) -> bool:
    """Whether ``value`` is an integer (Python or numpy) and not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def is_real(value: object) -> bool:
    """Whether ``value`` is a real number (Python or numpy, int or float) and not a bool."""
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def _int_range(minimum: int | None, maximum: int | None) -> str:
    """How :func:`check_int` names what it expected: "an int in [1, 9]", "an int >= 1", ..."""
    if minimum is not None and maximum is not None:
        return f"an int in [{minimum}, {maximum}]"
    if minimum is not None:
        return f"an int >= {minimum}"
    if maximum is not None:
        return f"an int <= {maximum}"
    return "an int"


def check_int(value: object, name: str, func: str, *, minimum: int | None = None,
              maximum: int | None = None) -> int:
    """Return ``value`` as an int if it is an int in [minimum, maximum], else raise.

    Parameters
    ----------
    value : object
        What the caller passed.
    name, func : str
        The parameter's name and the function it was passed to, for the message.
    minimum, maximum : int, optional
        Inclusive bounds; either may be left out.

    Returns
    -------
    int

    Raises
    ------
    InputError
        If ``value`` is not an int (bools are refused) or lies outside the bounds.

    Examples
    --------
    >>> check_int(10, "k", "watts_strogatz", minimum=0, maximum=9)
    Traceback (most recent call last):
    ...
    sparsernn.errors.InputError: The 'k' parameter of watts_strogatz must be an int in [0, 9]; got 10.
    """
    if (not is_int(value) or (minimum is not None and value < minimum)
            or (maximum is not None and value > maximum)):
        raise InputError(f"The {name!r} parameter of {func} must be {_int_range(minimum, maximum)}; "
                         f"got {value!r}.")
    return int(value)


def check_fraction(value: object, name: str, func: str, *, low_open: bool = False,
                   high_open: bool = False, allow_int: bool = True) -> float:
    """Return ``value`` as a float if it is a real number in [0, 1], else raise.

    Parameters
    ----------
    value : object
        What the caller passed.
    name, func : str
        The parameter's name and the function it was passed to, for the message.
    low_open, high_open : bool, default False
        Exclude 0, or 1, from the interval.
    allow_int : bool, default True
        Accept the ints 0 and 1. With False every int is refused, and the message ends
        in "(an int; it must be a fraction, not a count)".

    Returns
    -------
    float

    Raises
    ------
    InputError
        If ``value`` is not a finite real number (bools are refused) in the interval.

    Examples
    --------
    >>> check_fraction(0.25, "amount", "magnitude", allow_int=False)
    0.25
    >>> check_fraction(1.5, "p", "erdos_renyi")
    Traceback (most recent call last):
    ...
    sparsernn.errors.InputError: The 'p' parameter of erdos_renyi must be a float in [0, 1]; got 1.5.
    """
    ok = is_real(value) and (allow_int or not is_int(value)) and math.isfinite(value)
    if ok:
        v = float(value)
        ok = (0.0 < v if low_open else 0.0 <= v) and (v < 1.0 if high_open else v <= 1.0)
    if not ok:
        interval = ("(" if low_open else "[") + "0, 1" + (")" if high_open else "]")
        hint = " (an int; it must be a fraction, not a count)" if is_int(value) and not allow_int else ""
        raise InputError(f"The {name!r} parameter of {func} must be a float in {interval}; got {value!r}{hint}.")
    return float(value)


def check_choice(value: object, name: str, func: str, choices: Iterable[str]) -> str:
    """Return ``value`` if it is one of the strings ``choices``, else raise listing them.

    Examples
    --------
    >>> check_choice("topo", "rule", "to_dag", ("index", "random"))
    Traceback (most recent call last):
    ...
    sparsernn.errors.InputError: The 'rule' parameter of to_dag must be one of 'index', 'random'; got 'topo'.
    """
    choices = tuple(choices)
    if not isinstance(value, str) or value not in choices:
        listed = ", ".join(repr(c) for c in choices)
        raise InputError(f"The {name!r} parameter of {func} must be one of {listed}; got {value!r}.")
    return value


def listed(values: Iterable[object], limit: int = 5) -> str:
    """The first ``limit`` values, quoted, for an error message.

    >>> listed(["a", "b"]), listed(range(7))
    ("'a', 'b'", '0, 1, 2, 3, 4 and 2 more')
    """
    values = list(values)
    text = ", ".join(repr(v) for v in values[:limit])
    return text + (f" and {len(values) - limit} more" if len(values) > limit else "")
