"""Labelled numeric sequences from a NumPy ``.npz`` file, and per-channel standardisation.

The file format
---------------
An ``.npz`` file (a zip archive written by :func:`numpy.savez` or
:func:`numpy.savez_compressed`) with these keys, and no others:

``X`` (required)
    The sequences, real numbers (integers or floats, all finite), in one of two forms:

    * padded: a 3-D array ``(n, T, C)``; sequence ``i`` is ``X[i, :lengths[i]]``, or
      all of ``X[i]`` when there is no ``lengths``;
    * ragged: a 2-D array ``(sum(lengths), C)``, the steps of all ``n`` sequences one
      after another, cut into sequences by ``lengths`` (required for this form).

``lengths`` (required with a 2-D ``X``, optional with a 3-D one)
    ``(n,)`` integers: the number of steps of each sequence, each at least 1 (and at
    most ``T`` in the padded form); in the ragged form they sum to ``X.shape[0]``.

``y`` (required)
    ``(n,)`` class labels, either

    * strings: the class names; the classes are the distinct names in
      :func:`class_order` (numerically if every name reads as a number, else as text);
    * integers ``0..K-1``: class indices; every one of them must occur (labels that
      start at 1 would otherwise leave class 0 empty), and the classes are named
      ``"0"``, ..., ``"K-1"`` unless ``classes`` names them.

``classes`` (optional, only with integer ``y``)
    ``(K,)`` distinct strings, ``classes[k]`` naming label ``k``; a class may then have
    no sequence in the file.

The file is read with ``numpy.load(path, allow_pickle=False)``: an object array (one
that holds pickled Python objects) is refused without being unpickled. Every problem is
one :class:`~sparsernn.errors.InputError` line that names the file and the key.

Splits and standardisation
--------------------------
:func:`npz_dataset` splits the file with
:func:`~sparsernn.data.strings.stratified_split`, or takes a second file of the same
format as the test split. :func:`channel_stats` and :func:`standardize_sequences` centre and scale
each channel with the statistics of the training split only, as the dataset builders of
:mod:`sparsernn.data.ucr` and :mod:`sparsernn.data.digits` do too.

Examples
--------
>>> import pathlib, tempfile
>>> path = pathlib.Path(tempfile.mkdtemp()) / "walks.npz"
>>> X = np.arange(12, dtype=np.float32).reshape(6, 2)  # 6 steps of 2 channels
>>> np.savez(path, X=X, lengths=[1, 2, 3], y=["up", "down", "up"])
>>> data, classes = load_npz(path)
>>> data.lengths().tolist(), data.labels.tolist(), classes
([1, 2, 3], [1, 0, 1], ('down', 'up'))
>>> data.values[1].tolist()
[[2.0, 3.0], [4.0, 5.0]]
"""

from __future__ import annotations

import math
import os
import zipfile
from pathlib import Path

import numpy as np

from ..checks import check_fraction, check_int, listed
from ..errors import InputError, unreadable
from ..seeding import derive_seed
from .sequences import LabelledSequences
from .strings import DatasetSplits, check_split_fractions, stratified_split

__all__ = ["NPZ_KEYS", "channel_stats", "class_order", "load_npz", "npz_dataset", "standardize_sequences"]

#: The keys an ``.npz`` dataset file may hold.
NPZ_KEYS = ("X", "y", "lengths", "classes")
def _as_number(name: str) -> float | None:
    try:
        number = float(name)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def class_order(names) -> tuple[str, ...]:
    """The distinct class names in ``names``, sorted: the order of the class indices.

    If every name reads as a finite number (``float(name)`` succeeds), they are sorted
    by that number (ties, such as ``"1"`` and ``"1.0"``, by their text); otherwise as
    text (by code point). So ``"10"`` comes after ``"9"`` in a dataset whose classes are
    all numbers.

    Examples
    --------
    >>> class_order(["2", "10", "1", "2"]), class_order(["walking", "running", "10"])
    (('1', '2', '10'), ('10', 'running', 'walking'))
    """
    distinct = {str(n) for n in names}
    numbers = {n: _as_number(n) for n in distinct}
    if all(v is not None for v in numbers.values()):
        return tuple(sorted(distinct, key=lambda n: (numbers[n], n)))
    return tuple(sorted(distinct))


