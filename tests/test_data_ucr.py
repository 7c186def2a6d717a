"""UCR/UEA problems bundled with aeon: checked against aeon's own loader and published sizes."""

import socket
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

aeon_datasets = pytest.importorskip("aeon.datasets")

from sparsernn.data.ucr import UCR_PROBLEMS, ucr_dataset  # noqa: E402
from sparsernn.errors import InputError  # noqa: E402

# Published sizes (UCR/UEA archive pages): train, test, channels, shortest and longest series.
PUBLISHED = {
    "GunPoint": (50, 150, 1, 150, 150),
    "ItalyPowerDemand": (67, 1029, 1, 24, 24),
    "JapaneseVowels": (270, 370, 12, 7, 29),
    "BasicMotions": (40, 40, 6, 100, 100),
}


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Every test here fails if anything tries to open a connection."""
    def refuse(*args, **kwargs):
        raise AssertionError("ucr_dataset tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def aeon_split(name, split):
    """aeon's own loader: series as (C, T_i) arrays, and the string labels."""
    X, y = aeon_datasets.load_classification(name, split=split)
    return [np.asarray(x) for x in X], [str(label) for label in y]


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_sizes_shapes_values_and_labels_equal_aeons(name):
    n_train, n_test, channels, shortest, longest = PUBLISHED[name]
    data = ucr_dataset(name, seed=0, standardize=False)
    assert data.name == f"ucr:{name}" and data.validation is None
    lengths = []
    for part, split, size in ((data.train, "train", n_train), (data.test, "test", n_test)):
        X, y = aeon_split(name, split)
        assert len(part) == len(X) == size
        assert part.channels == channels
        for value, x in zip(part.values, X):
            assert value.shape == (x.shape[1], x.shape[0])  # (C, T) -> (T, C)
            np.testing.assert_allclose(value, x.T.astype(np.float32), rtol=0, atol=0)
        assert [data.classes[k] for k in part.labels] == y
        lengths.extend(part.lengths().tolist())
    assert (min(lengths), max(lengths)) == (shortest, longest)


def test_japanese_vowels_is_unequal_length_with_12_channels():
    data = ucr_dataset("JapaneseVowels", seed=0, standardize=False)
    assert {v.shape[1] for v in data.train.values + data.test.values} == {12}
    assert (data.train.lengths().min(), data.train.lengths().max()) == (7, 26)
    assert (data.test.lengths().min(), data.test.lengths().max()) == (7, 29)
    assert data.classes == tuple(str(k) for k in range(1, 10))


def test_every_listed_problem_is_bundled_and_loads():
    bundled = Path(aeon_datasets.__file__).parent / "data"
    for name in UCR_PROBLEMS:
        assert (bundled / name / f"{name}_TRAIN.ts").is_file()
        data = ucr_dataset(name, seed=0, standardize=False)
        X, y = aeon_split(name, "test")
        assert len(data.test) == len(X)
        assert set(data.classes) == set(aeon_split(name, "train")[1])


def test_classes_sort_numerically_when_all_are_numbers_else_as_text():
    assert ucr_dataset("PickupGestureWiimoteZ", seed=0, standardize=False).classes == tuple(
        str(k) for k in range(1, 11))
    # aeon lower-cases the .ts file's labels (Badminton, Running, ...)
    assert ucr_dataset("BasicMotions", seed=0, standardize=False).classes == (
        "badminton", "running", "standing", "walking")


