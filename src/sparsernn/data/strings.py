"""Labelled strings, the splits of a dataset, and a stratified split.

A classification dataset of symbols is a list of strings with a class label each
(:class:`LabelledStrings`); of real vectors, a list of ``(T_i, C)`` arrays with a label
each (:class:`~sparsernn.data.sequences.LabelledSequences`); a per-step task's, strings
with a target at every step (:class:`~sparsernn.data.sequences.StepStrings`). A
:class:`DatasetSplits` holds the train, test and optional validation parts of one of
them together with the class names and the task (:mod:`sparsernn.tasks`). All are
immutable.

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
from typing import TYPE_CHECKING

import numpy as np

from .. import seeding
from ..checks import check_fraction
from ..errors import InputError

if TYPE_CHECKING:
    from .sequences import LabelledSequences


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


def check_labels(labels: object, n: int, owner: str) -> np.ndarray:
    """``labels`` as a fresh ``int64`` array of ``n`` class indices ``>= 0``; else InputError
    naming ``owner`` (e.g. ``"LabelledStrings"``)."""
    raw = np.asarray(labels)
    if raw.ndim != 1 or len(raw) != n:
        raise InputError(f"{owner}.labels must be a 1-D array with one label per sequence ({n}); "
                         f"got shape {raw.shape}.")
    if len(raw) and not (np.issubdtype(raw.dtype, np.integer) or raw.dtype == np.bool_):
        raise InputError(f"{owner}.labels must be integer class indices; got dtype {raw.dtype}.")
    out = raw.astype(np.int64)  # always a copy, so the caller's array stays theirs
    bad = np.flatnonzero(out < 0)
    if len(bad):
        raise InputError(f"{owner}.labels must be class indices >= 0; labels[{bad[0]}] is {out[bad[0]]}.")
    return out


@dataclass(frozen=True, eq=False)
class LabelledStrings:
    """Strings with a class label each.

    Parameters
    ----------
    strings : sequence of str
        The strings; each must be non-empty. Stored as a tuple.
    labels : array-like of int
        One label per string, each a class index ``>= 0`` (0 or 1 for a binary task).
        Stored as an ``int64`` copy. (It is left writable, since :func:`torch.as_tensor`
        warns about read-only arrays.)

    Raises
    ------
    InputError
        If a string is not a ``str`` or is empty, if a label is negative or not an
        integer, or if the lengths differ.

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
        object.__setattr__(self, "strings", strings)
        object.__setattr__(self, "labels", check_labels(self.labels, len(strings), "LabelledStrings"))

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


def _split_summary(data) -> dict:
    lengths = data.lengths()
    out = {"size": len(data)}
    if hasattr(data, "labels"):
        counts = np.bincount(data.labels, minlength=2)
        out.update({"positives": int(counts[1])} if len(counts) == 2 else {"class_counts": counts.tolist()})
    return {
        **out,
        "min_length": int(lengths.min()) if len(lengths) else None,
        "mean_length": float(lengths.mean()) if len(lengths) else None,
        "max_length": int(lengths.max()) if len(lengths) else None,
    }


TASKS = ("classify", "next_symbols", "language_model")
"""What a dataset asks of a model (:mod:`sparsernn.tasks` says how each is trained and scored)."""