def channel_stats(data: LabelledSequences) -> tuple[np.ndarray, np.ndarray]:
    """The mean and standard deviation of every channel over all steps of all sequences.

    Every step of every sequence counts once (a longer sequence weighs more), and the
    standard deviation is the population one (``ddof=0``). A channel that is constant
    over all steps gets a standard deviation of 1, so that :func:`standardize_sequences`
    only centres it.

    Returns
    -------
    mean, std : numpy.ndarray of float64, each of shape (C,)

    Raises
    ------
    InputError
        If ``data`` holds no sequence.

    Examples
    --------
    >>> data = LabelledSequences([[[0.0, 5.0], [2.0, 5.0]], [[4.0, 5.0]]], [0, 1])
    >>> mean, std = channel_stats(data)
    >>> mean.tolist(), std.round(4).tolist()
    ([2.0, 5.0], [1.633, 1.0])
    """
    if not isinstance(data, LabelledSequences) or not len(data):
        got = f"an empty {type(data).__name__}" if isinstance(data, LabelledSequences) else type(data).__name__
        raise InputError(f"channel_stats needs a LabelledSequences holding at least one sequence; got {got}.")
    steps = np.concatenate(data.values).astype(np.float64)  # (sum T_i, C)
    mean, std = steps.mean(axis=0), steps.std(axis=0)
    std[steps.max(axis=0) == steps.min(axis=0)] = 1.0  # constant: exactly 0 in theory, not always in floats
    return mean, std


def standardize_sequences(data: LabelledSequences | None, mean: np.ndarray,
                          std: np.ndarray) -> LabelledSequences | None:
    """``(x - mean) / std`` for every step ``x`` of every sequence (None stays None).

    Parameters
    ----------
    data : LabelledSequences or None
    mean, std : array-like of shape (C,)
        Usually :func:`channel_stats` of the training split; ``std`` must be positive.

    Examples
    --------
    >>> data = LabelledSequences([[[0.0], [2.0]], [[4.0]]], [0, 1])
    >>> [v.ravel().tolist() for v in standardize_sequences(data, [2.0], [2.0]).values]
    [[-1.0, 0.0], [1.0]]
    """
    if data is None:
        return None
    mean, std = np.asarray(mean, dtype=np.float64), np.asarray(std, dtype=np.float64)
    wrong_shape = mean.ndim != 1 or std.shape != mean.shape or (len(data) > 0 and mean.shape != (data.channels,))
    if wrong_shape or not (std > 0).all():
        raise InputError(f"standardize_sequences needs a mean and a positive std of shape ({data.channels},); "
                         f"got shapes {mean.shape} and {std.shape}.")
    return LabelledSequences(tuple((v - mean) / std for v in data.values), data.labels)


def finish_splits(name: str, train: LabelledSequences, test: LabelledSequences,
                  validation: LabelledSequences | None, *, standardize: bool) -> tuple:
    """``(train, test, validation)``, standardised with :func:`channel_stats` of ``train``
    if ``standardize``; InputError naming ``name`` if ``train`` is empty."""
    if not len(train):
        raise InputError(f"{name}: the split leaves no training sequence; lower test_fraction or "
                         "validation_fraction.")
    if not standardize:
        return train, test, validation
    mean, std = channel_stats(train)
    return tuple(standardize_sequences(part, mean, std) for part in (train, test, validation))


def check_standardize(value: object, func: str) -> bool:
    """``value`` if it is a bool, else the house-form InputError."""
    if not isinstance(value, (bool, np.bool_)):
        raise InputError(f"The 'standardize' parameter of {func} must be a bool; got {value!r}.")
    return bool(value)


def _open(path: Path) -> dict[str, np.ndarray]:
    """The arrays of ``.npz`` file ``path`` by key, read without pickle, or InputError."""
    name = str(path)
    try:
        with path.open("rb") as file:
            magic = file.read(4)
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
        raise unreadable(name, exc) from None
    if magic == b"\x93NUM":
        raise InputError(f"{name}: a single .npy array, not an .npz file; save X and y together with numpy.savez.")
    if magic[:2] != b"PK":
        raise InputError(f"{name}: not an .npz file (a zip archive written by numpy.savez).")
    arrays: dict[str, np.ndarray] = {}
    try:
        with np.load(path, allow_pickle=False) as npz:
            keys = list(npz.files)
            unknown = [k for k in keys if k not in NPZ_KEYS]
            if unknown:
                raise InputError(f"{name}: unknown key{'s' if len(unknown) > 1 else ''} {listed(unknown)}; "
                                 f"an .npz dataset holds {listed(NPZ_KEYS)}.")
            for key in keys:
                try:
                    arrays[key] = npz[key]
                except ValueError as exc:
                    if "allow_pickle" in str(exc):
                        raise InputError(f"{name}: key {key!r} holds an object array (pickled Python objects), "
                                         "which is never loaded; save numbers or strings.") from None
                    raise InputError(f"{name}: key {key!r} cannot be read ({exc}).") from None
    except InputError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as exc:
        raise InputError(f"{name}: not a readable .npz file ({type(exc).__name__}: {exc}).") from None
    return arrays


