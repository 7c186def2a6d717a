"""Handwritten digits as sequences: each 8x8 image read row by row.

The data are the 1,797 8x8 images of the test part of the UCI "Optical Recognition of
Handwritten Digits" data set (optdigits) that scikit-learn ships with its package and
returns from :func:`sklearn.datasets.load_digits`, so nothing is downloaded. Each pixel
is a count from 0 to 16 (the number of set pixels in a 4x4 block of the original
32x32 bitmap); there are about 180 images of each digit.

Image ``i`` becomes an ``(8, 8)`` sequence: step ``t`` is the image's row ``t`` (top
to bottom), its 8 channels the row's pixels from left to right, so a recurrent model
reads the digit as a scanner would. The 10 classes are named ``"0"`` to ``"9"``, label
``k`` being digit ``k``.

There is no official split: :func:`digits_dataset` makes a seeded stratified one
(:func:`~sparsernn.data.strings.stratified_split`) and, by default, standardises every
channel (pixel column) with the mean and standard deviation of the training split
(:func:`~sparsernn.data.npz_file.channel_stats`).

Examples
--------
>>> data = digits_dataset(seed=0)
>>> data.name, data.classes[:3], len(data.train), len(data.test), data.train.values[0].shape
('digits', ('0', '1', '2'), 1348, 449, (8, 8))

References
----------
.. [1] E. Alpaydin and C. Kaynak, "Optical Recognition of Handwritten Digits", UCI
   Machine Learning Repository, 1998. https://doi.org/10.24432/C50P49
"""

from __future__ import annotations

from ..checks import check_int
from ..seeding import derive_seed
from .npz_file import check_standardize, finish_splits
from .sequences import LabelledSequences
from .strings import DatasetSplits, check_split_fractions, stratified_split

__all__ = ["digits_dataset", "digits_sequences"]


def digits_sequences() -> LabelledSequences:
    """All 1,797 images of :func:`sklearn.datasets.load_digits` as ``(8, 8)`` sequences.

    Sequence ``i`` is ``load_digits().images[i]`` (row ``t`` is step ``t``) as float32,
    its label the digit; unsplit and not standardised.

    Examples
    --------
    >>> import numpy as np
    >>> data = digits_sequences()
    >>> len(data), data.channels, np.bincount(data.labels).tolist()
    (1797, 8, [178, 182, 177, 183, 181, 182, 181, 179, 174, 180])
    >>> data.values[0][2].tolist()  # the third row of the first image, a zero
    [0.0, 3.0, 15.0, 2.0, 0.0, 11.0, 8.0, 0.0]
    """
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return LabelledSequences(tuple(bunch.images), bunch.target)  # images: (1797, 8, 8)


def digits_dataset(
    *,
    seed: int,
    test_fraction: float = 0.25,
    validation_fraction: float = 0.0,
    standardize: bool = True,
) -> DatasetSplits:
    """The digits of :func:`digits_sequences`, split (seeded, stratified) and standardised.

    Parameters
    ----------
    seed : int
        The split draws from ``derive_seed(seed, "split")``.
    test_fraction, validation_fraction : float
        As in :func:`~sparsernn.data.strings.stratified_split`: each in [0, 1), their
        sum below 1; each split gets ``round(fraction * 1797)`` images (halves up),
        shared between the digits in proportion to their counts.
    standardize : bool, default True
        Subtract each channel's (pixel column's) mean and divide by its standard
        deviation, both over all steps of all training sequences only, from every
        split (a constant column would be divided by 1).

    Returns
    -------
    DatasetSplits
        Named ``"digits"``, of :class:`~sparsernn.data.sequences.LabelledSequences`
        with 8 steps of 8 channels each; classes ``"0"`` .. ``"9"``; validation None
        when ``validation_fraction`` is 0.

    Raises
    ------
    InputError
        For a bad parameter.

    Examples
    --------
    >>> import numpy as np
    >>> data = digits_dataset(seed=0, test_fraction=0.2, validation_fraction=0.1, standardize=False)
    >>> len(data.train), len(data.test), len(data.validation)
    (1258, 359, 180)
    >>> np.bincount(data.validation.labels).tolist()
    [18, 18, 18, 18, 18, 18, 18, 18, 18, 18]
    """
    func = "digits_dataset"
    test_fraction, validation_fraction = check_split_fractions(test_fraction, validation_fraction, func)
    seed = check_int(seed, "seed", func)
    standardize = check_standardize(standardize, func)
    train, test, validation = stratified_split(
        digits_sequences(), test_fraction=test_fraction, validation_fraction=validation_fraction,
        seed=derive_seed(seed, "split"),
    )
    train, test, validation = finish_splits("digits", train, test, validation, standardize=standardize)
    return DatasetSplits("digits", train, test, validation, tuple(str(d) for d in range(10)))
