"""Pruning metrics on hand-made runs, checked against hand computation."""

import json
import math

import pandas as pd
import pytest

from sparsernn.analysis import mean_ci, pruning_summary, pruning_trials


def make(base_accs, children):
    """runs/epochs frames: dense bases per seed, children (seed, amount, retrain accuracies)."""
    runs, epochs = [], []
    for seed, acc in base_accs.items():
        runs.append(dict(run_id=f"b{seed}", kind="dense", status="done", parent=None, cell="lstm", seed=seed,
                         config=json.dumps({"cell": "lstm", "seed": seed})))
        epochs += [dict(run_id=f"b{seed}", phase="train", epoch=e, test_acc=a) for e, a in enumerate([0.5, acc])]
    for i, (seed, amount, accs) in enumerate(children):
        spec = dict(criterion="magnitude", target="both", scope="global", schedule="one_shot", amount=amount,
                    threshold=None)
        runs.append(dict(run_id=f"c{i}", kind="pruning", status="done", parent=f"b{seed}", cell="lstm", seed=seed,
                         config=json.dumps({"pruning": spec})))
        epochs += [dict(run_id=f"c{i}", phase="retrain", epoch=e, test_acc=a, actual_sparsity=amount)
                    for e, a in enumerate(accs)]
    return pd.DataFrame(runs), pd.DataFrame(epochs)


def test_drop_recovery_and_feasibility_per_trial():
    runs, epochs = make({0: 0.99}, [(0, 0.5, [0.90, 0.97, 0.985, 0.99]), (0, 0.9, [0.5, 0.6, 0.7, 0.8])])
    t = pruning_trials(runs, epochs, delta=0.01).set_index("amount")
    assert t.loc[0.5, "drop"] == pytest.approx(0.09)
    assert t.loc[0.5, "recovery_epochs"] == 2  # 0.985 >= 0.99 - 0.01
    assert t.loc[0.5, "feasible"] and not t.loc[0.9, "feasible"]
    assert math.isnan(t.loc[0.9, "recovery_epochs"])  # never


def test_no_drop_means_zero_recovery_epochs():
    runs, epochs = make({0: 0.99}, [(0, 0.1, [0.99, 0.99])])
    assert pruning_trials(runs, epochs)["recovery_epochs"].tolist() == [0.0]


def test_summary_means_cis_and_max_feasible_sparsity_over_seeds():
    runs, epochs = make(
        {0: 0.99, 1: 0.98, 2: 0.97},
        [(0, 0.5, [0.9, 0.99]), (1, 0.5, [0.8, 0.98]), (2, 0.5, [0.7, 0.5]),
         (0, 0.9, [0.5, 0.99]), (1, 0.9, [0.5, 0.5]), (2, 0.9, [0.5, 0.5])],
    )
    tables = pruning_summary(runs, epochs, delta=0.01)
    row = tables["configurations"].set_index("level").loc[0.5]
    drops = [0.99 - 0.9, 0.98 - 0.8, 0.97 - 0.7]
    assert row["drop"] == pytest.approx(sum(drops) / 3)
    assert row["drop_ci95"] == pytest.approx(mean_ci(drops)[1])
    assert row["recovered"] == "2/3" and row["recovery_epochs"] == 1.0
    feasible = tables["max_feasible_sparsity"].iloc[0]
    per_seed = [0.9, 0.5, 0.0]  # seed 2 recovers at no amount
    assert feasible["max_feasible_sparsity"] == pytest.approx(sum(per_seed) / 3)
    assert feasible["max_feasible_sparsity_ci95"] == pytest.approx(mean_ci(per_seed)[1])


def test_mean_ci_matches_scipy_t_interval():
    from scipy import stats

    values = [0.2, 0.4, 0.9, 0.3]
    mean, half = mean_ci(values)
    low, high = stats.t.interval(0.95, len(values) - 1, loc=mean, scale=stats.sem(values))
    assert (mean - half, mean + half) == pytest.approx((low, high))
