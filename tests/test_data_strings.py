"""Tests for sparsernn.data.strings: LabelledStrings, DatasetSplits, stratified_split."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sparsernn.data import DatasetSplits, LabelledStrings, stratified_split
from sparsernn.errors import InputError

# --------------------------------------------------------------------------- LabelledStrings

def test_labelled_strings_stores_a_tuple_and_an_int64_copy():
    labels = np.array([True, False])
    data = LabelledStrings(["ab", "c"], labels)
    assert data.strings == ("ab", "c")
    assert data.labels.dtype == np.int64 and data.labels.tolist() == [1, 0]
    labels[0] = False
    assert data.labels.tolist() == [1, 0]  # a copy
    assert len(data) == 2
    assert data.lengths().tolist() == [2, 1]
    with pytest.raises(AttributeError):
        data.strings = ("x",)


def test_labelled_strings_equality_and_take():
    a = LabelledStrings(("ab", "c", "de"), [1, 0, 1])
    assert a == LabelledStrings(["ab", "c", "de"], np.array([1, 0, 1], dtype=np.int32))
    assert a != LabelledStrings(["ab", "c", "de"], [1, 1, 1])
    assert a != LabelledStrings(["ab", "c", "xx"], [1, 0, 1])
    picked = a.take([2, 0])
    assert picked.strings == ("de", "ab") and picked.labels.tolist() == [1, 1]
    empty = LabelledStrings((), [])
    assert len(empty) == 0 and empty.labels.dtype == np.int64


@pytest.mark.parametrize("strings, labels, match", [
    ("abc", [1, 0, 1], "got a single str"),
    (["a", 3], [1, 0], r"strings\[1\] must be a str; got 3"),
    (["a", ""], [1, 0], r"strings\[1\] is empty"),
    (["a", "b"], [1], "one label per sequence \\(2\\)"),
    (["a", "b"], [[1, 0]], "1-D array"),
    (["a", "b"], [-1, 0], r"class indices >= 0; labels\[0\] is -1"),
    (["a", "b"], [0.0, 1.0], "integer class indices; got dtype float64"),
])
def test_labelled_strings_rejects_bad_input(strings, labels, match):
    with pytest.raises(InputError, match=match):
        LabelledStrings(strings, labels)


# --------------------------------------------------------------------------- DatasetSplits

def _toy_splits(validation=True):
    train = LabelledStrings(["BTXSE", "BTTTTE", "BPVVE", "BXE"], [1, 0, 1, 0])
    test = LabelledStrings(["BTSXSE", "BSE"], [1, 0])
    val = LabelledStrings(["BPVPSE"], [1]) if validation else None
    return DatasetSplits("toy", train, test, val, ("invalid", "valid"))


def test_summary_counts_by_hand():
    summary = _toy_splits().summary()
    assert summary == {
        "name": "toy",
        "classes": ["invalid", "valid"],
        "num_strings": 7,
        "splits": {
            "train": {"size": 4, "positives": 2, "min_length": 3, "mean_length": 4.75, "max_length": 6},
            "test": {"size": 2, "positives": 1, "min_length": 3, "mean_length": 4.5, "max_length": 6},
            "validation": {"size": 1, "positives": 1, "min_length": 6, "mean_length": 6.0, "max_length": 6},
        },
    }
    assert json.loads(json.dumps(summary)) == summary
    assert all(type(v) in (int, float) for split in summary["splits"].values() for v in split.values())


def test_summary_without_validation_and_with_an_empty_split():
    data = DatasetSplits("toy", LabelledStrings(["ab"], [1]), LabelledStrings([], []), None, ("no", "yes"))
    summary = data.summary()
    assert set(summary["splits"]) == {"train", "test"}
    assert summary["splits"]["test"] == {"size": 0, "positives": 0, "min_length": None,
                                         "mean_length": None, "max_length": None}
    json.dumps(summary)


def test_dataset_splits_validates_its_fields():
    train = LabelledStrings(["a"], [1])
    with pytest.raises(InputError, match="at least two distinct names"):
        DatasetSplits("x", train, train, None, ("a",))
    with pytest.raises(InputError, match="at least two distinct names"):
        DatasetSplits("x", train, train, None, ("a", "a"))
    three = LabelledStrings(["a", "b"], [1, 2])  # three classes
    with pytest.raises(InputError, match="DatasetSplits.test has label 2, but there are only 2 classes"):
        DatasetSplits("x", train, three, None, ("a", "b"))
    assert DatasetSplits("x", three, three, None, ("a", "b", "c")).summary()["splits"]["test"]["class_counts"] \
        == [0, 1, 1]
    with pytest.raises(InputError, match="DatasetSplits.test of a 'classify' dataset must be a LabelledStrings"):
        DatasetSplits("x", train, ["a"], None, ("a", "b"))
    with pytest.raises(InputError, match="DatasetSplits.name"):
        DatasetSplits("", train, train, None, ("a", "b"))
    assert DatasetSplits("x", train, train, None, ["a", "b"]).classes == ("a", "b")


# --------------------------------------------------------------------------- stratified_split

def _data(n_neg, n_pos):
    strings = [f"n{i}" for i in range(n_neg)] + [f"p{i}" for i in range(n_pos)]
    return LabelledStrings(strings, [0] * n_neg + [1] * n_pos)


def _check_partition(data, parts):
    everything = [s for p in parts if p is not None for s in p.strings]
    assert sorted(everything) == sorted(data.strings)
    for p in parts:
        if p is not None:
            for s, y in zip(p.strings, p.labels):
                assert y == (s[0] == "p")  # labels travel with their strings


def test_stratified_split_keeps_the_class_balance():
    data = _data(500, 500)
    train, test, val = stratified_split(data, test_fraction=0.25, seed=0)
    assert val is None
    assert (len(train), len(test)) == (750, 250)
    assert int(train.labels.sum()) == 375 and int(test.labels.sum()) == 125
    _check_partition(data, (train, test))


def test_stratified_split_with_validation_and_imbalance():
    data = _data(70, 30)
    train, test, val = stratified_split(data, test_fraction=0.2, validation_fraction=0.1, seed=1)
    assert (len(train), len(test), len(val)) == (70, 20, 10)
    assert (int(test.labels.sum()), int(val.labels.sum()), int(train.labels.sum())) == (6, 3, 21)
    _check_partition(data, (train, test, val))


def test_stratified_split_rounds_the_total_and_breaks_ties_to_label_0():
    # 0.25 * 50 = 12.5 per class: the total 25 is kept, the extra test string goes to label 0.
    train, test, _ = stratified_split(_data(50, 50), test_fraction=0.25, seed=0)
    assert len(test) == 25 and int(test.labels.sum()) == 12 and len(train) == 75


def test_stratified_split_shuffles_within_splits_and_is_deterministic():
    data = _data(200, 200)
    a = stratified_split(data, test_fraction=0.25, seed=3)
    assert a == stratified_split(data, test_fraction=0.25, seed=3)
    assert a[0] == stratified_split(data, test_fraction=0.25, seed=np.random.default_rng(3))[0]
    assert a[1].strings != stratified_split(data, test_fraction=0.25, seed=4)[1].strings
    train_labels = a[0].labels.tolist()
    assert train_labels != sorted(train_labels)  # classes are interleaved


def test_stratified_split_with_zero_test_fraction():
    train, test, val = stratified_split(_data(3, 3), test_fraction=0.0, seed=0)
    assert len(train) == 6 and len(test) == 0 and val is None


@pytest.mark.parametrize("kwargs, match", [
    (dict(test_fraction=1.0), r"'test_fraction' parameter of stratified_split must be a float in \[0, 1\); got 1.0"),
    (dict(test_fraction=-0.1), "'test_fraction' parameter"),
    (dict(test_fraction="0.2"), "'test_fraction' parameter"),
    (dict(test_fraction=float("nan")), "'test_fraction' parameter"),
    (dict(validation_fraction=1.2), "'validation_fraction' parameter of stratified_split"),
    (dict(test_fraction=0.6, validation_fraction=0.4), "must sum to less than 1"),
    (dict(seed="zero"), "'seed' parameter of stratified_split must be an int or a numpy.random.Generator"),
])
def test_stratified_split_validates_parameters(kwargs, match):
    kwargs.setdefault("seed", 0)
    with pytest.raises(InputError, match=match):
        stratified_split(_data(4, 4), **kwargs)


def test_stratified_split_rejects_other_data():
    with pytest.raises(InputError, match="must be a LabelledStrings"):
        stratified_split(["a", "b"], seed=0)
