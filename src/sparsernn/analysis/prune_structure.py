"""Metrics of a study that prunes structurally sparse RNNs (``kind: prune_structure``).

A trial prunes a trained GraphRNN (its parent) and retrains it. Its metrics are the
pruning study's, defined in :mod:`sparsernn.analysis.pruning` and quoted here:
**base_acc** (here the unpruned GraphRNN's final test accuracy), **pruned_acc** (right
after pruning), **final_acc** (after the last retraining epoch), **recovery_epochs**
(the first retraining epoch ``e >= 1`` with test accuracy ``>= base_acc - delta``, once
the network has its final number of nonzero weights),
**recovered**, and per curve (one GraphRNN and seed, one target and schedule, every
level) **max_feasible_sparsity** (the largest level that recovered, 0 if none). The
level is the fraction of the targeted weights the GraphRNN still had that were removed.

Besides those:

- **recurrent**: the recurrent weights (input-to-hidden plus hidden-to-hidden) the
  pruned GraphRNN keeps (:func:`sparsernn.budgets.recurrent_weights`).
- **dense_acc**: the final test accuracy of the study's dense model pruned one-shot to
  the same number of recurrent weights and retrained as long (a compare trial of family
  ``pruned_one_shot`` with that budget, same cell and seed); a gradually pruned GraphRNN
  takes the one of its one-shot sibling (same parent, target and level), whose count
  differs from its own by at most a few connections' gates. Kept only for the rows
  (cell, generator, target, schedule, level) where every trial has one, so that a
  count matched by coincidence (a child of a target without comparators) is not shown.
- **gain**: ``final_acc - base_acc`` of one pruned GraphRNN, paired with its own
  unpruned parent (negative: pruning cost accuracy).
- **dense_gap**: ``final_acc - dense_acc`` of one pruned GraphRNN, paired with the dense
  network of the same cell and seed pruned to its count (positive: the pruned GraphRNN
  is the more accurate).
- **property_rho** (per cell, target, schedule and level): Spearman's rank correlation,
  over the pruned GraphRNNs, between a graph property of the graph *before* pruning and
  ``final_acc``; shown for the property with the largest ``|rho|``, with its
  Benjamini–Hochberg adjusted p-value over all properties
  (:func:`~sparsernn.analysis.structure.property_correlations`).

A row pools the trials of one generator's graphs and the seeds (the graphs are the
sample: a generator's population of random graphs), never trials whose other settings
differ. Means come with 95 % percentile-bootstrap intervals
(:func:`~sparsernn.analysis.stats.bootstrap_ci`), proportions with Wilson intervals.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd

from ..errors import InputError
from ..graphs import PROPERTIES
from .compare import compare_trials
from .pruning import pruning_trials
from .settings import select_columns
from .stats import bootstrap_ci, per_seed, wilson_interval
from .structure import cross_validated_r2, property_correlations

KEYS = ["study", "cell", "generator", "target", "schedule", "level"]


def _graph_label(config: dict) -> str:
    graph = config.get("graph", {})
    return graph.get("generator", f"file:{graph.get('name')}")


def prune_structure_trials(runs: pd.DataFrame, epochs: pd.DataFrame, artefacts: pd.DataFrame,
                           *, delta: float = 0.01) -> pd.DataFrame:
    """One row per finished pruned GraphRNN: the pruning metrics
    (:func:`~sparsernn.analysis.pruning.pruning_trials`) with ``generator, graph_seed,
    parent, recurrent, dense_acc, gain, dense_gap`` and the parent's graph properties
    (``pre_<property>``)."""
    children = runs[runs["run_id"].isin(_children(runs))]
    trials = pruning_trials(pd.concat([children, runs[runs["run_id"].isin(children["parent"])]]), epochs,
                            delta=delta)
    if trials.empty:
        return trials
    configs = {run.run_id: json.loads(run.config) for run in children.itertuples()}
    parent = dict(zip(children["run_id"], children["parent"]))
    props = artefacts[(artefacts["kind"] == "properties") & (artefacts["name"] == "dag")].set_index("run_id")["data"]
    kept = artefacts[artefacts["kind"] == "budget"].set_index("run_id")["data"]
    trials["generator"] = [_graph_label(configs[r]) for r in trials["run_id"]]
    trials["graph_seed"] = [configs[r].get("graph", {}).get("graph_seed") for r in trials["run_id"]]
    trials["recurrent"] = [kept[r]["recurrent"] if r in kept.index else math.nan for r in trials["run_id"]]
    for name in PROPERTIES:
        trials[f"pre_{name}"] = [props[parent[r]].get(name) if parent[r] in props.index else math.nan
                                 for r in trials["run_id"]]
    dense = compare_trials(runs, epochs, artefacts)
    dense = dense[dense["family"] == "pruned_one_shot"] if not dense.empty else dense
    lookup = {(d.study, d.cell, d.seed, d.budget): d.final_acc for d in dense.itertuples()}
    trials["parent"] = trials["run_id"].map(parent)
    one_shot = trials[trials["schedule"] == "one_shot"]
    sibling = dict(zip(zip(one_shot["parent"], one_shot["target"], one_shot["level"]), one_shot["recurrent"]))
    count = [sibling.get((t.parent, t.target, t.level), t.recurrent) for t in trials.itertuples()]
    trials["dense_acc"] = [lookup.get((t.study, t.cell, t.seed, max(c, 1)), math.nan)  # a dense network keeps one
                           for t, c in zip(trials.itertuples(), count)]
    complete = trials.groupby(KEYS, dropna=False)["dense_acc"].transform(lambda v: v.notna().all())
    trials["dense_acc"] = trials["dense_acc"].where(complete.astype(bool))
    trials["gain"] = trials["final_acc"] - trials["base_acc"]
    trials["dense_gap"] = trials["final_acc"] - trials["dense_acc"]
    return trials


def _children(runs: pd.DataFrame) -> list[str]:
    """The runs whose config holds a GraphRNN (``graph``) and a pruning point under their kind's name."""
    ids = []
    for run in runs.itertuples():
        config = json.loads(run.config)
        if "graph" in config and isinstance(config.get(run.kind), dict) and "criterion" in config[run.kind]:
            ids.append(run.run_id)
    return ids