@dataclass(frozen=True)
class DatasetSplits:
    """A dataset split into train, test and (optionally) validation parts.

    Attributes
    ----------
    name : str
        The dataset's name, e.g. ``"reber"`` or a CSV file's stem.
    train, test : LabelledStrings, LabelledSequences or StepStrings
        All splits hold the same type.
    validation : same type or None
        ``None`` when no validation split was asked for.
    classes : tuple of str
        The names of the model's outputs. ``task="classify"``: at least two distinct
        class names, indexed by label (``classes[1]`` names label 1). Per-step tasks:
        the distinct symbols a target may hold, one output each, in output order.
    task : {"classify", "next_symbols", "language_model"}, default "classify"
        One label per sequence (LabelledStrings or LabelledSequences); the set of legal
        next symbols at every step; the next symbol at every step (both StepStrings).
    """

    name: str
    train: object
    test: object
    validation: object | None
    classes: tuple[str, ...]
    task: str = "classify"

    def __post_init__(self) -> None:
        from .sequences import LabelledSequences, StepStrings

        if not isinstance(self.name, str) or not self.name:
            raise InputError(f"DatasetSplits.name must be a non-empty str; got {self.name!r}.")
        if self.task not in TASKS:
            raise InputError(f"DatasetSplits.task must be one of {', '.join(TASKS)}; got {self.task!r}.")
        allowed = (LabelledStrings, LabelledSequences) if self.task == "classify" else (StepStrings,)
        kind = type(self.train) if isinstance(self.train, allowed) else None
        names = " or ".join(t.__name__ for t in allowed)
        for field in ("train", "test", "validation"):
            part = getattr(self, field)
            if part is None and field == "validation":
                continue
            if kind is None or type(part) is not kind:
                expected = names if kind is None else kind.__name__
                raise InputError(f"DatasetSplits.{field} of a {self.task!r} dataset must be a {expected}; "
                                 f"got {type(part).__name__}.")
        classes = tuple(self.classes)
        if not all(isinstance(c, str) for c in classes) or len(set(classes)) != len(classes) or len(classes) < 2:
            raise InputError(f"DatasetSplits.classes must be at least two distinct names; got {self.classes!r}.")
        for field, part in self.splits().items():
            if self.task == "classify" and len(part) and int(part.labels.max()) >= len(classes):
                raise InputError(f"DatasetSplits.{field} has label {int(part.labels.max())}, but there are only "
                                 f"{len(classes)} classes.")
            if self.task != "classify":
                known = set(classes)
                bad = next((x for t in part.targets for step in t for x in step if x not in known), None)
                if bad is not None:
                    raise InputError(f"DatasetSplits.{field} has target symbol {bad!r}, which is not one of "
                                     "its classes.")
        object.__setattr__(self, "classes", classes)

    def splits(self) -> dict[str, object]:
        """The splits by name: train, test, and validation if there is one."""
        out = {"train": self.train, "test": self.test}
        if self.validation is not None:
            out["validation"] = self.validation
        return out

    def summary(self) -> dict:
        """Sizes, class counts and lengths of every split, as plain JSON-able data.

        A binary dataset counts its ``positives``, a dataset of more classes its
        ``class_counts``; lengths of an empty split are ``None``. A task other than
        ``"classify"`` is named under ``"task"``.

        Examples
        --------
        >>> train = LabelledStrings(["BTXSE", "BTTTE"], [1, 0])
        >>> test = LabelledStrings(["BPVVE"], [1])
        >>> summary = DatasetSplits("toy", train, test, None, ("invalid", "valid")).summary()
        >>> summary["num_strings"], summary["splits"]["train"]
        (3, {'size': 2, 'positives': 1, 'min_length': 5, 'mean_length': 5.0, 'max_length': 5})
        """
        splits = {name: _split_summary(data) for name, data in self.splits().items()}
        task = {} if self.task == "classify" else {"task": self.task}
        return {
            "name": self.name,
            **task,
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
    data: LabelledStrings | LabelledSequences,
    *,
    test_fraction: float = 0.25,
    validation_fraction: float = 0.0,
    seed: int | np.random.Generator,
) -> tuple:
    """Split ``data`` into train, test and validation parts with the same class balance.

    Parameters
    ----------
    data : LabelledStrings or LabelledSequences
        Labels are class indices; every class from 0 to the largest label is split.
    test_fraction, validation_fraction : float
        Each in [0, 1), summing to less than 1. A fraction of 0 for validation gives
        ``None`` for that split; a test fraction of 0 gives an empty test split.
    seed : int or numpy.random.Generator

    Returns
    -------
    train, test, validation : the type of ``data``; validation None when its fraction is 0

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
    from .sequences import LabelledSequences

    if not isinstance(data, (LabelledStrings, LabelledSequences)):
        raise InputError(f"The 'data' parameter of {func} must be a LabelledStrings or a LabelledSequences; "
                         f"got {type(data).__name__}.")
    test_fraction, validation_fraction = check_split_fractions(test_fraction, validation_fraction, func)
    rng = seeding.rng(seed, func)

    classes = range(max(2, int(data.labels.max()) + 1 if len(data) else 2))
    counts = [int(np.sum(data.labels == label)) for label in classes]
    n_test = _apportion(test_fraction, counts)
    n_val = [min(v, n - t) for v, n, t in zip(_apportion(validation_fraction, counts), counts, n_test)]
    parts: tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]] = ([], [], [])
    for label in classes:
        idx = rng.permutation(np.flatnonzero(data.labels == label))
        t, v = n_test[label], n_val[label]
        parts[1].append(idx[:t])
        parts[2].append(idx[t:t + v])
        parts[0].append(idx[t + v:])
    train, test, validation = (data.take(rng.permutation(np.concatenate(p))) for p in parts)
    return train, test, (validation if validation_fraction > 0 else None)