def _shape(a: np.ndarray) -> str:
    return "(" + ", ".join(str(d) for d in a.shape) + ("," if a.ndim == 1 else "") + ")"


def _sequences(name: str, arrays: dict[str, np.ndarray]) -> list[np.ndarray]:
    """The sequences of ``X`` (and ``lengths``) as float32 ``(T_i, C)`` arrays, checked."""
    if "X" not in arrays:
        raise InputError(f"{name}: missing key 'X' (the sequences); found keys {listed(arrays)}.")
    X = arrays["X"]
    if X.dtype.kind not in "iuf":
        raise InputError(f"{name}: 'X' must hold real numbers (integers or floats); got dtype {X.dtype}.")
    lengths = arrays.get("lengths")
    if lengths is not None:
        if lengths.ndim != 1 or lengths.dtype.kind not in "iu":
            raise InputError(f"{name}: 'lengths' must be a 1-D array of integers; got dtype {lengths.dtype} "
                             f"and shape {_shape(lengths)}.")
        lengths = lengths.astype(np.int64)
        if len(lengths) and lengths.min() < 1:
            i = int(np.argmin(lengths))
            raise InputError(f"{name}: every entry of 'lengths' must be >= 1; lengths[{i}] is {lengths[i]}.")
    if X.ndim == 3:
        n, T, C = X.shape
        if lengths is None:
            lengths = np.full(n, T, dtype=np.int64)
        elif len(lengths) != n:
            raise InputError(f"{name}: 'lengths' has {len(lengths)} entries but X of shape {_shape(X)} holds "
                             f"{n} sequences.")
        elif len(lengths) and lengths.max() > T:
            i = int(np.argmax(lengths))
            raise InputError(f"{name}: lengths[{i}] is {lengths[i]}, more than the {T} steps of X of shape "
                             f"{_shape(X)}.")
        rows = [X[i, :lengths[i]] for i in range(n)]
    elif X.ndim == 2:
        if lengths is None:
            raise InputError(f"{name}: a 2-D 'X' (all steps one after another) needs 'lengths', the number of "
                             "steps of each sequence; or save X as a 3-D (n, T, C) array.")
        if int(lengths.sum()) != X.shape[0]:
            raise InputError(f"{name}: 'lengths' sum to {int(lengths.sum())}, but X of shape {_shape(X)} holds "
                             f"{X.shape[0]} steps.")
        rows = np.split(X, np.cumsum(lengths)[:-1]) if len(lengths) else []
        C = X.shape[1]
    else:
        raise InputError(f"{name}: 'X' must be a 3-D (n, T, C) array, or a 2-D (sum of lengths, C) array with "
                         f"'lengths'; got shape {_shape(X)}.")
    if not rows or C < 1 or X.size == 0:
        raise InputError(f"{name}: 'X' of shape {_shape(X)} holds no sequence with a value; expected at least one.")
    with np.errstate(over="ignore"):
        values = [np.asarray(r, dtype=np.float32) for r in rows]
    for i, v in enumerate(values):
        if not np.isfinite(v).all():
            t = int(np.argwhere(~np.isfinite(v))[0][0])
            raise InputError(f"{name}: sequence {i} has a value that is NaN or infinite (or too large for float32) "
                             f"at step {t}; every value must be finite.")
    return values


