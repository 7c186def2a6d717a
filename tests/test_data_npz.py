"""The .npz format for numeric sequences: every accepted form round-trips, every problem is one line."""

import pathlib
from collections import Counter

import numpy as np
import pytest

from sparsernn.data.npz_file import channel_stats, class_order, load_npz, npz_dataset, standardize_sequences
from sparsernn.data.sequences import LabelledSequences
from sparsernn.errors import InputError


def save(tmp_path, name="seqs.npz", **arrays):
    path = tmp_path / name
    np.savez(path, **arrays)
    return path


def ragged(seed=0, n=12, channels=3, classes=("a", "b")):
    """n sequences of 1..6 steps, their concatenation, lengths and labels."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, 7, size=n)
    sequences = [rng.normal(size=(t, channels)).astype(np.float32) for t in lengths]
    labels = np.array([classes[i % len(classes)] for i in range(n)])
    return sequences, np.concatenate(sequences), lengths, labels


def assert_sequences(data, sequences):
    assert len(data) == len(sequences)
    for value, expected in zip(data.values, sequences):
        assert value.dtype == np.float32 and np.array_equal(value, expected)


def test_padded_form_without_lengths(tmp_path):
    X = np.arange(2 * 3 * 4, dtype=np.float64).reshape(2, 3, 4)
    data, classes = load_npz(save(tmp_path, X=X, y=np.array([1, 0])))
    assert_sequences(data, [X[0], X[1]])
    assert data.labels.tolist() == [1, 0] and classes == ("0", "1")


def test_padded_form_with_lengths(tmp_path):
    sequences, _, lengths, _ = ragged()
    X = np.full((len(sequences), 6, 3), 99.0, dtype=np.float32)  # padding that must not come back
    for i, s in enumerate(sequences):
        X[i, :len(s)] = s
    data, _ = load_npz(save(tmp_path, X=X, lengths=lengths, y=[0, 1] * 6))
    assert_sequences(data, sequences)
    assert data.lengths().tolist() == lengths.tolist()


def test_ragged_form(tmp_path):
    sequences, X, lengths, labels = ragged()
    data, classes = load_npz(save(tmp_path, X=X, lengths=lengths, y=labels))
    assert_sequences(data, sequences)
    assert classes == ("a", "b") and [classes[k] for k in data.labels] == labels.tolist()


def test_compressed_file_and_integer_values(tmp_path):
    path = tmp_path / "ints.npz"
    X = np.arange(24, dtype=np.int16).reshape(4, 3, 2)
    np.savez_compressed(path, X=X, y=[0, 1, 1, 0])
    data, _ = load_npz(path)
    assert_sequences(data, list(X.astype(np.float32)))


def test_string_labels_sort_numerically_if_all_are_numbers_else_as_text(tmp_path):
    X = np.zeros((4, 1, 1))
    _, classes = load_npz(save(tmp_path, X=X, y=np.array(["10", "9", "2", "9"])))
    assert classes == ("2", "9", "10")
    data, classes = load_npz(save(tmp_path, X=X, y=np.array(["walk", "Run", "10", "walk"])))
    assert classes == ("10", "Run", "walk") and data.labels.tolist() == [2, 1, 0, 2]
    data, classes = load_npz(save(tmp_path, X=X, y=np.array([b"no", b"yes", b"no", b"no"])))  # bytes
    assert classes == ("no", "yes") and data.labels.tolist() == [0, 1, 0, 0]


def test_integer_labels_named_by_classes(tmp_path):
    data, classes = load_npz(save(tmp_path, X=np.zeros((3, 2, 1)), y=[2, 0, 2], classes=["cat", "dog", "eel"]))
    assert classes == ("cat", "dog", "eel") and data.labels.tolist() == [2, 0, 2]  # "dog" may be absent


def test_dataset_split_and_name(tmp_path):
    sequences, X, lengths, labels = ragged(n=40)
    path = save(tmp_path, "my.walks.npz", X=X, lengths=lengths, y=labels)
    data = npz_dataset(path, seed=0, validation_fraction=0.25, standardize=False)
    assert data.name == "my.walks" and data.classes == ("a", "b")
    assert (len(data.train), len(data.test), len(data.validation)) == (20, 10, 10)
    assert np.bincount(data.test.labels).tolist() == [5, 5]
    every = Counter((v.tobytes(), int(k)) for p in data.splits().values() for v, k in zip(p.values, p.labels))
    assert every == Counter((s.tobytes(), int(k)) for s, k in zip(sequences, (labels == "b").astype(int)))
    again = npz_dataset(path, seed=0, validation_fraction=0.25, standardize=False)
    other = npz_dataset(path, seed=1, validation_fraction=0.25, standardize=False)
    assert [v.tobytes() for v in again.test.values] == [v.tobytes() for v in data.test.values]
    assert [v.tobytes() for v in other.test.values] != [v.tobytes() for v in data.test.values]


def test_standardisation_is_fitted_on_the_training_split(tmp_path):
    _, X, lengths, labels = ragged(n=40)
    X = X * np.array([1.0, 10.0, 0.1], dtype=np.float32) + np.array([5.0, -3.0, 0.0], dtype=np.float32)
    path = save(tmp_path, X=X, lengths=lengths, y=labels)
    raw = npz_dataset(path, seed=2, standardize=False)
    data = npz_dataset(path, seed=2)
    steps = np.concatenate(raw.train.values).astype(np.float64)
    mean, std = steps.mean(axis=0), steps.std(axis=0)
    for part, raw_part in ((data.train, raw.train), (data.test, raw.test)):
        for value, raw_value in zip(part.values, raw_part.values):
            np.testing.assert_allclose(value, (raw_value - mean) / std, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.concatenate(data.train.values).mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(np.concatenate(data.train.values).std(axis=0), 1, atol=1e-5)


def test_test_path_is_the_test_split(tmp_path):
    train_seqs, X, lengths, labels = ragged(n=20, seed=0)
    test_seqs, X2, lengths2, _ = ragged(n=5, seed=1)
    train = save(tmp_path, "train.npz", X=X, lengths=lengths, y=labels)
    test = save(tmp_path, "test.npz", X=X2, lengths=lengths2, y=np.array(["b", "b", "b", "b", "b"]))
    data = npz_dataset(train, seed=0, test_path=test, validation_fraction=0.2, test_fraction=0.9, standardize=False)
    assert data.name == "train" and data.classes == ("a", "b")
    assert_sequences(data.test, test_seqs)  # in file order, all of it, one class is fine
    assert data.test.labels.tolist() == [1] * 5
    assert (len(data.train), len(data.validation)) == (16, 4)
    standardised = npz_dataset(train, seed=0, test_path=test, validation_fraction=0.2)
    mean, std = channel_stats(data.train)
    for value, raw_value in zip(standardised.test.values, data.test.values):
        np.testing.assert_allclose(value, (raw_value - mean) / std, rtol=1e-5, atol=1e-5)


def test_test_path_integer_labels_use_the_training_classes(tmp_path):
    train = save(tmp_path, "train.npz", X=np.zeros((4, 2, 1)), y=[0, 1, 2, 0], classes=["x", "y", "z"])
    test = save(tmp_path, "test.npz", X=np.ones((2, 2, 1)), y=[2, 2])
    data = npz_dataset(train, seed=0, test_path=test, standardize=False)
    assert data.classes == ("x", "y", "z") and data.test.labels.tolist() == [2, 2]


@pytest.mark.parametrize("test_arrays, fragment", [
    ({"X": np.zeros((2, 2, 1)), "y": np.array(["a", "c"])}, "label 'c' in 'y' is not one of the training file's"),
    ({"X": np.zeros((2, 2, 5)), "y": np.array(["a", "b"])}, "its sequences have 5 channels, but those of"),
    ({"X": np.zeros((2, 2, 1)), "y": [0, 2]}, "y[1] is 2, but there are only 2 classes ('a', 'b')"),
    ({"X": np.zeros((2, 2, 1)), "y": [0, 1], "classes": ["b", "a"]}, "'classes' are 'b', 'a', but the training"),
])
def test_test_path_problems_name_the_test_file(tmp_path, test_arrays, fragment):
    train = save(tmp_path, "train.npz", X=np.zeros((4, 2, 1)), y=np.array(["a", "b", "a", "b"]))
    test = save(tmp_path, "test.npz", **test_arrays)
    with pytest.raises(InputError) as info:
        npz_dataset(train, seed=0, test_path=test)
    message = str(info.value)
    assert message.startswith(str(test)) and fragment in message and "\n" not in message


GOOD_X = np.zeros((4, 3, 2))
GOOD_Y = np.array([0, 1, 0, 1])

# (arrays saved with np.savez, the part of the message after "<path>: ")
ERRORS = {
    "missing X": ({"y": GOOD_Y}, "missing key 'X' (the sequences); found keys 'y'."),
    "missing y": ({"X": GOOD_X}, "missing key 'y' (one class label per sequence); found keys 'X'."),
    "unknown key": ({"X": GOOD_X, "y": GOOD_Y, "Lengths": [3] * 4},
                    "unknown key 'Lengths'; an .npz dataset holds 'X', 'y', 'lengths', 'classes'."),
    "X 1-D": ({"X": np.zeros(4), "y": GOOD_Y}, "'X' must be a 3-D (n, T, C) array, or a 2-D (sum of lengths, C) "
              "array with 'lengths'; got shape (4,)."),
    "X 4-D": ({"X": np.zeros((4, 3, 2, 1)), "y": GOOD_Y}, "'X' must be a 3-D (n, T, C) array, or a 2-D"),
    "X strings": ({"X": np.array([["a"]]), "y": [0]},
                  "'X' must hold real numbers (integers or floats); got dtype <U1."),
    "X bools": ({"X": np.zeros((4, 3, 2), dtype=bool), "y": GOOD_Y}, "'X' must hold real numbers"),
    "X empty": ({"X": np.zeros((0, 3, 2)), "y": np.zeros(0, dtype=int)},
                "'X' of shape (0, 3, 2) holds no sequence with a value; expected at least one."),
    "2-D X without lengths": ({"X": np.zeros((12, 2)), "y": GOOD_Y},
                              "a 2-D 'X' (all steps one after another) needs 'lengths'"),
    "lengths sum": ({"X": np.zeros((12, 2)), "lengths": [3, 3, 3, 2], "y": GOOD_Y},
                    "'lengths' sum to 11, but X of shape (12, 2) holds 12 steps."),
    "lengths zero": ({"X": np.zeros((12, 2)), "lengths": [3, 0, 6, 3], "y": GOOD_Y},
                     "every entry of 'lengths' must be >= 1; lengths[1] is 0."),
    "lengths float": ({"X": np.zeros((12, 2)), "lengths": [3.0] * 4, "y": GOOD_Y},
                      "'lengths' must be a 1-D array of integers; got dtype float64 and shape (4,)."),
    "lengths count": ({"X": GOOD_X, "lengths": [3, 3, 3], "y": GOOD_Y},
                      "'lengths' has 3 entries but X of shape (4, 3, 2) holds 4 sequences."),
    "lengths beyond T": ({"X": GOOD_X, "lengths": [3, 4, 1, 1], "y": GOOD_Y},
                         "lengths[1] is 4, more than the 3 steps of X of shape (4, 3, 2)."),
    "NaN": ({"X": np.where(np.arange(24).reshape(4, 3, 2) == 9, np.nan, 0.0), "y": GOOD_Y},
            "sequence 1 has a value that is NaN or infinite (or too large for float32) at step 1"),
    "inf": ({"X": np.full((4, 3, 2), np.inf), "y": GOOD_Y}, "sequence 0 has a value that is NaN or infinite"),
    "too large for float32": ({"X": np.full((4, 3, 2), 1e300), "y": GOOD_Y}, "too large for float32"),
    "label count": ({"X": GOOD_X, "y": [0, 1, 0]},
                    "'y' must be 1-D with one label per sequence (4); got shape (3,)."),
    "y 2-D": ({"X": GOOD_X, "y": GOOD_Y.reshape(4, 1)}, "'y' must be 1-D with one label per sequence (4)"),
    "float labels": ({"X": GOOD_X, "y": GOOD_Y.astype(float)},
                     "'y' must hold integer class indices or strings (class names); got dtype float64."),
    "one class of strings": ({"X": GOOD_X, "y": np.array(["a"] * 4)},
                             "'y' must hold at least two classes; found 1 ('a')."),
    "one class of integers": ({"X": GOOD_X, "y": [0, 0, 0, 0]},
                              "'y' must hold at least two classes; found 1 ('0')."),
    "one class named": ({"X": GOOD_X, "y": [1, 1, 1, 1], "classes": ["a", "b"]},
                        "'y' must hold at least two classes; found 1 ('b')."),
    "labels from 1": ({"X": GOOD_X, "y": [1, 2, 1, 2]}, "integer labels in 'y' must be 0..K-1 with every class "
                      "present; label 0 never occurs (labels run 1..2)"),
    "negative label": ({"X": GOOD_X, "y": [0, -1, 0, 1]},
                       "integer labels in 'y' must be class indices >= 0; y[1] is -1."),
    "label beyond classes": ({"X": GOOD_X, "y": [0, 1, 2, 0], "classes": ["a", "b"]},
                             "y[2] is 2, but there are only 2 classes ('a', 'b')."),
    "classes with string labels": ({"X": GOOD_X, "y": np.array(list("abab")), "classes": ["a", "b"]},
                                   "'classes' names integer labels, but 'y' holds strings; drop one of them."),
    "classes repeated": ({"X": GOOD_X, "y": GOOD_Y, "classes": ["a", "a"]},
                         "'classes' must be at least two distinct names; got 'a', 'a'."),
    "classes numbers": ({"X": GOOD_X, "y": GOOD_Y, "classes": [0, 1]},
                        "'classes' must be a 1-D array of strings; got dtype int64 and shape (2,)."),
    "object X": ({"X": np.array([np.zeros((2, 1)), np.zeros((3, 1))], dtype=object), "y": [0, 1]},
                 "key 'X' holds an object array (pickled Python objects), which is never loaded"),
    "object y": ({"X": GOOD_X, "y": np.array(["a", 1, "a", 1], dtype=object)},
                 "key 'y' holds an object array (pickled Python objects), which is never loaded"),
}


@pytest.mark.parametrize("case", sorted(ERRORS))
def test_each_problem_is_one_line_naming_the_file(tmp_path, case):
    arrays, expected = ERRORS[case]
    path = save(tmp_path, "bad.npz", **arrays)
    for call in (lambda: load_npz(path), lambda: npz_dataset(path, seed=0)):
        with pytest.raises(InputError) as info:
            call()
        message = str(info.value)
        assert "\n" not in message
        assert message.startswith(f"{path}: "), message
        assert expected in message, message


def write_bytes(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    return path


@pytest.mark.parametrize("make, expected", [
    (lambda tmp: tmp / "absent.npz", "no such file."),
    (lambda tmp: tmp, "is a directory, not a file."),
    (lambda tmp: write_bytes(tmp, "text.npz", b"X,y\n1,0\n"),
     "not an .npz file (a zip archive written by numpy.savez)."),
    (lambda tmp: write_bytes(tmp, "empty.npz", b""), "not an .npz file"),
    (lambda tmp: write_bytes(tmp, "cut.npz", b"PK\x03\x04 truncated"), "not a readable .npz file (BadZipFile"),
    (lambda tmp: (np.save(tmp / "one.npy", GOOD_X), tmp / "one.npy")[1],
     "a single .npy array, not an .npz file; save X and y together with numpy.savez."),
])
def test_files_that_are_not_npz_files(tmp_path, make, expected):
    path = make(tmp_path)
    with pytest.raises(InputError) as info:
        load_npz(path)
    assert str(info.value).startswith(f"{path}: {expected}") and "\n" not in str(info.value)


class Trap:
    """Unpickling this object would create the marker file."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (pathlib.Path.touch, (self.marker,))


