"""Correlations and cross-validated regression on synthetic data with a known answer."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sparsernn.analysis.structure import cross_validated_r2, permutation_importances, property_correlations
from sparsernn.errors import InputError


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"signal": rng.normal(size=80), "noise": rng.normal(size=80), "constant": np.ones(80)})
    y = 0.9 + 0.05 * X["signal"] + 0.005 * rng.normal(size=80)
    return X, y


def test_correlations_match_scipy_and_are_ordered(data):
    X, y = data
    df = property_correlations(X, y).set_index("property")
    r, p = stats.pearsonr(X["signal"], y)
    assert df.loc["signal", "pearson_r"] == pytest.approx(r) and df.loc["signal", "pearson_p"] == pytest.approx(p)
    assert df.loc["noise", "spearman_rho"] == pytest.approx(stats.spearmanr(X["noise"], y)[0])
    assert df.index[0] == "signal" and np.isnan(df.loc["constant", "pearson_r"])


def test_benjamini_hochberg_by_hand():
    X = pd.DataFrame({"a": [1, 2, 3, 4, 5, 6], "b": [2, 1, 4, 3, 6, 5], "c": [6, 1, 5, 2, 4, 3]})
    y = [1, 2, 3, 4, 5, 6]
    df = property_correlations(X, y).set_index("property")
    p = df["pearson_p"].sort_values()
    m = len(p)
    expected = np.minimum.accumulate((p.values * m / np.arange(1, m + 1))[::-1])[::-1]
    assert df.loc[p.index, "pearson_p_bh"].to_numpy() == pytest.approx(np.minimum(expected, 1))


@pytest.mark.slow
def test_cross_validated_r2_finds_the_signal(data):
    X, y = data
    df = cross_validated_r2(X, y, n_splits=4, n_repeats=2, seed=0).set_index("regressor")
    assert df.loc["bayesian_ridge", "r2_mean"] > 0.9 and df.loc["bayesian_ridge", "folds"] == 8
    assert (df["r2_mean"] > 0.5).all()
    again = cross_validated_r2(X, y, n_splits=4, n_repeats=2, seed=0)
    pd.testing.assert_frame_equal(df.reset_index(), again)  # seeded
    noise = cross_validated_r2(X[["noise"]], y, regressors=("bayesian_ridge",), n_splits=4, n_repeats=2)
    assert noise["r2_mean"].item() < 0.1


def test_permutation_importance_ranks_the_signal_first(data):
    X, y = data
    df = permutation_importances(X, y, regressor="bayesian_ridge", n_splits=4, n_repeats=1, permutations=3)
    assert df["property"].iloc[0] == "signal" and df["importance_mean"].iloc[0] > 0.5


def test_bad_input():
    with pytest.raises(InputError, match="same length"):
        property_correlations(pd.DataFrame({"a": [1, 2, 3]}), [1, 2])
    with pytest.raises(InputError, match="at least 3"):
        cross_validated_r2(pd.DataFrame({"a": [1, 2]}), [1, 2])
    with pytest.raises(InputError, match="Unknown regressor"):
        cross_validated_r2(pd.DataFrame({"a": [1.0, 2, 3, 4]}), [1, 2, 3, 4], regressors=("svm",), n_splits=2)