def _mean(values, seed: int) -> dict:
    mean, low, high = bootstrap_ci(list(values), seed=seed)
    return {"mean": mean, "low": low, "high": high}


def _shown(stats: dict) -> str:
    if pd.isna(stats["mean"]):
        return "-"
    if pd.isna(stats["low"]):
        return f"{stats['mean']:.3g}"
    return f"{stats['mean']:.3g} [{stats['low']:.3g}, {stats['high']:.3g}]"


def prune_structure_summary(trials: pd.DataFrame, *, seed: int = 0) -> dict[str, pd.DataFrame]:
    """``"levels"``: one row per (study, cell, generator, target, schedule, level) with the
    trials pooled over graphs and seeds; ``"feasible"``: max_feasible_sparsity over the
    curves of each (study, cell, generator, target, schedule); ``"properties"``: the
    property whose pre-pruning value correlates most with final_acc, per level."""
    levels, feasible, properties = [], [], []
    for key, group in trials.groupby(KEYS, sort=True):
        k, n = int(group["recovered"].sum()), len(group)
        low, high = wilson_interval(k, n)
        row = dict(zip(KEYS, key), trials=n, graphs=group[["generator", "graph_seed"]].drop_duplicates().shape[0])
        for column in ("base_acc", "pruned_acc", "final_acc", "dense_acc", "gain", "dense_gap"):
            row[column] = _shown(_mean(group[column].dropna(), seed))
        row["gain_seeds"] = per_seed(group.groupby("seed", sort=True)["gain"].mean().tolist())
        row.update(recovered=f"{k}/{n}", recovered_low=low, recovered_high=high,
                   recurrent=float(group["recurrent"].mean()))
        levels.append(row)
        properties.append(_top_property(dict(zip(KEYS, key)), group))
    for key, group in trials.groupby(KEYS[:-1], sort=True):
        maxima = [float(curve.loc[curve["recovered"], "level"].max()) if curve["recovered"].any() else 0.0
                  for _, curve in group.groupby(["graph_seed", "seed"], dropna=False)]
        feasible.append({**dict(zip(KEYS[:-1], key)), "curves": len(maxima),
                         "max_feasible_median": float(np.median(maxima)), "max_feasible_min": min(maxima),
                         "max_feasible_max": max(maxima)})
    return {"levels": pd.DataFrame(levels), "feasible": pd.DataFrame(feasible),
            "properties": pd.DataFrame([p for p in properties if p is not None])}


def _top_property(key: dict, group: pd.DataFrame) -> dict | None:
    columns = [c for c in group.columns if c.startswith("pre_") and group[c].notna().all()]
    if len(group) < 3 or not columns:
        return None
    table = property_correlations(group[columns].astype(float), group["final_acc"])
    table = table.dropna(subset=["spearman_rho"])
    if table.empty:
        return {**key, "trials": len(group), "property": "-", "property_rho": math.nan, "property_p_bh": math.nan}
    best = table.loc[table["spearman_rho"].abs().idxmax()]
    return {**key, "trials": len(group), "property": best["property"].removeprefix("pre_"),
            "property_rho": float(best["spearman_rho"]), "property_p_bh": float(best["spearman_p_bh"])}


LEVEL_COLUMNS = ["cell", "generator", "target", "schedule", "level", "trials", "graphs", "base_acc", "pruned_acc",
                 "final_acc", "recovered", "dense_acc", "gain", "gain_seeds", "dense_gap", "recurrent"]


