"""Digits as sequences: checked against scikit-learn's own load_digits."""

from collections import Counter

import numpy as np
import pytest
from sklearn.datasets import load_digits

from sparsernn.data.digits import digits_dataset, digits_sequences
from sparsernn.errors import InputError


@pytest.fixture(scope="module")
def digits():
    return load_digits()


def keys(part):
    return Counter((v.tobytes(), int(label)) for v, label in zip(part.values, part.labels))


def test_each_sequence_is_its_image_read_row_by_row(digits):
    data = digits_sequences()
    assert len(data) == 1797 == len(digits.images)
    for value, image, target, label in zip(data.values, digits.images, digits.target, data.labels):
        assert value.shape == (8, 8)
        assert np.array_equal(value, image.astype(np.float32))  # row t of the image is step t
        assert label == target
    # one hand-checked pixel: image 0's row 2 is (0, 3, 15, 2, 0, 11, 8, 0); column 2 of it is step 2, channel 2
    assert data.values[0][2, 2] == 15.0 == digits.data[0][2 * 8 + 2]


def test_splits_hold_every_image_once(digits):
    data = digits_dataset(seed=0, validation_fraction=0.1, standardize=False)
    assert data.name == "digits" and data.classes == tuple("0123456789") and data.task == "classify"
    # round(0.25 * 1797) = 449, round(0.1 * 1797) = 180, halves up
    assert (len(data.train), len(data.test), len(data.validation)) == (1797 - 449 - 180, 449, 180)
    together = keys(data.train) + keys(data.test) + keys(data.validation)
    assert together == Counter((im.astype(np.float32).tobytes(), int(t)) for im, t in zip(digits.images,
                                                                                          digits.target))


def test_split_is_stratified(digits):
    data = digits_dataset(seed=5, test_fraction=0.3, validation_fraction=0.2, standardize=False)
    counts = np.bincount(digits.target)
    for part, fraction in ((data.test, 0.3), (data.validation, 0.2)):
        assert (np.abs(np.bincount(part.labels, minlength=10) - fraction * counts) < 1).all()


def test_same_seed_same_split_other_seed_other_split():
    a, b, c = (digits_dataset(seed=s, standardize=False) for s in (1, 1, 2))
    assert keys(a.test) == keys(b.test) and np.array_equal(a.test.labels, b.test.labels)
    assert all(np.array_equal(x, y) for x, y in zip(a.test.values, b.test.values))
    assert keys(a.test) != keys(c.test)


def test_standardisation_is_fitted_on_the_training_split_only():
    raw = digits_dataset(seed=3, validation_fraction=0.2, standardize=False)
    data = digits_dataset(seed=3, validation_fraction=0.2)
    steps = np.stack(raw.train.values).reshape(-1, 8).astype(np.float64)  # every row of every training image
    mean, std = steps.mean(axis=0), steps.std(axis=0)
    std = np.where(steps.max(axis=0) == steps.min(axis=0), 1.0, std)
    for part, raw_part in ((data.train, raw.train), (data.validation, raw.validation), (data.test, raw.test)):
        assert np.array_equal(part.labels, raw_part.labels)
        np.testing.assert_allclose(np.stack(part.values), (np.stack(raw_part.values) - mean) / std,
                                   rtol=1e-5, atol=1e-5)
    trained = np.stack(data.train.values).reshape(-1, 8).astype(np.float64)
    np.testing.assert_allclose(trained.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(trained.std(axis=0)[std != 1.0], 1, atol=1e-5)
    # the test rows were not in the fit: their own statistics differ
    tested = np.stack(data.test.values).reshape(-1, 8).astype(np.float64)
    assert np.abs(tested.mean(axis=0)).max() > 1e-3


def test_no_test_split():
    data = digits_dataset(seed=0, test_fraction=0.0)
    assert len(data.test) == 0 and len(data.train) == 1797


@pytest.mark.parametrize("kwargs, fragment", [
    ({"test_fraction": 1.0}, "The 'test_fraction' parameter of digits_dataset must be a float in [0, 1)"),
    ({"test_fraction": 0.6, "validation_fraction": 0.4}, "must sum to less than 1"),
    ({"validation_fraction": "0.1"}, "The 'validation_fraction' parameter of digits_dataset"),
    ({"standardize": 1}, "The 'standardize' parameter of digits_dataset must be a bool; got 1."),
    ({"seed": 1.5}, "The 'seed' parameter of digits_dataset must be an int"),
])
def test_bad_parameters(kwargs, fragment):
    with pytest.raises(InputError) as info:
        digits_dataset(**{"seed": 0, **kwargs})
    assert fragment in str(info.value) and "\n" not in str(info.value)
