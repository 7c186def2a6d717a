"""Labelled strings, the splits of a dataset, and a stratified split.

A dataset in sparsernn is a list of strings with a binary label each
(:class:`LabelledStrings`); a :class:`DatasetSplits` holds its train, test and optional
validation parts together with the class names. Both are immutable.

Example
-------
>>> data = LabelledStrings(("BTXSE", "BPVVE", "BTTE", "BXE"), [1, 1, 0, 0])
>>> len(data), data.labels.tolist()
(4, [1, 1, 0, 0])
>>> train, test, validation = stratified_split(data, test_fraction=0.5, seed=0)
>>> sorted(train.labels.tolist()), sorted(test.labels.tolist()), validation
([0, 1], [0, 1], None)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .. import seeding
from ..checks import check_fraction
from ..errors import InputError


def check_split_fractions(test_fraction: object, validation_fraction: object,
                          func: str) -> tuple[float, float]:
    """Check the two split fractions of ``func``: each in [0, 1) and their sum below 1."""
    test = check_fraction(test_fraction, "test_fraction", func, high_open=True)
    validation = check_fraction(validation_fraction, "validation_fraction", func, high_open=True)
    if test + validation >= 1.0:
        raise InputError(
            f"The 'test_fraction' and 'validation_fraction' parameters of {func} must sum to less "
            f"than 1 so that some strings are left for training; got {test!r} + {validation!r}."
        )
    return test, validation


def round_half_up(x: float) -> int:
    """Round a non-negative number to the nearest int, halves up (not to even).

    >>> round_half_up(2.5), round(2.5)
    (3, 2)
    """
    return int(math.floor(x + 0.5))


@dataclass(frozen=True, eq=False)
class LabelledStrings:
    """Strings with a binary label each.

    Parameters
    ----------
    strings : sequence of str
        The strings; each must be non-empty. Stored as a tuple.
    labels : array-like of int
        One label per string, each 0 or 1. Stored as an ``int64`` copy. (It is left
        writable, since :func:`torch.as_tensor` warns about read-only arrays.)

    Raises
    ------
    InputError
        If a string is not a ``str`` or is empty, if a label is not 0 or 1, or if the
        lengths differ.

    Examples
    --------
    >>> data = LabelledStrings(["BTXSE", "BTTE"], [1, 0])
    >>> data.strings, data.labels.dtype.name, len(data)
    (('BTXSE', 'BTTE'), 'int64', 2)
    >>> data == LabelledStrings(("BTXSE", "BTTE"), np.array([1, 0]))
    True
    """

    strings: tuple[str, ...]
    labels: np.ndarray

    def __post_init__(self) -> None:
        if isinstance(self.strings, str):
            raise InputError("LabelledStrings.strings must be a sequence of strings; got a single str.")
        strings = tuple(self.strings)
        for i, s in enumerate(strings):
            if not isinstance(s, str):
                raise InputError(f"LabelledStrings.strings[{i}] must be a str; got {s!r}.")
            if not s:
                raise InputError(f"LabelledStrings.strings[{i}] is empty; every string needs at least one symbol.")
        raw = np.asarray(self.labels)
        if raw.ndim != 1 or len(raw) != len(strings):
            raise InputError(
                f"LabelledStrings.labels must be a 1-D array with one label per string ({len(strings)}); "
                f"got shape {raw.shape}."
            )
        if len(raw) and not (np.issubdtype(raw.dtype, np.integer) or raw.dtype == np.bool_):
            raise InputError(f"LabelledStrings.labels must be integers 0 or 1; got dtype {raw.dtype}.")
        labels = raw.astype(np.int64)  # always a copy, so the caller's array stays theirs
        bad = np.flatnonzero((labels != 0) & (labels != 1))
        if len(bad):
            raise InputError(f"LabelledStrings.labels must be 0 or 1; labels[{bad[0]}] is {labels[bad[0]]}.")
        object.__setattr__(self, "strings", strings)
        object.__setattr__(self, "labels", labels)

    def __len__(self) -> int:
        return len(self.strings)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LabelledStrings):
            return NotImplemented
        return self.strings == other.strings and np.array_equal(self.labels, other.labels)

    __hash__ = None  # equality is by value and the labels are an array

    def take(self, indices: Sequence[int] | np.ndarray) -> LabelledStrings:
        """Return the strings and labels at ``indices``, in that order.

        >>> LabelledStrings(["BTXSE", "BTTE", "BPVVE"], [1, 0, 1]).take([2, 0]).strings
        ('BPVVE', 'BTXSE')
        """
        idx = np.asarray(indices, dtype=np.int64)
        return LabelledStrings(tuple(self.strings[i] for i in idx), self.labels[idx])

    def lengths(self) -> np.ndarray:
        """Length of every string, as an ``int64`` array."""
        return np.fromiter((len(s) for s in self.strings), dtype=np.int64, count=len(self.strings))


def _split_summary(data: LabelledStrings) -> dict:
    lengths = data.lengths()
    return {
        "size": len(data),
        "positives": int(data.labels.sum()),
        "min_length": int(lengths.min()) if len(lengths) else None,
        "mean_length": float(lengths.mean()) if len(lengths) else None,
        "max_length": int(lengths.max()) if len(lengths) else None,
    }


@dataclass(frozen=True)
class DatasetSplits:
    """A dataset split into train, test and (optionally) validation strings.

    Attributes
    ----------
    name : str
        The dataset's name, e.g. ``"reber"`` or a CSV file's stem.
    train, test : LabelledStrings
    validation : LabelledStrings or None
        ``None`` when no validation split was asked for.
    classes : tuple of two str
        Class names, indexed by label: ``classes[1]`` is the name of label 1.
    """

    name: str
    train: LabelledStrings
    test: LabelledStrings
    validation: LabelledStrings | None
    classes: tuple[str, ...]

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise InputError(f"DatasetSplits.name must be a non-empty str; got {self.name!r}.")
        for field in ("train", "test"):
            if not isinstance(getattr(self, field), LabelledStrings):
                raise InputError(f"DatasetSplits.{field} must be a LabelledStrings; got {getattr(self, field)!r}.")
        if self.validation is not None and not isinstance(self.validation, LabelledStrings):
            raise InputError(f"DatasetSplits.validation must be a LabelledStrings or None; got {self.validation!r}.")
        classes = tuple(self.classes)
        if len(classes) != 2 or not all(isinstance(c, str) for c in classes) or classes[0] == classes[1]:
            raise InputError(f"DatasetSplits.classes must be two distinct class names; got {self.classes!r}.")
        object.__setattr__(self, "classes", classes)

    def splits(self) -> dict[str, LabelledStrings]:
        """The splits by name: train, test, and validation if there is one."""
        out = {"train": self.train, "test": self.test}
        if self.validation is not None:
            out["validation"] = self.validation
        return out

    def summary(self) -> dict:
        """Sizes, positives and string lengths of every split, as plain JSON-able data.

        Lengths of an empty split are ``None``.

        Examples
        --------
        >>> train = LabelledStrings(["BTXSE", "BTTTE"], [1, 0])
        >>> test = LabelledStrings(["BPVVE"], [1])
        >>> summary = DatasetSplits("toy", train, test, None, ("invalid", "valid")).summary()
        >>> summary["num_strings"], summary["splits"]["train"]
        (3, {'size': 2, 'positives': 1, 'min_length': 5, 'mean_length': 5.0, 'max_length': 5})
        """
        splits = {name: _split_summary(data) for name, data in self.splits().items()}
        return {
            "name": self.name,
            "classes": list(self.classes),
            "num_strings": sum(s["size"] for s in splits.values()),
            "splits": splits,
        }


def _apportion(fraction: float, counts: list[int]) -> list[int]:
    """Split ``round(fraction * sum(counts))`` between classes in proportion to ``counts``.

    >>> _apportion(0.25, [50, 50]), _apportion(0.25, [12500, 12500]), _apportion(0.5, [3, 1])
    ([13, 12], [3125, 3125], [2, 0])
    """
    total = round_half_up(fraction * sum(counts))
    quotas = [fraction * n for n in counts]
    shares = [int(np.floor(q)) for q in quotas]
    by_remainder = sorted(range(len(counts)), key=lambda c: (-(quotas[c] - shares[c]), c))
    for c in by_remainder[:max(total - sum(shares), 0)]:
        shares[c] += 1
    return shares


def stratified_split(
    data: LabelledStrings,
    *,
    test_fraction: float = 0.25,
    validation_fraction: float = 0.0,
    seed: int | np.random.Generator,
) -> tuple[LabelledStrings, LabelledStrings, LabelledStrings | None]:
    """Split ``data`` into train, test and validation parts with the same class balance.

    Parameters
    ----------
    data : LabelledStrings
    test_fraction, validation_fraction : float
        Each in [0, 1), summing to less than 1. A fraction of 0 for validation gives
        ``None`` for that split; a test fraction of 0 gives an empty test split.
    seed : int or numpy.random.Generator

    Returns
    -------
    train, test, validation : LabelledStrings, LabelledStrings, LabelledStrings or None

    Notes
    -----
    The test split gets :math:`\\lfloor f_{test} N + 1/2 \\rfloor` of the :math:`N`
    strings, shared between the classes in proportion to their sizes (largest
    remainder, ties to label 0); the validation split likewise from
    ``validation_fraction``; the rest is for training. Within each class the strings
    are shuffled before they are dealt out, and each split is shuffled at the end so
    the classes are interleaved. Two classes of 12,500 strings and
    ``test_fraction=0.25`` give exactly 3,125 test strings of each class.

    Examples
    --------
    >>> data = LabelledStrings([f"s{i}" for i in range(8)], [0, 0, 0, 0, 1, 1, 1, 1])
    >>> train, test, val = stratified_split(data, test_fraction=0.25, validation_fraction=0.25, seed=0)
    >>> len(train), len(test), len(val), int(test.labels.sum()), int(val.labels.sum())
    (4, 2, 2, 1, 1)
    """
    func = "stratified_split"
    if not isinstance(data, LabelledStrings):
        raise InputError(f"The 'data' parameter of {func} must be a LabelledStrings; got {type(data).__name__}.")
    test_fraction, validation_fraction = check_split_fractions(test_fraction, validation_fraction, func)
    rng = seeding.rng(seed, func)

    counts = [int(np.sum(data.labels == label)) for label in (0, 1)]
    n_test = _apportion(test_fraction, counts)
    n_val = [min(v, n - t) for v, n, t in zip(_apportion(validation_fraction, counts), counts, n_test)]
    parts: tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]] = ([], [], [])
    for label in (0, 1):
        idx = rng.permutation(np.flatnonzero(data.labels == label))
        t, v = n_test[label], n_val[label]
        parts[1].append(idx[:t])
        parts[2].append(idx[t:t + v])
        parts[0].append(idx[t + v:])
    train, test, validation = (data.take(rng.permutation(np.concatenate(p))) for p in parts)
    return train, test, (validation if validation_fraction > 0 else None)

