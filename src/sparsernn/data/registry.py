"""Datasets by name: the built-in ones, or the path of a CSV or ``.npz`` file.

Every built-in dataset is generated, or read from data that ships inside an installed
package, never downloaded: :func:`list_datasets` says which, with its task (see
:mod:`sparsernn.tasks`) and input kind.

Example
-------
>>> [info.name for info in list_datasets()][:4]
['reber', 'embedded-reber', 'embedded-reber-next', 'pydoc-topics']
>>> data = load_dataset("reber", seed=0, num_strings=40)
>>> data.name, len(data.train) + len(data.test)
('reber', 40)
"""

from __future__ import annotations

import functools
import importlib.util
import inspect
import os
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ..errors import InputError
from .csv_file import csv_dataset
from .digits import digits_dataset
from .npz_file import npz_dataset
from .reber import embedded_reber_dataset, reber_dataset
from .reber_next import embedded_reber_next_dataset
from .strings import DatasetSplits
from .text import pydoc_text_dataset
from .ucr import UCR_PROBLEMS, ucr_dataset

__all__ = ["DatasetInfo", "dataset_options", "dataset_source", "describe_dataset", "list_datasets", "load_dataset"]


class DatasetInfo(NamedTuple):
    """A built-in dataset.

    Attributes
    ----------
    name : str
        What :func:`load_dataset` takes.
    description : str
        One line.
    task : str
        ``classify``, ``next_symbols`` or ``language_model`` (:mod:`sparsernn.tasks`).
    inputs : str
        ``symbols`` (strings, embedded) or ``vectors`` (real-valued, a linear input layer).
    source : str
        Where the data comes from: generated, or the package that bundles it.
    extra : str or None
        The ``pip install 'sparsernn[EXTRA]'`` extra it needs, if any.
    """

    name: str
    description: str
    task: str
    inputs: str
    source: str
    extra: str | None = None

    @property
    def installed(self) -> bool:
        """Whether what it needs is installed (always, without an extra)."""
        return self.extra is None or importlib.util.find_spec("aeon") is not None


_AEON = "bundled in aeon 1.6.0 (UCR/UEA archive)"
_BUILTIN: dict[str, tuple[DatasetInfo, Callable[..., DatasetSplits]]] = {
    info.name: (info, builder) for info, builder in [
        (DatasetInfo("reber", "Reber grammar strings (valid) against strings that break one transition (invalid); "
                     "25,000 strings of length >= 11 by default.", "classify", "symbols", "generated"),
         reber_dataset),
        (DatasetInfo("embedded-reber", "Embedded Reber grammar: B T <reber> T E or B P <reber> P E; the second "
                     "symbol must come back at the end (long-range memory).", "classify", "symbols", "generated"),
         embedded_reber_dataset),
        (DatasetInfo("embedded-reber-next", "Embedded Reber strings; at every step predict the set of legal next "
                     "symbols (Hochreiter & Schmidhuber 1997).", "next_symbols", "symbols", "generated"),
         embedded_reber_next_dataset),
        (DatasetInfo("pydoc-topics", "Character-level language modelling on the help texts of Python's "
                     "pydoc_data.topics (about 465,000 characters of English).", "language_model", "symbols",
                     "Python standard library (pydoc_data)"),
         pydoc_text_dataset),
        (DatasetInfo("digits", "Handwritten digits, 8x8 images read row by row: 8 steps of 8 features, 10 "
                     "classes.", "classify", "vectors", "bundled in scikit-learn"),
         digits_dataset),
        *[(DatasetInfo(f"ucr:{name}", f"The {name} time-series classification problem, its official "
                       "train/test split.", "classify", "vectors", _AEON, "data"),
           functools.partial(ucr_dataset, name)) for name in UCR_PROBLEMS],
    ]
}
_FILES = {".csv": ("csv", csv_dataset), ".npz": ("npz", npz_dataset)}


def list_datasets() -> list[DatasetInfo]:
    """The built-in datasets, in a fixed order."""
    return [info for info, _ in _BUILTIN.values()]


def dataset_source(name_or_path: str) -> str | None:
    """What ``name_or_path`` names: ``"builtin"`` (a name from :func:`list_datasets`),
    ``"csv"`` or ``"npz"`` (a name ending so; an existing file of another name is read
    as CSV) or None (none of these).

    The one rule for telling them apart: a built-in name wins over a file of the same
    name in the working directory, unless it ends in ``.csv`` or ``.npz``.

    Examples
    --------
    >>> dataset_source("reber"), dataset_source("runs/strings.csv"), dataset_source("x.npz"), dataset_source("nope")
    ('builtin', 'csv', 'npz', None)
    """
    suffix = Path(name_or_path).suffix.lower()
    if name_or_path in _BUILTIN and suffix not in _FILES:
        return "builtin"
    if suffix in _FILES:
        return _FILES[suffix][0]
    if Path(name_or_path).is_file():
        return "csv"
    return None


