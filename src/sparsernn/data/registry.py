"""Datasets by name: the built-in generators, or the path of a CSV file.

Example
-------
>>> [info.name for info in list_datasets()]
['reber', 'embedded-reber']
>>> data = load_dataset("reber", seed=0, num_strings=40)
>>> data.name, len(data.train) + len(data.test)
('reber', 40)
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from ..errors import InputError
from .csv_file import csv_dataset
from .reber import embedded_reber_dataset, reber_dataset
from .strings import DatasetSplits

__all__ = ["DatasetInfo", "dataset_source", "list_datasets", "load_dataset"]


class DatasetInfo(NamedTuple):
    """A built-in dataset: its name (for :func:`load_dataset`) and a one-line description."""

    name: str
    description: str


_BUILTIN: dict[str, tuple[str, Callable[..., DatasetSplits]]] = {
    "reber": (
        "Reber grammar strings (valid) against strings that break one transition (invalid); "
        "25,000 strings of length >= 11 by default.",
        reber_dataset,
    ),
    "embedded-reber": (
        "Embedded Reber grammar: B T <reber> T E or B P <reber> P E; the second symbol must "
        "come back at the end (long-range memory).",
        embedded_reber_dataset,
    ),
}


def list_datasets() -> list[DatasetInfo]:
    """The built-in datasets, in a fixed order."""
    return [DatasetInfo(name, description) for name, (description, _) in _BUILTIN.items()]


def dataset_source(name_or_path: str) -> str | None:
    """What ``name_or_path`` names: ``"builtin"`` (a name from :func:`list_datasets`),
    ``"csv"`` (anything ending in ``.csv``, or an existing file) or None (neither).

    The one rule for telling them apart: a built-in name wins over a file of the same
    name in the working directory, unless it ends in ``.csv``.

    Examples
    --------
    >>> dataset_source("reber"), dataset_source("runs/strings.csv"), dataset_source("nope")
    ('builtin', 'csv', None)
    """
    if name_or_path in _BUILTIN and not name_or_path.lower().endswith(".csv"):
        return "builtin"
    if name_or_path.lower().endswith(".csv") or Path(name_or_path).is_file():
        return "csv"
    return None


def _options(builder: Callable[..., DatasetSplits]) -> list[str]:
    return [name for name in inspect.signature(builder).parameters if name not in ("path", "seed")]


def load_dataset(name_or_path: str | os.PathLike, *, seed: int, **options: object) -> DatasetSplits:
    """Build a built-in dataset or read a CSV file, split with ``seed``.

    Parameters
    ----------
    name_or_path : str or path-like
        A name from :func:`list_datasets`, or the path of a CSV file (anything ending in
        ``.csv``, or an existing file) read with
        :func:`~sparsernn.data.csv_file.csv_dataset`. A built-in name wins over a file
        of the same name in the working directory, unless it ends in ``.csv``.
    seed : int
    **options
        Keyword parameters of the builder: :func:`~sparsernn.data.reber.reber_dataset`
        and :func:`~sparsernn.data.reber.embedded_reber_dataset` take ``num_strings``,
        ``min_length``, ... ; a CSV file takes ``test_fraction``,
        ``validation_fraction``, ``string_column`` and ``label_column``.

    Raises
    ------
    InputError
        For an unknown name, an option the dataset does not take, or any error of the
        builder.
    """
    if isinstance(name_or_path, os.PathLike):
        name_or_path = os.fspath(name_or_path)
    if not isinstance(name_or_path, str) or not name_or_path:
        raise InputError(f"load_dataset expects a dataset name or a CSV path; got {name_or_path!r}.")
    source = dataset_source(name_or_path)
    if source == "builtin":
        label, builder, args = f"the {name_or_path!r} dataset", _BUILTIN[name_or_path][1], ()
    elif source == "csv":
        label, builder, args = "a CSV file", csv_dataset, (name_or_path,)
    else:
        names = ", ".join(repr(n) for n in _BUILTIN)
        raise InputError(f"Unknown dataset {name_or_path!r}; expected one of {names} or the path of a CSV file.")
    allowed = _options(builder)
    unknown = [k for k in options if k not in allowed]
    if unknown:
        plural = len(unknown) > 1
        raise InputError(
            f"Option{'s' if plural else ''} {', '.join(repr(k) for k in unknown)} "
            f"{'do' if plural else 'does'} not apply to {label}; its options are "
            f"{', '.join(repr(k) for k in allowed)}."
        )
    return builder(*args, seed=seed, **options)