def _labels(name: str, arrays: dict[str, np.ndarray], n: int,
            classes: tuple[str, ...] | None = None) -> tuple[np.ndarray, tuple[str, ...]]:
    """The class indices of ``y`` and the class names; with ``classes`` (the training
    file's), the labels are read in those classes instead."""
    if "y" not in arrays:
        raise InputError(f"{name}: missing key 'y' (one class label per sequence); found keys {listed(arrays)}.")
    y = arrays["y"]
    if y.ndim != 1 or len(y) != n:
        raise InputError(f"{name}: 'y' must be 1-D with one label per sequence ({n}); got shape {_shape(y)}.")
    named = arrays.get("classes")
    if named is not None:
        if named.dtype.kind not in "US" or named.ndim != 1:
            raise InputError(f"{name}: 'classes' must be a 1-D array of strings; got dtype {named.dtype} "
                             f"and shape {_shape(named)}.")
        named = tuple(str(c.decode("utf-8", "replace") if isinstance(c, bytes) else c) for c in named.tolist())
        if len(set(named)) != len(named) or len(named) < 2:
            raise InputError(f"{name}: 'classes' must be at least two distinct names; got {listed(named)}.")
        if y.dtype.kind in "US":
            raise InputError(f"{name}: 'classes' names integer labels, but 'y' holds strings; drop one of them.")
        if classes is not None and named != classes:
            raise InputError(f"{name}: 'classes' are {listed(named)}, but the training file's are "
                             f"{listed(classes)}.")
    if y.dtype.kind in "US":
        names = [s.decode("utf-8", "replace") if isinstance(s, bytes) else s for s in y.tolist()]
        if classes is None:
            classes = class_order(names)
        index = {c: k for k, c in enumerate(classes)}
        unknown = next((s for s in names if s not in index), None)
        if unknown is not None:
            raise InputError(f"{name}: label {unknown!r} in 'y' is not one of the training file's classes "
                             f"{listed(classes)}.")
        labels = np.fromiter((index[s] for s in names), dtype=np.int64, count=n)
    elif y.dtype.kind in "iu":
        labels = y.astype(np.int64)
        if len(labels) and labels.min() < 0:
            i = int(np.argmin(labels))
            raise InputError(f"{name}: integer labels in 'y' must be class indices >= 0; y[{i}] is {labels[i]}.")
        given = classes if classes is not None else named
        if given is not None:
            if labels.max() >= len(given):
                i = int(np.argmax(labels))
                raise InputError(f"{name}: y[{i}] is {labels[i]}, but there are only {len(given)} classes "
                                 f"({listed(given)}).")
            classes = given
        else:
            K = int(labels.max()) + 1
            missing = sorted(set(range(K)) - set(labels.tolist()))
            if missing:
                raise InputError(f"{name}: integer labels in 'y' must be 0..K-1 with every class present; "
                                 f"label {missing[0]} never occurs (labels run {labels.min()}..{K - 1}); "
                                 "number the classes from 0, add 'classes', or save the labels as strings.")
            classes = tuple(str(k) for k in range(K))
    else:
        raise InputError(f"{name}: 'y' must hold integer class indices or strings (class names); "
                         f"got dtype {y.dtype}.")
    return labels, classes


def load_npz(path: str | os.PathLike, *,
             classes: tuple[str, ...] | None = None) -> tuple[LabelledSequences, tuple[str, ...]]:
    """Read labelled numeric sequences from an ``.npz`` file (format: see the module).

    Parameters
    ----------
    path : str or path-like
    classes : tuple of str, optional
        Read the labels in these classes (those of another file, the training one)
        instead of the file's own: string labels must be among them, integer labels
        below their count, and a ``classes`` key must equal them. Such a file may
        hold sequences of a single class.

    Returns
    -------
    data : LabelledSequences
        The sequences in file order, as float32 ``(T_i, C)`` arrays.
    classes : tuple of str
        The class names, indexed by label.

    Raises
    ------
    InputError
        One line naming the file and the problem: a missing or unreadable file, not an
        ``.npz`` file, an unknown or missing key, an object array, ``X`` of the wrong
        dimension or type, ``lengths`` that do not fit ``X``, a NaN or infinite value,
        a label count that differs from the number of sequences, labels that are
        neither integers nor strings, integer labels with a gap, or (without
        ``classes``) fewer than two classes among the labels.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "padded.npz"
    >>> np.savez(path, X=np.zeros((3, 4, 2)), lengths=[4, 1, 2], y=[0, 1, 0], classes=["off", "on"])
    >>> data, classes = load_npz(path)
    >>> data.lengths().tolist(), data.channels, classes
    ([4, 1, 2], 2, ('off', 'on'))
    >>> np.savez(path, X=np.zeros((3, 4, 2)), y=[1, 2, 1])
    >>> load_npz(path)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    sparsernn.errors.InputError: ...padded.npz: integer labels in 'y' must be 0..K-1 with every class present; ...
    """
    path = Path(path)
    name = str(path)
    training = classes is None
    if not training:
        classes = tuple(classes) if not isinstance(classes, str) else ()
        if len(classes) < 2 or not all(isinstance(c, str) for c in classes) or len(set(classes)) != len(classes):
            raise InputError(f"The 'classes' parameter of load_npz must be at least two distinct str; got {classes!r}.")
    arrays = _open(path)
    values = _sequences(name, arrays)
    labels, classes = _labels(name, arrays, len(values), classes)
    if training:
        present = [classes[k] for k in np.unique(labels)]
        if len(present) < 2:
            raise InputError(f"{name}: 'y' must hold at least two classes; found {len(present)} "
                             f"({listed(present)}).")
    data = LabelledSequences(tuple(values), labels)
    return data, classes


