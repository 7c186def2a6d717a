"""Tests for sparsernn.data.csv_file: load_csv and csv_dataset."""

from __future__ import annotations

import pandas as pd
import pytest

from sparsernn.data import csv_dataset, load_csv
from sparsernn.errors import InputError


def write(tmp_path, text, name="data.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- happy paths

def test_load_csv_reads_strings_and_01_labels(tmp_path):
    path = write(tmp_path, "string,valid\nBTXSE,1\nBTTE,0\nBPVVE,1\n")
    data, classes = load_csv(path)
    assert data.strings == ("BTXSE", "BTTE", "BPVVE")
    assert data.labels.tolist() == [1, 0, 1]
    assert classes == ("0", "1")


def test_load_csv_reads_a_pandas_file_with_its_index_column(tmp_path):
    frame = pd.DataFrame({"string": ["BTXSE", "BTTE", "BPVVE", "BXE"], "valid": [True, False, True, False]})
    path = tmp_path / "pandas.csv"
    frame.to_csv(path)  # writes ",string,valid" and an index column
    assert path.read_text().splitlines()[0] == ",string,valid"
    data, classes = load_csv(path)
    assert data.strings == ("BTXSE", "BTTE", "BPVVE", "BXE")
    assert data.labels.tolist() == [1, 0, 1, 0]
    assert classes == ("False", "True")


def test_load_csv_ignores_other_columns_and_takes_named_ones(tmp_path):
    path = write(tmp_path, "Unnamed: 0,length,seq,kind\n0,5,BTXSE,yes\n1,4,BTTE,no\n")
    data, classes = load_csv(path, string_column="seq", label_column="kind")
    assert data.strings == ("BTXSE", "BTTE") and data.labels.tolist() == [1, 0]
    assert classes == ("no", "yes")


@pytest.mark.parametrize("values, classes, labels", [
    (("valid", "invalid", "valid"), ("invalid", "valid"), [1, 0, 1]),
    (("TRUE", "false", "TRUE"), ("false", "TRUE"), [1, 0, 1]),
    (("Yes", "No", "No"), ("No", "Yes"), [1, 0, 0]),
    (("1.0", "0.0", "0.0"), ("0.0", "1.0"), [1, 0, 0]),
    (("dog", "cat", "dog"), ("cat", "dog"), [1, 0, 1]),        # not boolean: sorted
    (("10", "2", "10"), ("2", "10"), [1, 0, 1]),               # numbers sort as numbers
    (("1", "yes", "1"), ("1", "yes"), [0, 1, 0]),              # both true-like: sorted as text
])
def test_load_csv_label_mapping(tmp_path, values, classes, labels):
    rows = "".join(f"s{i},{v}\n" for i, v in enumerate(values))
    data, found = load_csv(write(tmp_path, "string,valid\n" + rows))
    assert found == classes and data.labels.tolist() == labels


def test_load_csv_keeps_duplicates_strips_whitespace_and_skips_blank_lines(tmp_path):
    text = "\ufeffstring , valid\n\nBTXSE, 1\n  BTXSE ,1\n\n\"B,E\",0\n\n"
    data, classes = load_csv(write(tmp_path, text))
    assert data.strings == ("BTXSE", "BTXSE", "B,E")
    assert data.labels.tolist() == [1, 1, 0]


def test_load_csv_reads_crlf_files(tmp_path):
    path = tmp_path / "windows.csv"
    path.write_bytes(b"string,valid\r\nBTXSE,1\r\nBTTE,0\r\n")
    data, _ = load_csv(path)
    assert data.strings == ("BTXSE", "BTTE")


# --------------------------------------------------------------------------- errors

def test_missing_file(tmp_path):
    path = tmp_path / "nope.csv"
    with pytest.raises(InputError, match="nope.csv: no such file"):
        load_csv(path)


def test_directory(tmp_path):
    with pytest.raises(InputError, match="is a directory"):
        load_csv(tmp_path)


def test_not_utf8(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes("string,valid\nBTXSE,1\nBT\u00e9E,0\n".encode("latin-1"))
    with pytest.raises(InputError, match=r"latin1.csv, line 3: not UTF-8 text \(byte 0xe9"):
        load_csv(path)


@pytest.mark.parametrize("text", ["", "\n\n", "   \n"])
def test_empty_file(tmp_path, text):
    expected = "data.csv: the file is empty; expected a header row with columns 'string' and 'valid'"
    with pytest.raises(InputError, match=expected):
        load_csv(write(tmp_path, text))


def test_no_header_row(tmp_path):
    expected = "no header row with columns 'string' and 'valid'; the first row is 'BTXSE', '1'"
    with pytest.raises(InputError, match=expected):
        load_csv(write(tmp_path, "BTXSE,1\nBTTE,0\n"))


def test_missing_column_names_it_and_lists_the_found_ones(tmp_path):
    with pytest.raises(InputError, match="data.csv: missing column 'valid'; found columns 'string', 'label'"):
        load_csv(write(tmp_path, "string,label\nBTXSE,1\n"))
    with pytest.raises(InputError, match="missing column 'seq'; found columns 'string', 'valid'"):
        load_csv(write(tmp_path, "string,valid\nBTXSE,1\n"), string_column="seq")


def test_duplicated_column(tmp_path):
    with pytest.raises(InputError, match="column 'valid' appears 2 times"):
        load_csv(write(tmp_path, "string,valid,valid\nBTXSE,1,1\n"))


def test_header_only(tmp_path):
    with pytest.raises(InputError, match="header row but no data rows"):
        load_csv(write(tmp_path, "string,valid\n"))


def test_empty_string_names_the_line(tmp_path):
    with pytest.raises(InputError, match="data.csv, line 3: empty string in column 'string'"):
        load_csv(write(tmp_path, "string,valid\nBTXSE,1\n ,0\n"))


def test_missing_label_names_the_line(tmp_path):
    with pytest.raises(InputError, match="data.csv, line 4: missing label in column 'valid'"):
        load_csv(write(tmp_path, "string,valid\nBTXSE,1\nBTTE,0\nBPVVE,\n"))


def test_wrong_number_of_fields_names_the_line(tmp_path):
    with pytest.raises(InputError, match="data.csv, line 3: expected 2 fields as in the header, found 3"):
        load_csv(write(tmp_path, "string,valid\nBTXSE,1\nB,TE,0\n"))
    with pytest.raises(InputError, match="line 2: expected 3 fields as in the header, found 2"):
        load_csv(write(tmp_path, ",string,valid\nBTXSE,1\n"))


def test_line_numbers_count_blank_lines(tmp_path):
    with pytest.raises(InputError, match="line 5: missing label"):
        load_csv(write(tmp_path, "string,valid\n\nBTXSE,1\n\nBTTE,\n"))


def test_malformed_quoting(tmp_path):
    with pytest.raises(InputError, match="data.csv, line 2: malformed CSV"):
        load_csv(write(tmp_path, 'string,valid\n"BT"XSE,1\n'))


def test_one_class(tmp_path):
    with pytest.raises(InputError, match="column 'valid' must hold exactly two classes; found 1: '1'"):
        load_csv(write(tmp_path, "string,valid\nBTXSE,1\nBPVVE,1\n"))


def test_three_classes(tmp_path):
    with pytest.raises(InputError, match="exactly two classes; found 3: '0', '1', '2'"):
        load_csv(write(tmp_path, "string,valid\na,0\nb,1\nc,2\n"))


def test_many_classes_are_listed_briefly(tmp_path):
    rows = "".join(f"s{i},{i}\n" for i in range(8))
    with pytest.raises(InputError, match="found 8: '0', '1', '2', '3', '4' and 3 more"):
        load_csv(write(tmp_path, "string,valid\n" + rows))


def test_same_column_twice_is_an_error(tmp_path):
    with pytest.raises(InputError, match="two different column names"):
        load_csv(write(tmp_path, "string,valid\na,1\n"), string_column="valid", label_column="valid")


# --------------------------------------------------------------------------- csv_dataset

def test_csv_dataset_splits_by_class_and_is_named_after_the_file(tmp_path):
    rows = "".join(f"s{i},{'yes' if i % 4 == 0 else 'no'}\n" for i in range(40))
    path = write(tmp_path, "string,valid\n" + rows, name="my-data.csv")
    data = csv_dataset(path, test_fraction=0.25, validation_fraction=0.1, seed=0)
    assert data.name == "my-data" and data.classes == ("no", "yes")
    assert (len(data.train), len(data.test), len(data.validation)) == (26, 10, 4)
    # 30 "no", 10 "yes": test quotas 7.5 and 2.5 (the tie goes to label 0), validation 3 and 1.
    assert [int(s.labels.sum()) for s in (data.train, data.test, data.validation)] == [7, 2, 1]
    everything = data.train.strings + data.test.strings + data.validation.strings
    assert sorted(everything) == sorted(f"s{i}" for i in range(40))
    assert csv_dataset(path, test_fraction=0.25, validation_fraction=0.1, seed=0) == data
    assert csv_dataset(path, seed=1).test.strings != csv_dataset(path, seed=0).test.strings


def test_csv_dataset_validates_parameters(tmp_path):
    path = write(tmp_path, "string,valid\na,1\nb,0\n")
    with pytest.raises(InputError, match="'test_fraction' parameter of csv_dataset"):
        csv_dataset(path, test_fraction=1.5, seed=0)
    with pytest.raises(InputError, match="'seed' parameter of csv_dataset must be an int"):
        csv_dataset(path, seed=None)


# --------------------------------------------------------------------------- splits that come with the data

def _rows(*rows):
    return "".join(f"{','.join(r)}\n" for r in rows)


def test_a_test_file_is_kept_as_the_test_split(tmp_path):
    train = tmp_path / "train_data.csv"
    test = tmp_path / "test_data.csv"
    train.write_text(_rows(("string", "valid"), *[("B" + "T" * i + "E", str(i % 2)) for i in range(10)]))
    test.write_text(_rows(("string", "valid"), ("BPE", "0"), ("BTXSE", "1"), ("BPVVE", "1")))
    data = csv_dataset(train, seed=0, test_path=test, validation_fraction=0.2)
    assert data.test.strings == ("BPE", "BTXSE", "BPVVE") and data.test.labels.tolist() == [0, 1, 1]
    assert len(data.train) == 8 and len(data.validation) == 2
    assert sorted(data.train.strings + data.validation.strings) == sorted("B" + "T" * i + "E" for i in range(10))
    assert data == csv_dataset(train, seed=0, test_path=test, validation_fraction=0.2)


def test_a_test_file_of_other_classes_is_refused(tmp_path):
    train, test = tmp_path / "a.csv", tmp_path / "b.csv"
    train.write_text(_rows(("string", "valid"), ("BTE", "0"), ("BPE", "1")))
    test.write_text(_rows(("string", "valid"), ("BTE", "no"), ("BPE", "yes")))
    with pytest.raises(InputError, match=r"b.csv: its classes 'no', 'yes' are not those of .*a.csv, '0', '1'"):
        csv_dataset(train, seed=0, test_path=test)


def test_a_split_column_says_each_rows_split(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text(_rows(("string", "valid", "split"), ("BTE", "0", "train"), ("BPE", "1", "TRAIN"),
                          ("BTTE", "0", "validation"), ("BPPE", "1", "test"), ("BTXSE", "1", "test")))
    data = csv_dataset(path, seed=0, split_column="split", test_fraction=0.5)  # the fractions do not apply
    assert data.train.strings == ("BTE", "BPE") and data.validation.strings == ("BTTE",)
    assert data.test.strings == ("BPPE", "BTXSE") and data.test.labels.tolist() == [1, 1]
    path.write_text(_rows(("string", "valid", "split"), ("BTE", "0", "train"), ("BPE", "1", "dev")))
    with pytest.raises(InputError, match=r"s.csv, line 3: column 'split' holds 'dev'; expected one of train, test"):
        csv_dataset(path, seed=0, split_column="split")
    with pytest.raises(InputError, match="not both"):
        csv_dataset(path, seed=0, split_column="split", test_path=path)
