"""Time-series classification problems of the UCR and UEA archives, as bundled with aeon.

The UCR archive (univariate) [1]_ and the UEA archive (multivariate) [2]_ are the
standard benchmarks of time-series classification. The `aeon <https://aeon-toolkit.org>`_
package ships a few of their problems inside its wheel, in
``aeon/datasets/data/<Name>/<Name>_TRAIN.ts`` and ``..._TEST.ts``; :func:`ucr_dataset`
reads those files with aeon's own reader (:func:`aeon.datasets.load_from_ts_file`) and
never downloads anything. Install aeon with ``pip install 'sparsernn[data]'`` (which
pins ``aeon==1.6.0``, whose bundle is the one listed below).

The problems (:data:`UCR_PROBLEMS`), with sizes as aeon 1.6.0 loads them:

======================  =======  =====  ====  ========  ===========  =======
problem                 archive  train  test  channels  length       classes
======================  =======  =====  ====  ========  ===========  =======
ACSF1                   UCR        100   100         1  1460              10
ArrowHead               UCR         36   175         1  251                3
BasicMotions            UEA         40    40         6  100                4
GunPoint                UCR         50   150         1  150                2
ItalyPowerDemand        UCR         67  1029         1  24                 2
JapaneseVowels          UEA        270   370        12  7 to 29            9
OSULeaf                 UCR        200   242         1  427                6
PickupGestureWiimoteZ   UCR         50    50         1  29 to 361         10
======================  =======  =====  ====  ========  ===========  =======

Shapes: aeon returns an ``(n, C, T)`` array, or for unequal lengths (JapaneseVowels,
PickupGestureWiimoteZ) a list of ``(C, T_i)`` arrays; each series becomes a
``(T_i, C)`` float32 array of a :class:`~sparsernn.data.sequences.LabelledSequences`,
step ``t`` holding the ``C`` channels at time ``t``. No series has a missing value.

Classes: aeon's labels are strings (``"1"``, ``"2"`` for GunPoint; ``"badminton"``,
``"running"``, ... for BasicMotions). The classes are the distinct labels of the
official training split, sorted numerically if every one reads as a number and as
text otherwise (:func:`~sparsernn.data.npz_file.class_order`), so PickupGestureWiimoteZ's
``"10"`` comes last; a sequence's label is the index of its aeon label in the classes.

Splits: the archive's own train and test splits. A validation split, if asked for, is
a seeded stratified part of the official training split
(:func:`~sparsernn.data.strings.stratified_split`); the test split is never touched.

Standardisation (default): each channel is centred and scaled with the mean and the
(population) standard deviation of that channel over all time steps of all training
sequences -- the training split left after the validation part is taken
(:func:`~sparsernn.data.npz_file.channel_stats`) -- and the same transform is applied
to the validation and test splits. The UCR files are already z-normalised per series;
this is per channel over the training set, which also brings the UEA problems' channels
to a common scale.

Examples
--------
>>> UCR_PROBLEMS[:4]
('ACSF1', 'ArrowHead', 'BasicMotions', 'GunPoint')
>>> ucr_dataset("gunpoint", seed=0)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
sparsernn.errors.InputError: The 'name' parameter of ucr_dataset ... got 'gunpoint' (did you mean 'GunPoint'?).

With aeon installed (``tests/test_data_ucr.py`` runs the same):

>>> data = ucr_dataset("GunPoint", seed=0, validation_fraction=0.2)
>>> data.name, len(data.train), len(data.validation), len(data.test), data.classes
('ucr:GunPoint', 40, 10, 150, ('1', '2'))
>>> data.train.values[0].shape
(150, 1)

References
----------
.. [1] H. A. Dau, A. Bagnall, K. Kamgar, C.-C. M. Yeh, Y. Zhu, S. Gharghabi,
   C. A. Ratanamahatana and E. Keogh, "The UCR Time Series Archive", IEEE/CAA Journal
   of Automatica Sinica 6(6), 1293-1305, 2019.
.. [2] A. Bagnall, H. A. Dau, J. Lines, M. Flynn, J. Large, A. Bostrom, P. Southam and
   E. Keogh, "The UEA multivariate time series classification archive, 2018",
   arXiv:1811.00075, 2018.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..checks import check_fraction, check_int
from ..errors import InputError
from ..seeding import derive_seed
from .npz_file import check_standardize, class_order, finish_splits
from .sequences import LabelledSequences
from .strings import DatasetSplits, stratified_split

__all__ = ["UCR_PROBLEMS", "ucr_dataset"]

#: The classification problems bundled with aeon 1.6.0 that :func:`ucr_dataset` reads
#: (the bundle's other classification files, ``UnitTest`` and ``Covid3Month_disc``, are
#: aeon's test fixtures, not archive problems).
UCR_PROBLEMS = (
    "ACSF1",
    "ArrowHead",
    "BasicMotions",
    "GunPoint",
    "ItalyPowerDemand",
    "JapaneseVowels",
    "OSULeaf",
    "PickupGestureWiimoteZ",
)

_INSTALL = "pip install 'sparsernn[data]'"


def _check_name(name: object, func: str) -> str:
    if isinstance(name, str) and name in UCR_PROBLEMS:
        return name
    close = next((p for p in UCR_PROBLEMS if isinstance(name, str) and p.lower() == name.lower()), None)
    hint = f" (did you mean {close!r}?)" if close else ""
    raise InputError(f"The 'name' parameter of {func} must be one of the classification problems bundled with "
                     f"aeon, {', '.join(repr(p) for p in UCR_PROBLEMS)}; got {name!r}{hint}.")


def _read(name: str, split: str) -> tuple[list[np.ndarray], list[str]]:
    """The series of ``name``'s ``split`` ("TRAIN" or "TEST") as ``(T_i, C)`` arrays and
    their string labels, read from aeon's bundled file (a path, so never downloaded)."""
    try:
        import aeon
        from aeon.datasets import load_from_ts_file
    except ImportError:
        raise InputError(f"The UCR/UEA problems are read with aeon, which is not installed; {_INSTALL}.") from None
    path = Path(aeon.__file__).parent / "datasets" / "data" / name / f"{name}_{split}.ts"
    if not path.is_file():
        raise InputError(f"aeon {getattr(aeon, '__version__', '?')} does not bundle {name} (no {path}); "
                         f"{_INSTALL} installs the aeon whose bundle sparsernn knows.")
    try:
        X, y, meta = load_from_ts_file(str(path), return_meta_data=True)
    except (OSError, ValueError, IndexError) as exc:
        raise InputError(f"{path}: aeon cannot read it ({type(exc).__name__}: {exc}).") from None
    if not meta.get("classlabel"):
        raise InputError(f"{path}: not a classification problem (its header has no class labels).")
    series = [np.asarray(x).T for x in X]  # each (C, T_i) -> (T_i, C)
    return series, [str(label) for label in y]