def npz_dataset(
    path: str | os.PathLike,
    *,
    seed: int,
    test_fraction: float = 0.25,
    validation_fraction: float = 0.0,
    standardize: bool = True,
    test_path: str | os.PathLike | None = None,
) -> DatasetSplits:
    """Read an ``.npz`` file with :func:`load_npz` and split (and standardise) it.

    Parameters
    ----------
    path : str or path-like
        The sequences; the dataset is named after the file's stem.
    seed : int
        The split draws from ``derive_seed(seed, "split")``.
    test_fraction, validation_fraction : float
        As in :func:`~sparsernn.data.strings.stratified_split`. ``test_fraction`` is
        ignored when ``test_path`` is given.
    standardize : bool, default True
        Subtract each channel's mean and divide by its standard deviation, both taken
        over all steps of the training split only (:func:`channel_stats`), from every
        split.
    test_path : str or path-like, optional
        A second file of the same format that is the test split; its labels are read
        in the classes of ``path`` (:func:`load_npz` ``classes=``). The validation
        split, if any, then comes from ``path`` alone.

    Returns
    -------
    DatasetSplits
        Of :class:`~sparsernn.data.sequences.LabelledSequences`; validation None when
        ``validation_fraction`` is 0.

    Raises
    ------
    InputError
        For a bad parameter, any problem of either file (see :func:`load_npz`), a test
        file with another channel count, or a split that leaves no training sequence.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "toy.npz"
    >>> rng = np.random.default_rng(0)
    >>> np.savez(path, X=rng.normal(size=(8, 5, 3)), y=[0, 1] * 4)
    >>> data = npz_dataset(path, seed=0)
    >>> data.name, len(data.train), len(data.test), data.classes, data.train.values[0].shape
    ('toy', 6, 2, ('0', '1'), (5, 3))
    >>> steps = np.concatenate(data.train.values)
    >>> np.allclose(steps.mean(axis=0), 0, atol=1e-6), np.allclose(steps.std(axis=0), 1)
    (True, True)
    """
    func = "npz_dataset"
    if test_path is None:
        test_fraction, validation_fraction = check_split_fractions(test_fraction, validation_fraction, func)
    else:  # test_fraction is ignored
        validation_fraction = check_fraction(validation_fraction, "validation_fraction", func, high_open=True)
    seed = check_int(seed, "seed", func)
    standardize = check_standardize(standardize, func)
    if not isinstance(path, (str, os.PathLike)) or not str(path):
        raise InputError(f"The 'path' parameter of {func} must be the path of an .npz file; got {path!r}.")
    if test_path is not None and not isinstance(test_path, (str, os.PathLike)):
        raise InputError(f"The 'test_path' parameter of {func} must be the path of an .npz file or None; "
                         f"got {test_path!r}.")
    data, classes = load_npz(path)
    split_seed = derive_seed(seed, "split")
    if test_path is None:
        train, test, validation = stratified_split(
            data, test_fraction=test_fraction, validation_fraction=validation_fraction, seed=split_seed)
    else:
        test, _ = load_npz(test_path, classes=classes)
        if test.channels != data.channels:
            raise InputError(f"{test_path}: its sequences have {test.channels} channels, but those of {path} "
                             f"have {data.channels}.")
        train, _, validation = stratified_split(
            data, test_fraction=0.0, validation_fraction=validation_fraction, seed=split_seed)
    name = Path(path).stem or str(path)
    train, test, validation = finish_splits(str(path), train, test, validation, standardize=standardize)
    return DatasetSplits(name, train, test, validation, classes)