@pytest.mark.parametrize("name", ["GunPoint", "BasicMotions", "JapaneseVowels"])
def test_standardisation_uses_the_training_steps_only(name):
    raw = ucr_dataset(name, seed=3, validation_fraction=0.25, standardize=False)
    data = ucr_dataset(name, seed=3, validation_fraction=0.25)
    steps = np.concatenate([v.astype(np.float64) for v in raw.train.values])  # (sum T_i, C)
    mean, std = steps.mean(axis=0), steps.std(axis=0)
    for part, raw_part in ((data.train, raw.train), (data.validation, raw.validation), (data.test, raw.test)):
        assert np.array_equal(part.labels, raw_part.labels)
        for value, raw_value in zip(part.values, raw_part.values):
            np.testing.assert_allclose(value, (raw_value - mean) / std, rtol=1e-5, atol=1e-5)
    standardised = np.concatenate(data.train.values).astype(np.float64)
    np.testing.assert_allclose(standardised.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(standardised.std(axis=0), 1, atol=1e-5)
    if name != "GunPoint":  # (UCR's univariate series are z-normalised one by one: any fit is ~ the identity)
        # the check above tells the fits apart: statistics of all splits would transform differently
        every = np.concatenate([v.astype(np.float64) for p in raw.splits().values() for v in p.values])
        assert np.abs(every.mean(axis=0) - mean).max() > 1e-3 * std.max()


def key(values, label):
    return values.tobytes(), int(label)


def test_validation_split_is_seeded_stratified_and_disjoint():
    official = ucr_dataset("GunPoint", seed=0, standardize=False).train
    a = ucr_dataset("GunPoint", seed=1, validation_fraction=0.2, standardize=False)
    b = ucr_dataset("GunPoint", seed=1, validation_fraction=0.2, standardize=False)
    c = ucr_dataset("GunPoint", seed=2, validation_fraction=0.2, standardize=False)
    assert all(np.array_equal(x, y) for x, y in zip(a.validation.values, b.validation.values))
    assert np.array_equal(a.validation.labels, b.validation.labels)
    assert {key(*p) for p in zip(a.validation.values, a.validation.labels)} != {
        key(*p) for p in zip(c.validation.values, c.validation.labels)}
    # GunPoint's 50 training series are 24 of class "1" and 26 of "2"; 10 go to validation,
    # 4.8 and 5.2 by proportion, rounded by largest remainder: 5 and 5.
    assert np.bincount(official.labels).tolist() == [24, 26]
    assert np.bincount(a.validation.labels).tolist() == [5, 5]
    assert len(a.train) == 40
    rest = Counter(key(*p) for p in zip(a.train.values, a.train.labels))
    held = Counter(key(*p) for p in zip(a.validation.values, a.validation.labels))
    assert not set(rest) & set(held)
    assert rest + held == Counter(key(*p) for p in zip(official.values, official.labels))
    assert len(a.test) == 150  # the official test split is untouched


def test_docstring_example():
    data = ucr_dataset("GunPoint", seed=0, validation_fraction=0.2)
    assert (data.name, len(data.train), len(data.validation), len(data.test), data.classes) == (
        "ucr:GunPoint", 40, 10, 150, ("1", "2"))
    assert data.train.values[0].shape == (150, 1)


@pytest.mark.parametrize("name, hint", [
    ("NoSuchProblem", ""),
    ("gunpoint", " (did you mean 'GunPoint'?)"),
    ("Covid3Month", ""),  # bundled, but a regression problem
    (None, ""),
])
def test_unknown_name_is_one_line_listing_the_problems(name, hint):
    with pytest.raises(InputError) as info:
        ucr_dataset(name, seed=0)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("The 'name' parameter of ucr_dataset must be one of")
    assert all(repr(p) in message for p in UCR_PROBLEMS)
    assert message.endswith(f"got {name!r}{hint}.")


@pytest.mark.parametrize("kwargs, fragment", [
    ({"validation_fraction": 1.0}, "'validation_fraction' parameter of ucr_dataset must be a float in [0, 1)"),
    ({"validation_fraction": -0.1}, "'validation_fraction' parameter of ucr_dataset"),
    ({"standardize": "yes"}, "'standardize' parameter of ucr_dataset must be a bool"),
    ({"seed": "0"}, "'seed' parameter of ucr_dataset must be an int"),
])
def test_bad_parameters(kwargs, fragment):
    with pytest.raises(InputError, match=None) as info:
        ucr_dataset("GunPoint", **{"seed": 0, **kwargs})
    assert fragment in str(info.value) and "\n" not in str(info.value)


def test_a_validation_fraction_that_takes_every_training_series_is_refused():
    with pytest.raises(InputError, match=r"^ucr:GunPoint: the split leaves no training sequence"):
        ucr_dataset("GunPoint", seed=0, validation_fraction=0.99)


def test_without_aeon_the_error_says_how_to_install_it(monkeypatch):
    for module in [m for m in sys.modules if m == "aeon" or m.startswith("aeon.")]:
        monkeypatch.delitem(sys.modules, module)
    monkeypatch.setitem(sys.modules, "aeon", None)  # import aeon now raises ImportError
    with pytest.raises(InputError) as info:
        ucr_dataset("GunPoint", seed=0)
    assert "pip install 'sparsernn[data]'" in str(info.value) and "\n" not in str(info.value)


def test_an_aeon_without_the_bundled_file_is_refused(monkeypatch, tmp_path):
    import aeon

    monkeypatch.setattr(aeon, "__file__", str(tmp_path / "aeon" / "__init__.py"))
    with pytest.raises(InputError, match=r"does not bundle GunPoint \(no .*GunPoint_TRAIN\.ts\); pip install"):
        ucr_dataset("GunPoint", seed=0)