def _builder(name_or_path: str) -> tuple[str, Callable[..., DatasetSplits], tuple]:
    source = dataset_source(name_or_path)
    if source == "builtin":
        return f"the {name_or_path!r} dataset", _BUILTIN[name_or_path][1], ()
    if source is not None:
        return f"a {source.upper()} file", dict(_FILES.values())[source], (name_or_path,)
    names = ", ".join(repr(n) for n in _BUILTIN)
    raise InputError(f"Unknown dataset {name_or_path!r}; expected one of {names} or the path of a CSV or .npz "
                     "file.")


def describe_dataset(name: str, *, seed: int = 0) -> dict:
    """What ``sparsernn datasets`` shows of a built-in dataset, built with its defaults and
    ``seed``: its :class:`DatasetInfo` fields, ``installed``, the number of ``classes``
    (outputs), the split sizes and the sequence lengths (min, median, max over all splits).
    Sizes and lengths are None when what it needs is not installed.

    >>> row = describe_dataset("digits")
    >>> row["task"], row["inputs"], row["classes"], row["train"], row["test"], row["lengths"]
    ('classify', 'vectors', 10, 1348, 449, (8, 8.0, 8))
    """
    info = _BUILTIN[name][0]
    row = {**info._asdict(), "installed": info.installed, "classes": None, "train": None, "validation": None,
           "test": None, "lengths": None}
    if not info.installed:
        return row
    data = load_dataset(name, seed=seed)
    lengths = np.concatenate([part.lengths() for part in data.splits().values()])
    row.update(classes=len(data.classes), train=len(data.train), test=len(data.test),
               validation=None if data.validation is None else len(data.validation),
               lengths=(int(lengths.min()), float(np.median(lengths)), int(lengths.max())))
    return row


def dataset_options(name_or_path: str) -> list[str]:
    """The keyword options :func:`load_dataset` takes for ``name_or_path`` (``seed`` aside).

    >>> dataset_options("digits")
    ['test_fraction', 'validation_fraction', 'standardize']
    """
    builder = _builder(name_or_path)[1]
    return [name for name, p in inspect.signature(builder).parameters.items()
            if name not in ("path", "seed") and p.kind is not p.POSITIONAL_ONLY and
            not (isinstance(builder, functools.partial) and name == "name")]


def load_dataset(name_or_path: str | os.PathLike, *, seed: int, **options: object) -> DatasetSplits:
    """Build a built-in dataset or read a CSV or ``.npz`` file, split with ``seed``.

    Parameters
    ----------
    name_or_path : str or path-like
        A name from :func:`list_datasets`, or the path of a CSV file
        (:func:`~sparsernn.data.csv_file.csv_dataset`: anything ending in ``.csv``, or
        an existing file) or of a NumPy ``.npz`` file
        (:func:`~sparsernn.data.npz_file.npz_dataset`). A built-in name wins over a
        file of the same name in the working directory, unless it ends in ``.csv`` or
        ``.npz``.
    seed : int
    **options
        Keyword parameters of the builder (:func:`dataset_options` lists them): e.g.
        :func:`~sparsernn.data.reber.reber_dataset` takes ``num_strings``,
        ``min_length``, ...; a CSV file ``test_fraction``, ``validation_fraction``,
        ``string_column`` and ``label_column``.

    Raises
    ------
    InputError
        For an unknown name, an option the dataset does not take, or any error of the
        builder.
    """
    if isinstance(name_or_path, os.PathLike):
        name_or_path = os.fspath(name_or_path)
    if not isinstance(name_or_path, str) or not name_or_path:
        raise InputError(f"load_dataset expects a dataset name or the path of a file; got {name_or_path!r}.")
    label, builder, args = _builder(name_or_path)
    allowed = dataset_options(name_or_path)
    unknown = [k for k in options if k not in allowed]
    if unknown:
        plural = len(unknown) > 1
        raise InputError(
            f"Option{'s' if plural else ''} {', '.join(repr(k) for k in unknown)} "
            f"{'do' if plural else 'does'} not apply to {label}; its options are "
            f"{', '.join(repr(k) for k in allowed)}."
        )
    return builder(*args, seed=seed, **options)
