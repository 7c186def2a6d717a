"""Embedded Reber next-symbol prediction: the benchmark of the LSTM paper.

Hochreiter and Schmidhuber [1]_ feed an embedded Reber string (``B T <reber> T E`` or
``B P <reber> P E``, see :mod:`sparsernn.data.reber`) one symbol at a time and ask,
at every step, for the set of symbols that may legally come next. A string counts as
learned when every step's prediction is exactly that set.

The target after reading ``s[:t + 1]`` is the set of legal next symbols, written as
a string in the order of :data:`REBER_NEXT_CLASSES` (the grammar's alphabet, sorted:
``B E P S T V X``). For ``s = "BTBTXSETE"``::

    step t      0     1    2     3     4     5    6    7    8
    read        B     T    B     T     X     S    E    T    E
    target      PT    B    PT    SX    SX    E    T    E    ''

The outer and inner ``B`` leave a choice of ``T`` or ``P``; inside the inner string
the target is the two symbols the Reber automaton allows (``E`` once it has reached
its end state); after the final ``E`` nothing may follow, so the target is empty.

Every target but one follows from the symbols of the last few steps. The exception,
the **long-range step** (:func:`long_range_step`), is step ``len(s) - 3``: the last
symbol read is the inner string's final ``E`` and the one legal next symbol is the
second symbol of the string, ``T`` or ``P``, read at step 1, a whole inner string
earlier. Swapping the outer letters (``B T ... T E`` <-> ``B P ... P E``) changes the
target at that step and at no other, so a model's error there measures its long-range
memory alone.

Examples
--------
>>> legal_next("BTBTXSETE")
('PT', 'B', 'PT', 'SX', 'SX', 'E', 'T', 'E', '')
>>> legal_next("BPB")  # a prefix is fine
('PT', 'B', 'PT')
>>> long_range_step("BTBTXSETE"), legal_next("BTBTXSETE")[6]
(6, 'T')
>>> data = embedded_reber_next_dataset(num_strings=20, seed=0)
>>> data.task, data.classes, len(data.train), len(data.test)
('next_symbols', ('B', 'E', 'P', 'S', 'T', 'V', 'X'), 15, 5)

References
----------
.. [1] S. Hochreiter and J. Schmidhuber, "Long short-term memory", Neural Computation
   9(8), 1735-1780, 1997, section 5.1 (experiment 1: embedded Reber grammar).
"""

from __future__ import annotations

import numpy as np

from ..checks import check_int
from ..errors import InputError
from ..seeding import derive_seed
from .reber import _END, _STEP, REBER_ALPHABET, count_reber, generate_embedded_reber, is_embedded_reber
from .sequences import StepStrings
from .strings import DatasetSplits, check_split_fractions, round_half_up

__all__ = ["REBER_NEXT_CLASSES", "embedded_reber_next_dataset", "legal_next", "long_range_step"]

#: The model's outputs for next-symbol prediction: the Reber alphabet, sorted. Every
#: target string lists its symbols in this order.
REBER_NEXT_CLASSES: tuple[str, ...] = tuple(sorted(REBER_ALPHABET))


def _ordered(symbols) -> str:
    return "".join(c for c in REBER_NEXT_CLASSES if c in symbols)


# Legal next symbols inside the inner Reber string, by automaton state (reber._STEP).
_INNER = {state: _ordered(step) for state, step in _STEP.items()}
_INNER[_END] = "E"

# Phases of the outer frame B x B <inner> E x E: what has been read so far.
_START, _AFTER_B, _AFTER_X, _INNER_PHASE, _AFTER_INNER_E, _AFTER_LAST_X, _DONE = range(7)


def _legal(phase: int, inner: int, outer: str) -> str:
    if phase == _START:
        return "B"
    if phase == _AFTER_B:
        return _ordered("TP")
    if phase == _AFTER_X:
        return "B"
    if phase == _INNER_PHASE:
        return _INNER[inner]
    if phase == _AFTER_INNER_E:
        return outer  # the long-range step: the symbol read at step 1
    if phase == _AFTER_LAST_X:
        return "E"
    return ""


def legal_next(string: str) -> tuple[str, ...]:
    """The set of legal next symbols after every prefix ``string[:t + 1]``.

    Parameters
    ----------
    string : str
        A non-empty prefix of an embedded Reber string (a whole string included).

    Returns
    -------
    tuple of str
        One target per symbol of ``string``: the symbols that may follow
        ``string[:t + 1]`` in some embedded Reber string, in the order of
        :data:`REBER_NEXT_CLASSES`; ``""`` after the final ``E``.

    Raises
    ------
    InputError
        If ``string`` is not a str, is empty, or has a symbol that cannot follow the
        symbols before it (the message names its index and what was legal there).

    Examples
    --------
    >>> legal_next("BPBPVVEPE")
    ('PT', 'B', 'PT', 'TV', 'PV', 'E', 'P', 'E', '')
    >>> legal_next("BTBTXSEPE")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    sparsernn.errors.InputError: The 'string' parameter ... 'P' at index 7 cannot follow 'BTBTXSE' (legal: 'T').
    """
    if not isinstance(string, str) or not string:
        raise InputError(f"The 'string' parameter of legal_next must be a non-empty str; got {string!r}.")
    phase, inner, outer = _START, 0, ""
    targets = []
    for t, symbol in enumerate(string):
        legal = _legal(phase, inner, outer)
        if symbol not in legal:
            allowed = f"legal: {legal!r}" if legal else "nothing may follow a whole string"
            raise InputError(f"The 'string' parameter of legal_next must be a prefix of an embedded Reber string; "
                             f"{symbol!r} at index {t} cannot follow {string[:t]!r} ({allowed}).")
        if phase == _AFTER_B:
            outer = symbol
        if phase == _INNER_PHASE and inner != _END:
            inner = _STEP[inner][symbol]
        else:
            phase += 1  # every other symbol moves the outer frame on; so does the inner E
        targets.append(_legal(phase, inner, outer))
    return tuple(targets)


