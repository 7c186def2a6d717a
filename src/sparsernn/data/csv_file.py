"""Labelled strings from a CSV file.

The file is UTF-8 text with a header row naming a string column and a label column
(``string`` and ``valid`` unless told otherwise); other columns, such as the index
column that :meth:`pandas.DataFrame.to_csv` writes, are ignored. Errors name the file
and, for a bad row, its line in the file (1-based, the header being line 1 when it
opens the file), so an editor can jump to it.

Example
-------
>>> import pathlib, tempfile
>>> path = pathlib.Path(tempfile.mkdtemp()) / "toy.csv"
>>> _ = path.write_text("string,valid\\nBTXSE,1\\nBTTE,0\\n")
>>> data, classes = load_csv(path)
>>> data.strings, data.labels.tolist(), classes
(('BTXSE', 'BTTE'), [1, 0], ('0', '1'))
"""

from __future__ import annotations

import csv
import io
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ..checks import check_int, listed
from ..errors import InputError, unreadable
from ..seeding import derive_seed
from .strings import DatasetSplits, LabelledStrings, check_split_fractions, stratified_split

__all__ = ["csv_dataset", "csv_strings", "load_csv", "read_text"]

# Lower-cased spellings of a boolean label; a pair with one of each is mapped false -> 0.
_FALSE_LIKE = {"0", "false", "no", "invalid", "f", "n"}
_TRUE_LIKE = {"1", "true", "yes", "valid", "t", "y"}
def _as_number(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None


def _bool_value(value: str) -> int | None:
    low = value.lower()
    number = _as_number(value)
    if low in _FALSE_LIKE or number == 0.0:
        return 0
    if low in _TRUE_LIKE or number == 1.0:
        return 1
    return None


def _check_spellings(name: str, label_column: str, first_line: dict[str, int]) -> None:
    """Refuse two spellings of one number as labels (``1`` and ``1.0``, ``01`` or ``+1``),
    which would otherwise become two classes; ``first_line`` maps each spelling to the
    line it first appears on."""
    seen: dict[float, str] = {}
    for value in first_line:  # file order
        number = _as_number(value)
        if number is None or number != number:  # text, or NaN (equal to nothing)
            continue
        if number in seen:
            other = seen[number]
            raise InputError(
                f"{name}, lines {first_line[other]} and {first_line[value]}: labels {other!r} and {value!r} in column "
                f"{label_column!r} are the same number spelled two ways; write each class one way."
            )
        seen[number] = value


def _class_order(values: set[str]) -> tuple[str, str]:
    """Order two label values: false-like before true-like, else numerically or as text."""
    a, b = sorted(values)
    if {_bool_value(a), _bool_value(b)} == {0, 1}:
        return (a, b) if _bool_value(a) == 0 else (b, a)
    na, nb = _as_number(a), _as_number(b)
    if na is not None and nb is not None and na != nb:
        return (a, b) if na < nb else (b, a)
    return a, b


def read_text(path: str | os.PathLike) -> str:
    """The UTF-8 text of file ``path`` (``"-"``: standard input), or one line naming the
    problem: missing, unreadable, a directory, or not UTF-8 (with the line of the first
    bad byte)."""
    name = "standard input" if str(path) == "-" else str(path)
    try:
        raw = sys.stdin.buffer.read() if str(path) == "-" else Path(path).read_bytes()
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
        raise unreadable(name, exc) from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise InputError(
            f"{name}, line {line}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start}); "
            f"save the file as UTF-8."
        ) from None


def _fields(where: str, row: list[str], header: list[str], columns: tuple[int, ...]) -> list[str]:
    """The string (and the label) of a data ``row``, stripped, or InputError saying ``where``."""
    if [cell.strip() for cell in row] == header:
        raise InputError(f"{where}: the header row again; a file has one header row.")
    if len(row) != len(header):
        raise InputError(f"{where}: expected {len(header)} fields as in the header, found {len(row)}.")
    values = [row[i].strip() for i in columns]
    for value, column, what in zip(values, columns, ("empty string", "missing label")):
        if not value:
            raise InputError(f"{where}: {what} in column {header[column]!r}.")
    return values


def _records(name: str, text: str, wanted: tuple[str, ...]) -> Iterator[tuple[int, list[str]]]:
    """``(line, values of the wanted columns)`` of every data row of CSV ``text``, checked."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    header: list[str] | None = None
    try:
        for row in reader:
            line = reader.line_num
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # a blank line
            if header is None:
                header = [cell.strip() for cell in row]
                columns = _find_columns(name, header, wanted)
                continue
            yield line, _fields(f"{name}, line {line}", row, header, columns)
    except csv.Error as exc:
        raise InputError(f"{name}, line {reader.line_num}: malformed CSV ({exc}).") from None


def csv_strings(text: str, name: str, *, string_column: str = "string") -> list[tuple[int, str]]:
    """The strings of column ``string_column`` of CSV ``text`` (read from ``name``), each with
    its line: unlabelled strings to classify, checked as :func:`load_csv` checks them.

    >>> csv_strings("id,string\\n7,BTXSE\\n\\n8,BPE\\n", "new.csv")
    [(2, 'BTXSE'), (4, 'BPE')]
    """
    if not text.strip():
        raise InputError(f"{name}: the file is empty; expected a header row with a column {string_column!r}.")
    rows = [(line, values[0]) for line, values in _records(name, text, (string_column,))]
    if not rows:
        raise InputError(f"{name}: the file has a header row but no data rows.")
    return rows


def load_csv(
    path: str | os.PathLike,
    *,
    string_column: str = "string",
    label_column: str = "valid",
) -> tuple[LabelledStrings, tuple[str, str]]:
    """Read labelled strings from a CSV file with a header row.

    Parameters
    ----------
    path : str or path-like
    string_column, label_column : str
        Header names of the column holding the strings and the one holding the labels.

    Returns
    -------
    data : LabelledStrings
        The strings in file order, duplicates kept, and their labels 0/1.
    classes : tuple of two str
        The label values as written, indexed by label.

    Raises
    ------
    InputError
        One line naming the file and, where it applies, the line: a missing, unreadable
        or non-UTF-8 file; an empty file; no header row with both columns; a row with
        more or fewer fields than the header; an empty string; a missing label; two
        spellings of one number as labels (naming both and their first lines); a label
        column with other than two distinct values.

    Notes
    -----
    Blank lines are skipped, and surrounding whitespace is stripped from strings and
    labels. The label column must hold exactly two distinct values; two spellings of one
    number (``1`` and ``1.0``, ``01`` or ``+1``) are refused rather than taken as two
    classes. If one reads as false and the other as true (case-insensitive ``0``/``1``,
    ``false``/``true``, ``no``/``yes``, ``invalid``/``valid``, ``f``/``t``, ``n``/``y``,
    or the numbers 0 and 1), the false one is label 0; otherwise the two are sorted
    (numerically if both are numbers) and the first is label 0.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "pandas.csv"
    >>> _ = path.write_text(",seq,kind\\n0,BTXSE,yes\\n1,BTTE,no\\n2,BPVVE,yes\\n")
    >>> data, classes = load_csv(path, string_column="seq", label_column="kind")
    >>> data.labels.tolist(), classes
    ([1, 0, 1], ('no', 'yes'))
    """
    path = Path(path)
    name = str(path)
    if not isinstance(string_column, str) or not isinstance(label_column, str) or string_column == label_column:
        raise InputError(
            f"load_csv needs two different column names; got string_column={string_column!r}, "
            f"label_column={label_column!r}."
        )
    text = read_text(path)
    if not text.strip():
        raise InputError(
            f"{name}: the file is empty; expected a header row with columns {string_column!r} and {label_column!r}."
        )
    strings: list[str] = []
    raw_labels: list[str] = []
    first_line: dict[str, int] = {}  # each label spelling's first line
    for line, (s, label) in _records(name, text, (string_column, label_column)):
        strings.append(s)
        raw_labels.append(label)
        first_line.setdefault(label, line)
    if not strings:
        raise InputError(f"{name}: the file has a header row but no data rows.")
    _check_spellings(name, label_column, first_line)
    values = set(raw_labels)
    if len(values) != 2:
        found = listed(sorted(values))
        raise InputError(
            f"{name}: column {label_column!r} must hold exactly two classes; found {len(values)}: {found}."
        )
    classes = _class_order(values)
    index = {classes[0]: 0, classes[1]: 1}
    labels = np.fromiter((index[v] for v in raw_labels), dtype=np.int64, count=len(raw_labels))
    return LabelledStrings(tuple(strings), labels), classes


def _find_columns(name: str, header: list[str], wanted: tuple[str, ...]) -> tuple[int, ...]:
    missing = [c for c in wanted if c not in header]
    if len(missing) == len(wanted):
        if len(wanted) == 1:
            raise InputError(f"{name}: no header row with a column {wanted[0]!r}; the first row is {listed(header)} "
                             "(name another with --string-column).")
        raise InputError(
            f"{name}: no header row with columns {wanted[0]!r} and {wanted[1]!r}; the first row is "
            f"{listed(header)} (name others with data.string_column and data.label_column, or "
            "--string-column and --label-column)."
        )
    if missing:
        raise InputError(f"{name}: missing column {missing[0]!r}; found columns {listed(header)}.")
    for c in wanted:
        if header.count(c) > 1:
            raise InputError(f"{name}: column {c!r} appears {header.count(c)} times in the header.")
    return tuple(header.index(c) for c in wanted)


SPLITS = ("train", "test", "validation")
"""The values a ``split_column`` may hold (case-insensitive)."""


def csv_dataset(
    path: str | os.PathLike,
    *,
    test_fraction: float = 0.25,
    validation_fraction: float = 0.0,
    seed: int,
    string_column: str = "string",
    label_column: str = "valid",
    test_path: str | os.PathLike | None = None,
    split_column: str | None = None,
) -> DatasetSplits:
    """Read a CSV file with :func:`load_csv` and split it with :func:`stratified_split`,
    or keep a split the data comes with.

    The dataset is named after the file's stem (``data/reber.csv`` gives ``"reber"``),
    its classes are the label values as written, and the split draws from
    ``derive_seed(seed, "split")``. Duplicated strings are kept; if the file repeats a
    string, copies may land in different splits.

    A published split is kept in one of two ways. ``test_path``: a second CSV file, with
    the same columns and the same two classes, is the test split (``test_fraction`` does
    not apply; a ``validation_fraction`` of the first file is still drawn, stratified).
    ``split_column``: a column of the file says each row's split, one of :data:`SPLITS`
    (case-insensitive; both fractions do not apply).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "toy.csv"
    >>> _ = path.write_text("string,valid\\n" + "".join(f"{'B' + 'T' * i + 'E'},{i % 2}\\n" for i in range(8)))
    >>> data = csv_dataset(path, seed=0)
    >>> data.name, len(data.train), len(data.test), data.classes
    ('toy', 6, 2, ('0', '1'))
    >>> _ = path.write_text("string,valid,part\\nBTE,1,train\\nBPE,0,Train\\nBTTE,1,test\\nBPPE,0,test\\n")
    >>> data = csv_dataset(path, seed=0, split_column="part")
    >>> data.train.strings, data.test.strings
    (('BTE', 'BPE'), ('BTTE', 'BPPE'))
    """
    func = "csv_dataset"
    test_fraction, validation_fraction = check_split_fractions(test_fraction, validation_fraction, func)
    seed = check_int(seed, "seed", func)
    if test_path is not None and split_column is not None:
        raise InputError(f"{func} takes a test file (test_path) or a split column (split_column), not both.")
    data, classes = load_csv(path, string_column=string_column, label_column=label_column)
    name = Path(path).stem
    if split_column is not None:
        parts = _split_column(path, split_column, (string_column, label_column))
        train, test, validation = (data.take(np.flatnonzero(parts == i)) for i in range(len(SPLITS)))
        if not len(train):
            raise InputError(f"{path}: column {split_column!r} marks no row 'train'.")
        return DatasetSplits(name, train, test, validation if len(validation) else None, classes)
    if test_path is not None:
        test, test_classes = load_csv(test_path, string_column=string_column, label_column=label_column)
        if test_classes != classes:
            raise InputError(f"{test_path}: its classes {listed(test_classes)} are not those of {path}, "
                             f"{listed(classes)}.")
        train, _, validation = stratified_split(data, test_fraction=0.0, validation_fraction=validation_fraction,
                                                seed=derive_seed(seed, "split"))
        return DatasetSplits(name, train, test, validation, classes)
    train, test, validation = stratified_split(
        data, test_fraction=test_fraction, validation_fraction=validation_fraction,
        seed=derive_seed(seed, "split"),
    )
    return DatasetSplits(name, train, test, validation, classes)


def _split_column(path: str | os.PathLike, column: str, others: tuple[str, ...]) -> np.ndarray:
    """The split (an index into :data:`SPLITS`) of every data row of the CSV file, in file order."""
    if not isinstance(column, str) or not column or column in others:
        raise InputError(f"The 'split_column' parameter of csv_dataset must name a third column; got {column!r}.")
    name = str(path)
    index = {part: i for i, part in enumerate(SPLITS)}
    parts = []
    for line, (value,) in _records(name, read_text(path), (column,)):
        if value.lower() not in index:
            raise InputError(f"{name}, line {line}: column {column!r} holds {value!r}; expected one of "
                             f"{', '.join(SPLITS)}.")
        parts.append(index[value.lower()])
    return np.array(parts, dtype=np.int64)
