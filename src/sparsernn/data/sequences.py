"""Examples that are not labelled strings: real-valued sequences, and strings with a target per step.

:class:`LabelledSequences` holds sequences of real vectors (``(T_i, C)`` arrays, lengths
may differ) with a class label each -- time series such as the UCR/UEA problems.
:class:`StepStrings` holds strings with a target at every step, each target a string of
symbols: the set of legal next symbols (embedded Reber next-symbol prediction), or the
one next symbol (character language modelling). Both behave like
:class:`~sparsernn.data.strings.LabelledStrings` (``len``, :meth:`take`, :meth:`lengths`)
and are immutable.

Examples
--------
>>> import numpy as np
>>> series = LabelledSequences([np.zeros((3, 2)), np.ones((5, 2))], [0, 1])
>>> len(series), series.channels, series.lengths().tolist()
(2, 2, [3, 5])
>>> steps = StepStrings(["BT", "BP"], [("TP", "SX"), ("TP", "TV")])
>>> steps.take([1]).targets
(('TP', 'TV'),)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from .strings import check_labels

__all__ = ["LabelledSequences", "StepStrings"]


@dataclass(frozen=True, eq=False)
class LabelledSequences:
    """Sequences of real vectors with a class label each.

    Parameters
    ----------
    values : sequence of array-like, each of shape (T_i, C)
        One ``float32`` array per sequence, ``T_i >= 1`` steps of the same ``C >= 1``
        channels; every value finite. Stored as a tuple of read-only copies.
    labels : array-like of int
        One class index ``>= 0`` per sequence.

    Raises
    ------
    InputError
        If a sequence is not 2-D, is empty, has another channel count than the first,
        holds a non-finite value, or if the labels do not match.
    """

    values: tuple[np.ndarray, ...]
    labels: np.ndarray

    def __post_init__(self) -> None:
        values = []
        for i, v in enumerate(self.values):
            try:
                array = np.array(v, dtype=np.float32)
            except (TypeError, ValueError):
                raise InputError(f"LabelledSequences.values[{i}] must be a numeric (T, C) array.") from None
            if array.ndim != 2 or array.shape[0] < 1 or array.shape[1] < 1:
                raise InputError(f"LabelledSequences.values[{i}] must be a (T, C) array with T, C >= 1; "
                                 f"got shape {array.shape}.")
            if values and array.shape[1] != values[0].shape[1]:
                raise InputError(f"LabelledSequences.values[{i}] has {array.shape[1]} channels; "
                                 f"values[0] has {values[0].shape[1]}.")
            if not np.isfinite(array).all():
                raise InputError(f"LabelledSequences.values[{i}] holds a value that is NaN or infinite.")
            array.setflags(write=False)
            values.append(array)
        object.__setattr__(self, "values", tuple(values))
        object.__setattr__(self, "labels", check_labels(self.labels, len(values), "LabelledSequences"))

    def __len__(self) -> int:
        return len(self.values)

    @property
    def channels(self) -> int:
        """Number of channels ``C`` (0 when there are no sequences)."""
        return self.values[0].shape[1] if self.values else 0

    def take(self, indices: Sequence[int] | np.ndarray) -> LabelledSequences:
        """The sequences and labels at ``indices``, in that order."""
        idx = np.asarray(indices, dtype=np.int64)
        return LabelledSequences(tuple(self.values[i] for i in idx), self.labels[idx])

    def lengths(self) -> np.ndarray:
        """Number of steps of every sequence, as an ``int64`` array."""
        return np.fromiter((len(v) for v in self.values), dtype=np.int64, count=len(self.values))


@dataclass(frozen=True, eq=False)
class StepStrings:
    """Strings with a target at every step.

    Parameters
    ----------
    strings : sequence of str
        Each non-empty.
    targets : sequence of sequence of str
        ``targets[i][t]`` is the target after reading ``strings[i][:t + 1]``: a string
        of symbols (a set of legal next symbols, or a single next symbol), one per step.

    Raises
    ------
    InputError
        If a string is empty or not a str, or a string's targets are not one str per step.
    """

    strings: tuple[str, ...]
    targets: tuple[tuple[str, ...], ...]

    def __post_init__(self) -> None:
        if isinstance(self.strings, str):
            raise InputError("StepStrings.strings must be a sequence of strings; got a single str.")
        strings, targets = tuple(self.strings), tuple(tuple(t) for t in self.targets)
        if len(targets) != len(strings):
            raise InputError(f"StepStrings needs one target sequence per string ({len(strings)}); "
                             f"got {len(targets)}.")
        for i, (s, t) in enumerate(zip(strings, targets)):
            if not isinstance(s, str) or not s:
                raise InputError(f"StepStrings.strings[{i}] must be a non-empty str; got {s!r}.")
            if len(t) != len(s) or not all(isinstance(x, str) for x in t):
                raise InputError(f"StepStrings.targets[{i}] must hold one str per step of strings[{i}] "
                                 f"({len(s)}); got {len(t)}.")
        object.__setattr__(self, "strings", strings)
        object.__setattr__(self, "targets", targets)

    def __len__(self) -> int:
        return len(self.strings)

    def take(self, indices: Sequence[int] | np.ndarray) -> StepStrings:
        """The strings and targets at ``indices``, in that order."""
        idx = np.asarray(indices, dtype=np.int64)
        return StepStrings(tuple(self.strings[i] for i in idx), tuple(self.targets[i] for i in idx))

    def lengths(self) -> np.ndarray:
        """Length of every string, as an ``int64`` array."""
        return np.fromiter((len(s) for s in self.strings), dtype=np.int64, count=len(self.strings))
