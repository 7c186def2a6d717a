"""Which graph properties go with, and predict, the accuracy of graph-structured RNNs.

Each metric is defined once, here; the docs quote these definitions. For every trained
graph-structured network (one structure trial) and a group of them (one cell, one
study's settings, optionally one generator):

- **test_acc**: the network's test accuracy after its last training epoch.
- **mean**: the mean ``test_acc`` of the group's graphs, with ``low`` and ``high`` the
  95 % percentile-bootstrap interval of that mean (inside the observed range).
- **pearson_r**: Pearson's correlation between a graph property and ``test_acc`` over the
  group; ``pearson_p`` its two-sided p-value and ``pearson_p_bh`` that p-value adjusted
  by Benjamini–Hochberg over all properties of the group (a constant property gets no
  value and is left out of the adjustment).
- **spearman_rho**: the same with Spearman's rank correlation (``spearman_p``,
  ``spearman_p_bh``).
- **r2_mean**: the mean held-out R² of regressing ``test_acc`` on all properties, over the
  folds of a repeated k-fold cross-validation (default 10 × 5), the scaler and the
  regressor fitted on each training fold only; ``r2_sd`` is its standard deviation over
  the folds. R² below 0 predicts worse than the held-out mean.

Functions: :func:`structure_table` (one row per trained graph), :func:`accuracy_summary`,
:func:`property_correlations`, :func:`cross_validated_r2` (Bayesian ridge, random
forest, AdaBoost, gradient boosting) and :func:`permutation_importances` (how much each
property's permutation lowers the held-out R², over the same folds). Everything is
seeded; the repeated cross-validation replaces the reference thesis's single 90/10
split.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.ensemble import AdaBoostRegressor, GradientBoostingRegressor, RandomForestRegressor
from sklearn.inspection import permutation_importance
from sklearn.linear_model import BayesianRidge
from sklearn.metrics import r2_score
from sklearn.model_selection import RepeatedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from ..errors import InputError
from ..graphs import PROPERTIES
from .stats import bootstrap_ci

REGRESSORS = ("bayesian_ridge", "random_forest", "adaboost", "gradient_boosting")


def _regressor(name: str, seed: int):
    models = {
        "bayesian_ridge": lambda: BayesianRidge(),
        "random_forest": lambda: RandomForestRegressor(n_estimators=200, random_state=seed),
        "adaboost": lambda: AdaBoostRegressor(random_state=seed),
        "gradient_boosting": lambda: GradientBoostingRegressor(random_state=seed),
    }
    if name not in models:
        raise InputError(f"Unknown regressor {name!r}; expected one of {', '.join(map(repr, REGRESSORS))}.")
    return make_pipeline(StandardScaler(), models[name]())


def _check_frame(X: pd.DataFrame, y) -> tuple[pd.DataFrame, np.ndarray]:
    y = np.asarray(y, dtype=float)
    if len(X) != len(y):
        raise InputError(f"properties and accuracy must have the same length; got {len(X)} and {len(y)}.")
    if len(y) < 3:
        raise InputError(f"need at least 3 trained graphs to analyse; got {len(y)}.")
    return X, y


def property_correlations(X: pd.DataFrame, y) -> pd.DataFrame:
    """Correlation of each column of ``X`` with ``y``, most correlated (|Pearson r|) first.

    Columns: ``property, pearson_r, pearson_p, pearson_p_bh, spearman_rho, spearman_p,
    spearman_p_bh``; ``*_bh`` are Benjamini–Hochberg adjusted p-values over the
    properties. A constant property has NaN statistics (and is left out of the
    correction).

    Examples
    --------
    >>> X = pd.DataFrame({"a": [1, 2, 3, 4], "b": [4, 1, 3, 2]})
    >>> property_correlations(X, [0.1, 0.2, 0.3, 0.4])[["property", "pearson_r"]].round(3).values.tolist()
    [['a', 1.0], ['b', -0.4]]
    """
    X, y = _check_frame(X, y)
    rows = []
    for column in X.columns:
        x = X[column].to_numpy(dtype=float)
        if np.ptp(x) == 0 or np.ptp(y) == 0:
            rows.append(dict(property=column, pearson_r=np.nan, pearson_p=np.nan, spearman_rho=np.nan,
                             spearman_p=np.nan))
            continue
        r, p = stats.pearsonr(x, y)
        rho, q = stats.spearmanr(x, y)
        rows.append(dict(property=column, pearson_r=float(r), pearson_p=float(p), spearman_rho=float(rho),
                         spearman_p=float(q)))
    df = pd.DataFrame(rows)
    for column in ("pearson_p", "spearman_p"):
        valid = df[column].notna()
        df[f"{column}_bh"] = np.nan
        if valid.any():
            df.loc[valid, f"{column}_bh"] = stats.false_discovery_control(df.loc[valid, column])
    order = df["pearson_r"].abs().sort_values(ascending=False, na_position="last").index
    columns = ["property", "pearson_r", "pearson_p", "pearson_p_bh", "spearman_rho", "spearman_p", "spearman_p_bh"]
    return df.loc[order, columns].reset_index(drop=True)


#: the columns of :func:`structure_table` that describe a trial rather than its graph
TRIAL_COLUMNS = ("run_id", "study", "settings", "cell", "generator", "graph_seed", "graph_file", "seed", "test_acc")


def structure_table(runs: pd.DataFrame, epochs: pd.DataFrame, artefacts: pd.DataFrame) -> pd.DataFrame:
    """One row per finished graph-structured trial (a trial with a ``graph`` setting and
    stored graph properties): its settings (:data:`TRIAL_COLUMNS`; ``settings`` labels
    everything but the cell, seed and graph, :func:`~sparsernn.ids.settings_id`), final
    test accuracy and graph properties. A graph from a file has generator ``"file"``, no
    graph seed, and its file name in ``graph_file``."""
    done = runs[runs["status"] == "done"]
    final = epochs.groupby("run_id")["test_acc"].last()
    props = artefacts[artefacts["kind"] == "properties"].set_index("run_id")["data"]
    rows = []
    for run in done.itertuples():
        graph = json.loads(run.config).get("graph")
        if isinstance(graph, dict) and run.run_id in props.index and run.run_id in final.index:
            rows.append({"run_id": run.run_id, "study": run.study, "settings": getattr(run, "settings", None),
                         "cell": run.cell,
                         "generator": graph.get("generator", "file"), "graph_seed": graph.get("graph_seed"),
                         "graph_file": graph.get("name"), "seed": run.seed,
                         "test_acc": float(final[run.run_id]),
                         **{name: props[run.run_id][name] for name in PROPERTIES if name in props[run.run_id]}})
    return pd.DataFrame(rows)


def accuracy_summary(table: pd.DataFrame, keys: list[str], *, seed: int = 0) -> pd.DataFrame:
    """Test accuracy of the trials of :func:`structure_table` per group of ``keys``.

    Columns: ``keys``, then ``graphs`` (trials in the group), ``mean`` with ``low`` and
    ``high`` (95 % percentile-bootstrap interval of the mean,
    :func:`~sparsernn.analysis.stats.bootstrap_ci`), ``median``, ``min`` and ``max``.

    Examples
    --------
    >>> table = pd.DataFrame({"cell": ["gru"] * 3, "test_acc": [0.5, 0.75, 1.0]})
    >>> accuracy_summary(table, ["cell"])[["cell", "graphs", "mean", "median", "min"]].values.tolist()
    [['gru', 3, 0.75, 0.75, 0.5]]
    """
    rows = []
    for key, group in table.groupby(keys, sort=True, dropna=False):
        acc = group["test_acc"]
        mean, low, high = bootstrap_ci(acc, seed=seed)
        rows.append({**dict(zip(keys, key)), "graphs": len(group), "mean": mean, "low": low, "high": high,
                     "median": float(acc.median()), "min": float(acc.min()), "max": float(acc.max())})
    return pd.DataFrame(rows)


def _folds(n: int, n_splits: int, n_repeats: int, seed: int):
    if n_splits < 2 or n_splits > n:
        raise InputError(f"n_splits must be in [2, {n}] (the number of graphs); got {n_splits}.")
    return RepeatedKFold(n_splits=n_splits, n_repeats=n_repeats, random_state=seed).split(np.zeros(n))


def cross_validated_r2(X: pd.DataFrame, y, *, regressors=REGRESSORS, n_splits: int = 5, n_repeats: int = 10,
                       seed: int = 0) -> pd.DataFrame:
    """Held-out R² of each regressor over repeated k-fold CV: mean, sd and the fold count.

    Each fold fits ``StandardScaler`` and the regressor on its training part only.
    """
    X, y = _check_frame(X, y)
    values = X.to_numpy(dtype=float)
    scores = {name: [] for name in regressors}
    for train, test in _folds(len(y), n_splits, n_repeats, seed):
        for name in regressors:
            model = _regressor(name, seed).fit(values[train], y[train])
            scores[name].append(r2_score(y[test], model.predict(values[test])))
    return pd.DataFrame([dict(regressor=name, r2_mean=float(np.mean(s)), r2_sd=float(np.std(s, ddof=1)),
                              folds=len(s)) for name, s in scores.items()])


def permutation_importances(X: pd.DataFrame, y, *, regressor: str = "random_forest", n_splits: int = 5,
                            n_repeats: int = 2, permutations: int = 5, seed: int = 0) -> pd.DataFrame:
    """Mean drop of held-out R² when one property is permuted, over repeated k-fold CV."""
    X, y = _check_frame(X, y)
    values = X.to_numpy(dtype=float)
    drops = []
    for i, (train, test) in enumerate(_folds(len(y), n_splits, n_repeats, seed)):
        model = _regressor(regressor, seed).fit(values[train], y[train])
        result = permutation_importance(model, values[test], y[test], scoring="r2", n_repeats=permutations,
                                        random_state=seed + i)
        drops.append(result.importances_mean)
    drops = np.asarray(drops)
    df = pd.DataFrame({"property": X.columns, "importance_mean": drops.mean(axis=0),
                       "importance_sd": drops.std(axis=0, ddof=1) if len(drops) > 1 else np.nan})
    return df.sort_values("importance_mean", ascending=False).reset_index(drop=True)


def analyze_structure(runs: pd.DataFrame, epochs: pd.DataFrame, artefacts: pd.DataFrame, *, folds: int = 5,
                      repeats: int = 10, seed: int = 0, per_generator: bool = False,
                      by: tuple[str, ...] = ()) -> tuple[list[tuple[pd.DataFrame, str]], dict[str, pd.DataFrame]]:
    """The tables of ``sparsernn analyze``: ``(parts, outputs)``, ``parts`` the
    ``(table, title)`` pairs to show, ``outputs`` the tables by file name.

    Test accuracy per cell and generator (and per value of each property in ``by``),
    then per study, settings and cell (and generator, with ``per_generator``): the
    correlations of every graph property with test accuracy and the cross-validated R²
    of regressing it on all of them (``repeats`` x ``folds``-fold, seeded by ``seed``).
    Studies, and runs of one study with different settings, are kept apart.
    """
    table = structure_table(runs, epochs, artefacts)
    if table.empty:
        raise InputError("No finished structure trials to analyse.")
    properties = [c for c in table.columns if c not in TRIAL_COLUMNS]
    unknown = [p for p in by if p not in properties]
    if unknown:
        raise InputError(f"--by: unknown graph property {unknown[0]!r}; expected one of {', '.join(properties)}.")
    several = table["study"].nunique() > 1
    mixed = table.groupby("study")["settings"].nunique().max() > 1  # a study of several runs: keep them apart
    head = (["study"] if several else []) + (["settings"] if mixed else [])
    accuracy = accuracy_summary(table, head + ["cell", "generator"], seed=seed)
    outputs = {"structure_trials": table, "accuracy": accuracy}
    parts = [(accuracy, "test accuracy per cell and generator (mean with 95% bootstrap interval)")]
    for prop in by:
        per_value = accuracy_summary(table, head + ["cell", "generator", prop], seed=seed)
        outputs[f"accuracy_by_{prop}"] = per_value
        parts.append((per_value, f"test accuracy per cell, generator and {prop}"))
    keys = ["study", "settings", "cell"] + (["generator"] if per_generator else [])
    for key, group in table.groupby(keys, dropna=False):
        parts_of_name = [str(k) for i, k in enumerate(key) if (i > 0 or several) and (i != 1 or mixed)]
        name, label = "_".join(parts_of_name), ", ".join(parts_of_name)
        n_splits = min(folds, len(group))
        correlations = property_correlations(group[properties], group["test_acc"])
        r2 = cross_validated_r2(group[properties], group["test_acc"], n_splits=n_splits, n_repeats=repeats, seed=seed)
        parts += [(correlations, f"{label}: correlation of graph properties with test accuracy ({len(group)} graphs, "
                                 "p-values Benjamini-Hochberg corrected)"),
                  (r2, f"{label}: R2 of test accuracy on all properties, {repeats}x repeated {n_splits}-fold CV")]
        outputs[f"correlations_{name}"], outputs[f"cv_r2_{name}"] = correlations, r2
    return parts, outputs
