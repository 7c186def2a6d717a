"""Metrics of a pruning study, per configuration and over seeds.

For each pruning trial, against its dense base (the ``parent``'s final test accuracy):

- **drop**: base accuracy minus the accuracy right after pruning (retraining epoch 0);
- **recovery epochs**: the first retraining epoch whose test accuracy is within
  ``delta`` of the base (0 if pruning cost nothing; missing -- "never" -- if no epoch
  gets there);
- **feasible**: the trial recovered at some retraining epoch.

Per configuration (cell, criterion, target, scope, schedule, amount or threshold) these
are reported as means with 95 % confidence intervals over seeds, and the **maximum
feasible sparsity** of a (cell, criterion, target, scope, schedule) is, per seed, the
largest amount that is feasible (0 if none), then averaged over seeds.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from .stats import mean_ci

CONFIG_KEYS = ["cell", "criterion", "target", "scope", "schedule"]


def pruning_trials(runs: pd.DataFrame, epochs: pd.DataFrame, *, delta: float = 0.01) -> pd.DataFrame:
    """One row per finished pruning trial with its base accuracy and recovery metrics."""
    final_train = epochs[epochs["phase"] == "train"].groupby("run_id")["test_acc"].last()
    retrain = epochs[epochs["phase"] == "retrain"]
    rows = []
    for run in runs[(runs["kind"] == "pruning") & (runs["status"] == "done")].itertuples():
        spec = json.loads(run.config)["pruning"]
        mine = retrain[retrain["run_id"] == run.run_id].sort_values("epoch")
        if run.parent not in final_train.index or mine.empty:
            continue
        base = float(final_train[run.parent])
        within = mine[mine["test_acc"] >= base - delta - 1e-12]
        rows.append({
            "run_id": run.run_id, "cell": run.cell, "seed": run.seed,
            **{k: spec[k] for k in ("criterion", "target", "scope", "schedule", "amount", "threshold")},
            "base_acc": base,
            "pruned_acc": float(mine["test_acc"].iloc[0]),
            "drop": base - float(mine["test_acc"].iloc[0]),
            "final_acc": float(mine["test_acc"].iloc[-1]),
            "recovery_epochs": float(within["epoch"].iloc[0]) if len(within) else np.nan,
            "actual_sparsity": float(mine["actual_sparsity"].iloc[-1]) if "actual_sparsity" in mine else np.nan,
        })
    df = pd.DataFrame(rows)
    if not df.empty:
        df["feasible"] = df["recovery_epochs"].notna()
        df["level"] = df["amount"].where(df["criterion"] != "threshold", df["threshold"])
    return df


def _with_ci(group: pd.DataFrame, column: str) -> dict:
    mean, half = mean_ci(group[column])
    return {column: mean, f"{column}_ci95": half}


def pruning_summary(runs: pd.DataFrame, epochs: pd.DataFrame, *, delta: float = 0.01) -> dict[str, pd.DataFrame]:
    """The pruning study's tables: ``"configurations"`` and ``"max_feasible_sparsity"``.

    ``configurations`` has one row per (cell, criterion, target, scope, schedule, level)
    -- level is the amount, or the threshold for the threshold criterion -- with the
    number of seeds, mean and 95 % CI of base accuracy, accuracy right after pruning,
    drop and final accuracy, the mean and CI of recovery epochs over the seeds that
    recovered, and ``recovered`` as "k/n". ``max_feasible_sparsity`` has one row per
    (cell, criterion, target, scope, schedule) of an amount-based criterion.
    """
    trials = pruning_trials(runs, epochs, delta=delta)
    if trials.empty:
        return {"configurations": pd.DataFrame(), "max_feasible_sparsity": pd.DataFrame()}
    keys = CONFIG_KEYS + ["level"]
    trials = trials.fillna({"scope": "-"})
    configs = []
    for key, group in trials.groupby(keys, sort=True, dropna=False):
        row = dict(zip(keys, key), seeds=len(group))
        for column in ("base_acc", "pruned_acc", "drop", "final_acc", "recovery_epochs", "actual_sparsity"):
            row.update(_with_ci(group, column))
        row["recovered"] = f"{int(group['feasible'].sum())}/{len(group)}"
        configs.append(row)
    feasible = []
    by_amount = trials[trials["criterion"] != "threshold"]
    for key, group in by_amount.groupby(CONFIG_KEYS, sort=True):
        per_seed = group.groupby("seed").apply(
            lambda g: float(g.loc[g["feasible"], "amount"].max()) if g["feasible"].any() else 0.0,
            include_groups=False,
        )
        mean, half = mean_ci(per_seed)
        feasible.append(dict(zip(CONFIG_KEYS, key), seeds=len(per_seed), max_feasible_sparsity=mean,
                             max_feasible_sparsity_ci95=half))
    return {"configurations": pd.DataFrame(configs), "max_feasible_sparsity": pd.DataFrame(feasible)}