def ucr_dataset(
    name: str,
    *,
    seed: int,
    validation_fraction: float = 0.0,
    standardize: bool = True,
) -> DatasetSplits:
    """A UCR/UEA problem bundled with aeon, with its official train and test splits.

    Parameters
    ----------
    name : str
        One of :data:`UCR_PROBLEMS` (exact spelling, e.g. ``"GunPoint"``).
    seed : int
        The validation split draws from ``derive_seed(seed, "split")``.
    validation_fraction : float, default 0.0
        In [0, 1): this fraction of the official training split (rounded, halves up,
        shared between the classes in proportion to their counts) becomes the
        validation split; 0 gives none.
    standardize : bool, default True
        Centre and scale every channel with its mean and standard deviation over all
        steps of the training sequences left after the validation split; the same
        transform is applied to the validation and test splits. A constant channel
        is only centred.

    Returns
    -------
    DatasetSplits
        Named ``f"ucr:{name}"``, of :class:`~sparsernn.data.sequences.LabelledSequences`
        of ``(T_i, C)`` float32 arrays; ``classes`` the sorted distinct training
        labels (see the module); validation None when ``validation_fraction`` is 0.

    Raises
    ------
    InputError
        For a name that is not a bundled problem (listing them), a bad parameter, aeon
        missing (saying ``pip install 'sparsernn[data]'``), or a bundled file that aeon
        cannot read.
    """
    func = "ucr_dataset"
    name = _check_name(name, func)
    validation_fraction = check_fraction(validation_fraction, "validation_fraction", func, high_open=True)
    seed = check_int(seed, "seed", func)
    standardize = check_standardize(standardize, func)

    train_x, train_y = _read(name, "TRAIN")
    test_x, test_y = _read(name, "TEST")
    classes = class_order(train_y)
    index = {c: k for k, c in enumerate(classes)}
    unknown = next((label for label in test_y if label not in index), None)
    if unknown is not None:
        raise InputError(f"{name}: test label {unknown!r} is not one of the training labels {classes}.")
    train = LabelledSequences(tuple(train_x), [index[label] for label in train_y])
    test = LabelledSequences(tuple(test_x), [index[label] for label in test_y])
    validation = None
    if validation_fraction > 0:
        train, _, validation = stratified_split(
            train, test_fraction=0.0, validation_fraction=validation_fraction, seed=derive_seed(seed, "split"))
    train, test, validation = finish_splits(f"ucr:{name}", train, test, validation, standardize=standardize)
    return DatasetSplits(f"ucr:{name}", train, test, validation, classes)
