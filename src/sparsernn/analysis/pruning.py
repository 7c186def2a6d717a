"""Metrics of a pruning study, per configuration, with every seed shown.

Each metric is defined once, here; the docs quote these definitions. For a pruning
trial whose dense base (its ``parent``) ended with test accuracy ``base_acc``, and a
tolerance ``delta`` (default 0.01):

- **pruned_acc**: test accuracy right after pruning, before any retraining (retraining
  epoch 0; for the gradual schedule, which prunes during retraining, this is the base).
- **drop**: ``base_acc - pruned_acc``.
- **final_acc**: test accuracy after the last retraining epoch.
- **safe**: ``pruned_acc >= base_acc - delta`` -- pruning cost nothing before
  retraining (the reference thesis's measure of safe pruning).
- **recovery_epochs**: the first retraining epoch ``e >= 1`` whose test accuracy is
  ``>= base_acc - delta`` and at which the network already has its final number of
  nonzero weights (for the gradual schedule: after its last pruning step); missing
  ("never") if no epoch gets there. Epoch 0 never counts: a trial that was safe still
  needs one retraining epoch at that level to count as recovered.
- **recovered**: ``recovery_epochs`` is not missing.
- **max_safe_sparsity** of a seed: the largest level whose trial is safe (0 if none).
- **max_feasible_sparsity** of a seed: the largest level whose trial recovered (0 if none).
- **base_bits**, **pruned_bits**, **final_bits**: the same three points measured as
  the test loss in bits, ``test_loss / ln 2`` (:func:`sparsernn.tasks.bits_per_symbol`):
  for a language model, **bits per character** (lower is better). Shown for studies
  whose dataset's task is ``language_model``; safe and recovered stay defined by
  accuracy (there, the fraction of characters predicted right).
- **model_sparsity**: the fraction of all maskable weights (input-to-hidden,
  hidden-to-hidden and readout matrices) masked when the trial ended, next to the
  level, which is the fraction of the *targeted* weights.

Trials are grouped by study and by **configuration** (every setting but the seed,
:func:`~sparsernn.ids.configuration_id`), so trials that differ in anything else --
learning rate, epochs, data -- are never pooled as seeds. Over the seeds of a
configuration each metric is reported as its mean, a 95 % percentile-bootstrap
interval of the mean (:func:`~sparsernn.analysis.stats.bootstrap_ci`, inside the
observed range) and the per-seed values; proportions ("k/n recovered") with a Wilson
interval; maximum sparsities, which are read off the grid of levels, as per-seed levels
with their median, minimum and maximum.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd

from ..errors import InputError
from ..ids import configuration_id
from .settings import select_columns
from .stats import bootstrap_ci, per_seed, wilson_interval

CONFIG_KEYS = ["cell", "criterion", "target", "scope", "schedule"]
METRICS = ("base_acc", "pruned_acc", "drop", "final_acc", "recovery_epochs", "model_sparsity", "base_bits",
           "pruned_bits", "final_bits")
_LN2 = math.log(2)
_LEVEL_PATHS = ("seed", "sparsity", "pruning.amount", "pruning.threshold")  # the level of a sparsity curve


def _pruned_from(retrain: pd.DataFrame) -> int:
    """The first retraining epoch ``>= 1`` that ends with the trial's final number of
    nonzero weights: 1 after one-shot pruning, the epoch of the last pruning step for a
    gradual schedule (1 where the counts were not recorded)."""
    counts = retrain.get("nonzero_params")
    if counts is None or counts.isna().any():
        return 1
    final = retrain["epoch"][counts == counts.iloc[-1]]
    return max(1, int(final.min()))


def pruning_trials(runs: pd.DataFrame, epochs: pd.DataFrame, *, delta: float = 0.01) -> pd.DataFrame:
    """One row per finished pruning trial (a trial with a parent whose config holds its
    pruning point under its kind's name) with its base accuracy and the metrics above.

    Columns: ``run_id, study, configuration, curve`` (the configuration without the
    level: the trials of one sparsity curve), ``cell, seed, criterion, target, scope,
    schedule, amount, threshold, level`` (the amount, or the threshold for the threshold
    criterion), ``base_acc, pruned_acc, drop, final_acc, safe, recovery_epochs,
    recovered, model_sparsity, base_bits, pruned_bits, final_bits``.
    """
    final_train = epochs[epochs["phase"] == "train"].groupby("run_id")["test_acc"].last()
    if "test_loss" not in epochs:
        epochs = epochs.assign(test_loss=math.nan)
    final_loss = epochs[epochs["phase"] == "train"].groupby("run_id")["test_loss"].last()
    retrain = epochs[epochs["phase"] == "retrain"]
    rows = []
    for run in runs[runs["status"] == "done"].itertuples():
        config = json.loads(run.config)
        spec = config.get(run.kind)  # a pruning trial's point is under its kind's name
        if not isinstance(spec, dict) or "criterion" not in spec:
            continue
        mine = retrain[retrain["run_id"] == run.run_id].sort_values("epoch")
        if run.parent not in final_train.index or mine.empty:
            continue
        base = float(final_train[run.parent])
        pruned = float(mine["test_acc"].iloc[0])
        later = mine[(mine["epoch"] >= _pruned_from(mine)) & (mine["test_acc"] >= base - delta - 1e-12)]
        rows.append({
            "run_id": run.run_id, "study": getattr(run, "study", None),
            "configuration": configuration_id(run.kind, config),
            "curve": configuration_id(run.kind, config, ignore=_LEVEL_PATHS),
            "cell": run.cell, "seed": run.seed,
            **{k: spec[k] for k in ("criterion", "target", "scope", "schedule", "amount", "threshold")},
            "base_acc": base,
            "pruned_acc": pruned,
            "drop": base - pruned,
            "final_acc": float(mine["test_acc"].iloc[-1]),
            "base_bits": float(final_loss[run.parent]) / _LN2,
            "pruned_bits": float(mine["test_loss"].iloc[0]) / _LN2,
            "final_bits": float(mine["test_loss"].iloc[-1]) / _LN2,
            "safe": pruned >= base - delta - 1e-12,
            "recovery_epochs": float(later["epoch"].iloc[0]) if len(later) else np.nan,
            "model_sparsity": float(getattr(run, "model_sparsity", math.nan)),
        })
    df = pd.DataFrame(rows)
    if not df.empty:
        df["recovered"] = df["recovery_epochs"].notna()
        df["level"] = df["amount"].where(df["criterion"] != "threshold", df["threshold"])
    return df


def _metric(group: pd.DataFrame, column: str, seed: int) -> dict:
    values = group[column].tolist()
    finite = [v for v in values if not (isinstance(v, float) and math.isnan(v))]
    mean, low, high = bootstrap_ci(finite, seed=seed)
    return {column: mean, f"{column}_low": low, f"{column}_high": high, f"{column}_seeds": per_seed(values)}


def _proportion(group: pd.DataFrame, column: str) -> dict:
    k, n = int(group[column].sum()), len(group)
    low, high = wilson_interval(k, n)
    return {column: f"{k}/{n}", f"{column}_low": low, f"{column}_high": high}


def _max_level(group: pd.DataFrame, column: str) -> float:
    hits = group.loc[group[column].astype(bool), "amount"]
    return float(hits.max()) if len(hits) else 0.0


def pruning_summary(runs: pd.DataFrame, epochs: pd.DataFrame, *, delta: float = 0.01,
                    seed: int = 0) -> dict[str, pd.DataFrame]:
    """The pruning study's tables: ``"configurations"`` and ``"max_sparsity"``.

    ``configurations`` has one row per (study, configuration), with the configuration's
    cell, criterion, target, scope, schedule and level, the number of seeds, and for
    each of ``base_acc, pruned_acc, drop, final_acc, recovery_epochs, model_sparsity``
    the mean over seeds, ``*_low``/``*_high`` (95 % bootstrap interval of the mean,
    seeded by ``seed``) and ``*_seeds`` (the per-seed values in seed order;
    ``recovery_epochs`` shows ``-`` for a seed that never recovered, and its mean is
    over the seeds that did); ``safe`` and ``recovered`` as "k/n" with Wilson intervals
    ``*_low``/``*_high``.

    ``max_sparsity`` has one row per (study, curve) of an amount-based criterion: the
    per-seed ``max_safe_sparsity`` and ``max_feasible_sparsity`` (``*_seeds``) with
    their median, minimum and maximum over seeds.
    """
    trials = pruning_trials(runs, epochs, delta=delta)
    if trials.empty:
        return {"configurations": pd.DataFrame(), "max_sparsity": pd.DataFrame()}
    trials = trials.fillna({"scope": "-"}).sort_values("seed")
    keys = ["study", "configuration"]
    shown = CONFIG_KEYS + ["level"]
    configs = []
    for (study, configuration), group in trials.groupby(keys, sort=False, dropna=False):
        row = {"study": study, "configuration": configuration, **group.iloc[0][shown].to_dict(),
               "seeds": len(group), "seed_list": " ".join(map(str, group["seed"]))}
        for column in METRICS:
            row.update(_metric(group, column, seed))
        row.update(_proportion(group, "safe"))
        row.update(_proportion(group, "recovered"))
        configs.append(row)
    configs = pd.DataFrame(configs).sort_values(["study"] + shown, kind="stable").reset_index(drop=True)
    curves = []
    by_amount = trials[trials["criterion"] != "threshold"]
    for (study, curve), group in by_amount.groupby(["study", "curve"], sort=False, dropna=False):
        row = {"study": study, "curve": curve, **group.iloc[0][CONFIG_KEYS].to_dict()}
        seeds = sorted(group["seed"].unique())
        row["seeds"] = len(seeds)
        for column, name in (("safe", "max_safe_sparsity"), ("recovered", "max_feasible_sparsity")):
            levels = [_max_level(group[group["seed"] == s], column) for s in seeds]
            row.update({f"{name}_seeds": per_seed(levels), f"{name}_median": float(np.median(levels)),
                        f"{name}_min": min(levels), f"{name}_max": max(levels)})
        curves.append(row)
    curves = pd.DataFrame(curves).sort_values(["study"] + CONFIG_KEYS, kind="stable").reset_index(drop=True)
    return {"configurations": configs, "max_sparsity": curves}


def by_level(configurations: pd.DataFrame, column: str) -> pd.DataFrame:
    """``configurations`` (from :func:`pruning_summary`) with one row per sparsity curve
    and one column per level, each cell holding ``column`` (e.g. ``"pruned_acc_seeds"``).

    Examples
    --------
    >>> configs = pd.DataFrame({"study": ["s", "s"], "cell": ["gru", "gru"], "criterion": ["magnitude"] * 2,
    ...                         "target": ["both"] * 2, "scope": ["global"] * 2, "schedule": ["one_shot"] * 2,
    ...                         "level": [0.5, 0.9], "pruned_acc_seeds": ["1 1", "0.5 0.62"]})
    >>> by_level(configs, "pruned_acc_seeds").values.tolist()
    [['s', 'gru', 'magnitude', 'both', 'global', 'one_shot', '1 1', '0.5 0.62']]
    """
    keys = ["study"] + CONFIG_KEYS
    table = configurations.pivot_table(index=keys, columns="level", values=column, aggfunc="first", sort=True)
    table.columns = [f"{level:g}" for level in table.columns]
    return table.reset_index().rename_axis(columns=None)


PRUNING_COLUMNS = ["configuration", "cell", "criterion", "target", "scope", "schedule", "level", "pruned_acc_seeds",
                   "final_acc_seeds", "recovery_epochs_seeds", "recovered"]
MAX_SPARSITY_COLUMNS = ["curve", "cell", "criterion", "target", "scope", "schedule", "max_safe_sparsity_seeds",
                        "max_feasible_sparsity_seeds"]
SWEEP_KEYS = ("criterion", "scope", "schedule")  # shown only where a study varies them


def summary_tables(runs: pd.DataFrame, epochs: pd.DataFrame, *, delta: float = 0.01,
                   columns: str | None = None, artefacts: pd.DataFrame | None = None) -> list[tuple[pd.DataFrame, str]]:
    """The tables of ``sparsernn results --summary pruning``, as ``(table, title)``: per
    study, the configurations (accuracy right after pruning and after retraining per
    seed, recovery) and the maximum sparsities per seed. Columns a study does not vary
    are named in the title instead; ``columns`` (comma-separated) replaces the default
    columns of the configurations table. ``artefacts`` is not read."""
    tables = pruning_summary(runs, epochs, delta=delta)
    if tables["configurations"].empty:
        raise InputError("No finished pruning trials to summarise.")
    parts = []
    for study, configs in tables["configurations"].groupby("study", sort=False):
        curves = tables["max_sparsity"][tables["max_sparsity"]["study"] == study]
        fixed = [k for k in SWEEP_KEYS if configs[k].nunique() == 1]
        described = ", ".join(f"{k} {configs[k].iloc[0]}" for k in fixed)
        if not configs.duplicated(["cell", *SWEEP_KEYS, "target", "level"]).any():
            fixed.append("configuration")  # each row's shown settings name its configuration
        default = [c for c in PRUNING_COLUMNS if c not in fixed]
        parts.append((configs[select_columns(configs, default, columns)],
                      f"{study}: accuracy right after pruning (pruned_acc) and after retraining (final_acc), "
                      f"per seed; recovery epochs per seed (- never); {described}; delta={delta}"))
        if not curves.empty:
            if "configuration" in fixed:
                fixed.append("curve")
            default = [c for c in MAX_SPARSITY_COLUMNS if c not in fixed]
            parts.append((curves[select_columns(curves, default, None)],
                          f"{study}: maximum sparsity per seed, safe (right after pruning) and feasible (after "
                          f"retraining); delta={delta}"))
    return parts


def markdown_tables(runs: pd.DataFrame, epochs: pd.DataFrame, *, delta: float = 0.01) -> list[tuple[pd.DataFrame, str]]:
    """Tables for the Markdown file beyond :func:`summary_tables`: test accuracy right
    after pruning and after retraining, per seed, one row per curve and one column per level."""
    configs = pruning_summary(runs, epochs, delta=delta)["configurations"]
    parts = []
    columns = [("pruned_acc_seeds", "test accuracy right after pruning"), ("final_acc_seeds", "test accuracy after "
                                                                                              "retraining")]
    if language_model_studies(runs):
        columns += [("pruned_bits_seeds", "bits per character right after pruning"),
                    ("final_bits_seeds", "bits per character after retraining")]
    for column, what in columns:
        pivot = by_level(configs, column)
        fixed = [k for k in SWEEP_KEYS if pivot[k].nunique() == 1]
        parts.append((pivot.drop(columns=fixed), f"{what}, per seed, by level (columns: the fraction of the "
                                                 f"targeted weights removed)"))
    return parts


def language_model_studies(runs: pd.DataFrame) -> set[str]:
    """The studies among ``runs`` whose dataset's task is ``language_model``."""
    from ..data import list_datasets

    names = {info.name for info in list_datasets() if info.task == "language_model"}
    return {run.study for run in runs.itertuples() if json.loads(run.config).get("data", {}).get("dataset") in names}
