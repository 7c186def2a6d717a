"""Tests for sparsernn.data.registry and the package's public surface."""

from __future__ import annotations

import re

import pytest

import sparsernn.data
from sparsernn.data import DatasetInfo, csv_dataset, embedded_reber_dataset, list_datasets, load_dataset, reber_dataset
from sparsernn.errors import InputError


def test_public_names_are_exported():
    for name in sparsernn.data.__all__:
        assert hasattr(sparsernn.data, name), name


def test_list_datasets():
    infos = list_datasets()
    names = [i.name for i in infos]
    assert names[:5] == ["reber", "embedded-reber", "embedded-reber-next", "pydoc-topics", "digits"]
    assert {"ucr:GunPoint", "ucr:ItalyPowerDemand", "ucr:JapaneseVowels", "ucr:BasicMotions"} <= set(names)
    assert all(isinstance(i, DatasetInfo) and i.description for i in infos)
    assert {i.name: (i.task, i.inputs) for i in infos}["pydoc-topics"] == ("language_model", "symbols")
    assert {i.name: i.extra for i in infos}["ucr:GunPoint"] == "data"


def test_load_builtin_datasets_with_options():
    got = load_dataset("reber", seed=3, num_strings=200, negatives="foreign", validation_fraction=0.1)
    assert got == reber_dataset(200, negatives="foreign", validation_fraction=0.1, seed=3)
    got = load_dataset("embedded-reber", seed=3, num_strings=100)
    assert got == embedded_reber_dataset(100, seed=3)
    assert got.name == "embedded-reber"


def test_load_builtin_with_the_options_a_study_config_passes():
    options = dict(test_fraction=0.25, validation_fraction=0.0, num_strings=100, min_length=11,
                   max_length=None, negatives="grammar", foreign_fraction=0.5)
    assert load_dataset("reber", seed=0, **options) == reber_dataset(100, seed=0)


def test_load_csv_by_path(tmp_path):
    path = tmp_path / "mine.csv"
    path.write_text("seq,y\n" + "".join(f"s{i},{i % 2}\n" for i in range(20)))
    got = load_dataset(str(path), seed=1, string_column="seq", label_column="y", test_fraction=0.5)
    assert got == csv_dataset(path, seed=1, string_column="seq", label_column="y", test_fraction=0.5)
    assert got.name == "mine" and len(got.test) == 10
    assert load_dataset(path, seed=1, string_column="seq", label_column="y").name == "mine"  # a Path


def test_load_an_existing_file_without_csv_suffix(tmp_path):
    path = tmp_path / "data.txt"
    path.write_text("string,valid\na,1\nb,0\n")
    assert load_dataset(str(path), seed=0, test_fraction=0.0).name == "data"


def test_missing_csv_path(tmp_path):
    with pytest.raises(InputError, match="missing.csv: no such file"):
        load_dataset(str(tmp_path / "missing.csv"), seed=0)


def test_unknown_dataset():
    with pytest.raises(InputError, match=re.escape(
            "Unknown dataset 'foo'; expected one of 'reber', 'embedded-reber', 'embedded-reber-next'")):
        load_dataset("foo", seed=0)


def test_options_that_do_not_apply(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("string,valid\na,1\nb,0\n")
    with pytest.raises(InputError, match="Option 'negatives' does not apply to a CSV file; its options are "
                                         "'test_fraction', 'validation_fraction', 'string_column', 'label_column'"):
        load_dataset(str(path), seed=0, negatives="grammar")
    with pytest.raises(InputError, match="Options 'string_column', 'colour' do not apply to the 'reber' dataset"):
        load_dataset("reber", seed=0, string_column="s", colour="red")


def test_builder_errors_pass_through():
    with pytest.raises(InputError, match="'negatives' parameter of reber_dataset"):
        load_dataset("reber", seed=0, negatives="x")
    with pytest.raises(InputError, match="expects a dataset name or the path of a file"):
        load_dataset("", seed=0)