def test_object_array_is_refused_without_unpickling(tmp_path):
    marker = tmp_path / "unpickled"
    path = tmp_path / "trap.npz"
    np.savez(path, X=GOOD_X, y=np.array([Trap(marker)] * 4, dtype=object))
    with pytest.raises(InputError, match="key 'y' holds an object array"):
        npz_dataset(path, seed=0)
    assert not marker.exists()
    np.load(path, allow_pickle=True)["y"]  # the trap works: loading with pickle would have run it
    assert marker.exists()


def test_a_split_that_leaves_no_training_sequence(tmp_path):
    path = save(tmp_path, X=np.zeros((2, 1, 1)), y=[0, 1])
    for standardize in (True, False):
        with pytest.raises(InputError, match=r"the split leaves no training sequence; lower test_fraction"):
            npz_dataset(path, seed=0, test_fraction=0.75, standardize=standardize)


@pytest.mark.parametrize("kwargs, fragment", [
    ({"seed": None}, "The 'seed' parameter of npz_dataset must be an int; got None."),
    ({"test_fraction": 1}, "The 'test_fraction' parameter of npz_dataset must be a float in [0, 1); got 1."),
    ({"test_fraction": 0.5, "validation_fraction": 0.5}, "must sum to less than 1"),
    ({"standardize": None}, "The 'standardize' parameter of npz_dataset must be a bool; got None."),
    ({"test_path": 3}, "The 'test_path' parameter of npz_dataset must be the path of an .npz file or None"),
])
def test_bad_parameters(tmp_path, kwargs, fragment):
    path = save(tmp_path, X=GOOD_X, y=GOOD_Y)
    with pytest.raises(InputError) as info:
        npz_dataset(path, **{"seed": 0, **kwargs})
    assert fragment in str(info.value) and "\n" not in str(info.value)


def test_class_order_and_channel_stats_by_hand():
    assert class_order(["1.5", "1", "-2", "1.0"]) == ("-2", "1", "1.0", "1.5")
    assert class_order(["b", "a", "nan"]) == ("a", "b", "nan")
    data = LabelledSequences([[[1.0, 7.0], [3.0, 7.0]], [[5.0, 7.0]]], [0, 1])
    mean, std = channel_stats(data)
    assert mean.tolist() == [3.0, 7.0]
    assert std.tolist() == [pytest.approx(np.sqrt(8 / 3)), 1.0]  # the constant channel is only centred
    out = standardize_sequences(data, mean, std)
    assert out.values[1].tolist() == [[pytest.approx(2 / np.sqrt(8 / 3)), 0.0]]
    with pytest.raises(InputError, match="channel_stats needs a LabelledSequences holding at least one"):
        channel_stats(data.take([]))