def long_range_step(string: str) -> int:
    """The step of ``string`` whose target is its second symbol: ``len(string) - 3``.

    At that step the model has just read the inner Reber string's final ``E``; the only
    legal next symbol is the outer letter (``T`` or ``P``) read at step 1, and it is
    the only target of the string that depends on that letter.

    Parameters
    ----------
    string : str
        A whole embedded Reber string.

    Raises
    ------
    InputError
        If ``string`` is not an embedded Reber string.

    Examples
    --------
    >>> s = "BPBTSXXTVPSEPE"
    >>> step = long_range_step(s)
    >>> step, s[step], legal_next(s)[step], s[1]
    (11, 'E', 'P', 'P')
    """
    if not isinstance(string, str) or not is_embedded_reber(string):
        raise InputError(f"The 'string' parameter of long_range_step must be an embedded Reber string; "
                         f"got {string!r}.")
    return len(string) - 3


def embedded_reber_next_dataset(
    *,
    seed: int,
    num_strings: int = 25_000,
    min_length: int = 11,
    max_length: int | None = None,
    test_fraction: float = 0.25,
    validation_fraction: float = 0.0,
) -> DatasetSplits:
    """Embedded Reber strings with the set of legal next symbols at every step.

    Parameters
    ----------
    seed : int
        The strings are drawn from ``derive_seed(seed, "strings")`` and split with
        ``derive_seed(seed, "split")``.
    num_strings : int
        Strings in all splits together, ``>= 2``.
    min_length, max_length : int, int or None
        Length range of the strings (``B`` and both ``E`` included; the shortest has 9
        symbols), as in :func:`~sparsernn.data.reber.generate_embedded_reber`.
    test_fraction, validation_fraction : float
        Each in [0, 1), summing to less than 1. The test split gets
        ``round(test_fraction * num_strings)`` strings (halves up), the validation split
        likewise, the training split the rest; a validation fraction of 0 gives no
        validation split (``None``).

    Returns
    -------
    DatasetSplits
        Named ``"embedded-reber-next"``, task ``"next_symbols"``, classes
        :data:`REBER_NEXT_CLASSES`; every split a
        :class:`~sparsernn.data.sequences.StepStrings` of valid embedded Reber strings
        (there are no negatives) with ``targets[i] == legal_next(strings[i])``.

    Raises
    ------
    InputError
        If a parameter is out of range, the fractions leave no string for training,
        or fewer than ``num_strings`` strings have a length in the range.

    Notes
    -----
    The strings are ``generate_embedded_reber(num_strings, min_length=min_length,
    max_length=max_length)``: distinct by construction, so no string occurs in two
    splits (the duplicate rate across splits is 0). Hochreiter and Schmidhuber drew
    their 256 training and 256 test strings as independent random walks, which repeats
    short strings; drawing distinct strings instead keeps the test split out of the
    training split. The split is a seeded random permutation of the strings.

    Examples
    --------
    >>> data = embedded_reber_next_dataset(num_strings=8, validation_fraction=0.25, seed=1)
    >>> len(data.train), len(data.test), len(data.validation)
    (4, 2, 2)
    >>> s, targets = data.train.strings[0], data.train.targets[0]
    >>> targets == legal_next(s), targets[long_range_step(s)] == s[1], targets[-1]
    (True, True, '')
    """
    func = "embedded_reber_next_dataset"
    seed = check_int(seed, "seed", func)
    num_strings = check_int(num_strings, "num_strings", func, minimum=2)
    min_length = check_int(min_length, "min_length", func, minimum=1)
    if max_length is not None:
        max_length = check_int(max_length, "max_length", func, minimum=min_length)
    test_fraction, validation_fraction = check_split_fractions(test_fraction, validation_fraction, func)
    n_test = round_half_up(test_fraction * num_strings)
    n_val = round_half_up(validation_fraction * num_strings)
    if n_test + n_val >= num_strings:
        raise InputError(
            f"The 'test_fraction' and 'validation_fraction' parameters of {func} leave no string for training: "
            f"{n_test} test and {n_val} validation strings of num_strings={num_strings}."
        )
    if max_length is not None:  # checked here so that the message names this function
        available = 0
        for length in range(min_length, max_length + 1):
            available += count_reber(length, embedded=True)
            if available >= num_strings:
                break
        if available < num_strings:
            raise InputError(
                f"The 'max_length' parameter of {func} leaves only {available} embedded Reber strings with lengths "
                f"in [{min_length}, {max_length}], fewer than num_strings={num_strings}; raise max_length."
            )
    strings = generate_embedded_reber(num_strings, min_length=min_length, max_length=max_length,
                                      seed=derive_seed(seed, "strings"))
    data = StepStrings(tuple(strings), tuple(legal_next(s) for s in strings))
    order = np.random.default_rng(derive_seed(seed, "split")).permutation(num_strings)
    test = data.take(order[:n_test])
    validation = data.take(order[n_test:n_test + n_val]) if validation_fraction > 0 else None
    train = data.take(order[n_test + n_val:])
    return DatasetSplits("embedded-reber-next", train, test, validation, REBER_NEXT_CLASSES, task="next_symbols")