def prune_structure_tables(runs: pd.DataFrame, epochs: pd.DataFrame, *, delta: float = 0.01,
                           columns: str | None = None,
                           artefacts: pd.DataFrame | None = None) -> list[tuple[pd.DataFrame, str]]:
    """The tables of ``sparsernn results --summary prune_structure``, as ``(table, title)``:
    per study, accuracy of the unpruned GraphRNN, right after pruning and after retraining,
    with the pruned dense network at the same count; the maximum feasible sparsity; and
    whether the properties before pruning predict the accuracy after."""
    trials = prune_structure_trials(runs, epochs, artefacts if artefacts is not None else pd.DataFrame(
        columns=["run_id", "kind", "name", "data"]), delta=delta)
    if trials.empty:
        raise InputError("No finished prune_structure trials to summarise.")
    tables = prune_structure_summary(trials)
    parts = []
    for study, levels in tables["levels"].groupby("study", sort=False):
        levels = levels.assign(recurrent=levels["recurrent"].round().astype("Int64"))
        parts.append((levels[select_columns(levels, LEVEL_COLUMNS, columns)],
                      f"{study}: pruned GraphRNNs, mean [95 % bootstrap interval] over graphs and seeds: the "
                      f"unpruned GraphRNN (base_acc), right after pruning, after retraining, and the dense network "
                      f"pruned to the same recurrent weights (dense_acc); gain = final_acc - base_acc and "
                      f"dense_gap = final_acc - dense_acc paired per trial (gain_seeds: the mean gain per seed); "
                      f"recovered within delta={delta}"))
        feasible = tables["feasible"][tables["feasible"]["study"] == study].drop(columns="study")
        parts.append((feasible, f"{study}: maximum feasible sparsity per GraphRNN and seed (median, min, max)"))
        props = tables["properties"]
        props = props[props["study"] == study].drop(columns="study") if not props.empty else props
        if not props.empty:
            parts.append((props.round({"property_rho": 3, "property_p_bh": 4}),
                          f"{study}: the pre-pruning graph property most rank-correlated (Spearman) with the "
                          "accuracy after retraining, p-value Benjamini-Hochberg adjusted over all properties"))
    return parts


def predictability(trials: pd.DataFrame, *, folds: int = 5, repeats: int = 10, seed: int = 0) -> pd.DataFrame:
    """Whether the graph properties *before* pruning predict the accuracy *after* pruning
    and retraining, per (study, cell, target, schedule, level), the generators pooled.

    Columns: the keys, ``trials``, ``property`` / ``property_rho`` / ``property_p_bh`` (the
    property most rank-correlated with final_acc, Spearman, Benjamini–Hochberg adjusted),
    ``significant`` (properties with adjusted p < 0.05), and ``r2_mean`` / ``r2_sd``: the
    held-out R² of a Bayesian ridge regression of final_acc on all the properties,
    ``repeats`` x ``folds``-fold cross-validation
    (:func:`~sparsernn.analysis.structure.cross_validated_r2`; R² <= 0 means no better
    than predicting the mean). Groups with fewer than ``2 * folds`` trials, or whose
    final_acc does not vary, have no R².
    """
    keys = ["study", "cell", "target", "schedule", "level"]
    rows = []
    for key, group in trials.groupby(keys, sort=True):
        columns = [c for c in group.columns if c.startswith("pre_") and group[c].notna().all()]
        row = {**dict(zip(keys, key)), "trials": len(group)}
        if len(group) >= 3 and columns and group["final_acc"].nunique() > 1:
            X = group[columns].astype(float)
            table = property_correlations(X, group["final_acc"]).dropna(subset=["spearman_rho"])
            if not table.empty:
                best = table.loc[table["spearman_rho"].abs().idxmax()]
                row.update(property=best["property"].removeprefix("pre_"), property_rho=float(best["spearman_rho"]),
                           property_p_bh=float(best["spearman_p_bh"]),
                           significant=int((table["spearman_p_bh"] < 0.05).sum()))
            if len(group) >= 2 * folds:
                r2 = cross_validated_r2(X, group["final_acc"], regressors=("bayesian_ridge",), n_splits=folds,
                                        n_repeats=repeats, seed=seed).iloc[0]
                row.update(r2_mean=float(r2["r2_mean"]), r2_sd=float(r2["r2_sd"]))
        rows.append(row)
    return pd.DataFrame(rows)


def analyze_prune_structure(runs: pd.DataFrame, epochs: pd.DataFrame, artefacts: pd.DataFrame, *, folds: int = 5,
                            repeats: int = 10, seed: int = 0, **_) -> tuple[list, dict[str, pd.DataFrame]]:
    """The tables of ``sparsernn analyze`` for pruned GraphRNNs: ``(parts, outputs)``, the
    predictability table (:func:`predictability`) and the trials it was computed from."""
    trials = prune_structure_trials(runs, epochs, artefacts)
    if trials.empty:
        raise InputError("No finished prune_structure trials to analyse.")
    table = predictability(trials, folds=folds, repeats=repeats, seed=seed)
    title = ("do the graph properties before pruning predict the accuracy after pruning and retraining? Spearman's "
             f"strongest property (BH-adjusted p), and the R2 of a Bayesian ridge on all of them ({repeats}x "
             f"{folds}-fold CV)")
    return [(table, title)], {"prune_structure_trials": trials, "prune_structure_predictability": table}
