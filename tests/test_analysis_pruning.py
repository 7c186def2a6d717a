"""Pruning metrics on hand-made trials, checked against hand computation."""

import importlib.util
import json
import math
from pathlib import Path

import pandas as pd
import pytest
from scipy import stats

from sparsernn.analysis import bootstrap_ci, mean_ci, per_seed, pruning_summary, pruning_trials, wilson_interval


def make(base_accs, children, study="s", lr=0.001):
    """runs/epochs frames: dense bases per seed, children (seed, amount, retrain accuracies)."""
    runs, epochs = [], []
    for seed, acc in base_accs.items():
        base = {"cell": "lstm", "seed": seed, "training": {"lr": lr}}
        runs.append(dict(run_id=f"{study}{lr}b{seed}", study=study, kind="dense", status="done", parent=None,
                         cell="lstm", seed=seed, config=json.dumps(base)))
        epochs += [dict(run_id=f"{study}{lr}b{seed}", phase="train", epoch=e, test_acc=a)
                   for e, a in enumerate([0.5, acc])]
    for i, (seed, amount, accs) in enumerate(children):
        spec = dict(criterion="magnitude", target="both", scope="global", schedule="one_shot", amount=amount,
                    threshold=None)
        config = {"cell": "lstm", "seed": seed, "training": {"lr": lr}, "sparsity": amount, "pruning": spec}
        run_id = f"{study}{lr}c{i}"
        runs.append(dict(run_id=run_id, study=study, kind="pruning", status="done", parent=f"{study}{lr}b{seed}",
                         cell="lstm", seed=seed, config=json.dumps(config), model_sparsity=amount * 0.9))
        epochs += [dict(run_id=run_id, phase="retrain", epoch=e, test_acc=a) for e, a in enumerate(accs)]
    return pd.DataFrame(runs), pd.DataFrame(epochs)


def test_drop_recovery_and_feasibility_per_trial():
    runs, epochs = make({0: 0.99}, [(0, 0.5, [0.90, 0.97, 0.985, 0.99]), (0, 0.9, [0.5, 0.6, 0.7, 0.8])])
    t = pruning_trials(runs, epochs, delta=0.01).set_index("amount")
    assert t.loc[0.5, "drop"] == pytest.approx(0.09)
    assert t.loc[0.5, "recovery_epochs"] == 2  # 0.985 >= 0.99 - 0.01
    assert t.loc[0.5, "recovered"] and not t.loc[0.9, "recovered"]
    assert not t.loc[0.5, "safe"]
    assert math.isnan(t.loc[0.9, "recovery_epochs"])  # never


def test_recovered_ignores_retraining_epoch_0():
    # Safe right after pruning (epoch 0 within delta), then worse after retraining:
    # not recovered, and the summary does not say "1/1" next to a lower final accuracy.
    runs, epochs = make({0: 0.604}, [(0, 0.5, [0.604, 0.568])])
    t = pruning_trials(runs, epochs).iloc[0]
    assert t["safe"] and not t["recovered"] and math.isnan(t["recovery_epochs"])
    row = pruning_summary(runs, epochs)["configurations"].iloc[0]
    assert row["recovered"] == "0/1" and row["safe"] == "1/1"
    # safe and still fine after one epoch: recovered in 1 epoch, not 0
    runs, epochs = make({0: 0.99}, [(0, 0.1, [0.99, 0.99])])
    assert pruning_trials(runs, epochs)["recovery_epochs"].tolist() == [1.0]


def test_a_gradual_trial_recovers_only_once_it_has_its_final_sparsity():
    # Still accurate at epoch 1, before gradual pruning reached its level (100 -> 50
    # nonzero weights by epoch 3): that epoch does not count; epoch 4 (0.985) does.
    runs, epochs = make({0: 0.99}, [(0, 0.5, [0.99, 0.99, 0.9, 0.95, 0.985])])
    epochs["nonzero_params"] = [1000, 1000] + [100, 80, 60, 50, 50]
    assert pruning_trials(runs, epochs)["recovery_epochs"].tolist() == [4.0]
    epochs.loc[epochs["epoch"] == 4, "test_acc"] = 0.9  # never again within delta at 50 weights
    assert not pruning_trials(runs, epochs)["recovered"].iloc[0]
    # one-shot: the count is final from epoch 0, so epoch 1 counts as before
    runs, epochs = make({0: 0.99}, [(0, 0.5, [0.9, 0.99])])
    epochs["nonzero_params"] = [1000, 1000, 50, 50]
    assert pruning_trials(runs, epochs)["recovery_epochs"].tolist() == [1.0]


def test_summary_per_seed_values_bootstrap_intervals_and_max_sparsity():
    runs, epochs = make(
        {0: 0.99, 1: 0.98, 2: 0.97},
        [(0, 0.5, [0.9, 0.99]), (1, 0.5, [0.8, 0.98]), (2, 0.5, [0.7, 0.5]),
         (0, 0.9, [0.5, 0.99]), (1, 0.9, [0.5, 0.5]), (2, 0.9, [0.5, 0.5])],
    )
    tables = pruning_summary(runs, epochs, delta=0.01)
    row = tables["configurations"].set_index("level").loc[0.5]
    drops = [0.99 - 0.9, 0.98 - 0.8, 0.97 - 0.7]
    assert row["drop"] == pytest.approx(sum(drops) / 3)
    assert (row["drop_low"], row["drop_high"]) == pytest.approx(bootstrap_ci(drops)[1:])
    assert row["drop_seeds"] == per_seed(drops) == "0.09 0.18 0.27"
    assert row["pruned_acc_seeds"] == "0.9 0.8 0.7" and row["seed_list"] == "0 1 2"
    assert row["recovered"] == "2/3" and row["recovery_epochs"] == 1.0 and row["recovery_epochs_seeds"] == "1 1 -"
    assert (row["recovered_low"], row["recovered_high"]) == pytest.approx(wilson_interval(2, 3))
    assert row["model_sparsity"] == pytest.approx(0.45)
    curve = tables["max_sparsity"].iloc[0]
    assert curve["max_feasible_sparsity_seeds"] == "0.9 0.5 0"  # seed 2 recovers at no level
    assert (curve["max_feasible_sparsity_median"], curve["max_feasible_sparsity_min"],
            curve["max_feasible_sparsity_max"]) == (0.5, 0.0, 0.9)
    assert curve["max_safe_sparsity_seeds"] == "0 0 0"


def test_studies_and_settings_are_never_pooled():
    a = make({0: 0.99, 1: 0.98}, [(0, 0.5, [0.9, 0.99]), (1, 0.5, [0.8, 0.98])], study="a", lr=0.001)
    b = make({0: 0.9, 1: 0.9}, [(0, 0.5, [0.5, 0.5]), (1, 0.5, [0.5, 0.6])], study="a", lr=0.05)
    c = make({0: 0.9}, [(0, 0.5, [0.5, 0.9])], study="c", lr=0.001)
    runs = pd.concat([a[0], b[0], c[0]], ignore_index=True)
    epochs = pd.concat([a[1], b[1], c[1]], ignore_index=True)
    tables = pruning_summary(runs, epochs)
    configs = tables["configurations"]
    assert sorted(zip(configs["study"], configs["seeds"])) == [("a", 2), ("a", 2), ("c", 1)]
    assert configs["configuration"].nunique() == 2  # c repeats a's lr 0.001 settings under another study
    assert len(tables["max_sparsity"]) == 3


def test_intervals_stay_inside_the_metric_range_with_bimodal_seeds():
    # GRU at 60 % 'both', the old summary's worst case: t gave 0.742 +- 0.616.
    runs, epochs = make({0: 1.0, 1: 1.0, 2: 1.0},
                        [(0, 0.6, [0.503, 1.0]), (1, 0.6, [0.513, 1.0]), (2, 0.6, [1.0, 1.0])])
    row = pruning_summary(runs, epochs)["configurations"].iloc[0]
    for metric, (low, high) in {"pruned_acc": (0, 1), "drop": (-1, 1), "final_acc": (0, 1),
                                "recovery_epochs": (0, math.inf), "recovered": (0, 1), "safe": (0, 1)}.items():
        assert low <= row[f"{metric}_low"] <= row[f"{metric}_high"] <= high, metric
    assert 0.503 <= row["pruned_acc_low"] and row["pruned_acc_high"] <= 1.0


def test_bootstrap_interval_is_within_the_observed_range_and_seeded():
    values = [0.5, 0.51, 1.0, 0.7]
    mean, low, high = bootstrap_ci(values)
    assert min(values) <= low <= mean <= high <= max(values)
    assert bootstrap_ci(values) == bootstrap_ci(values)
    assert bootstrap_ci([0.3, 0.3]) == (0.3, 0.3, 0.3)
    assert all(math.isnan(v) for v in bootstrap_ci([0.3])[1:])


@pytest.mark.parametrize("k, n", [(0, 3), (1, 3), (3, 3), (7, 20)])
def test_wilson_interval_matches_scipy(k, n):
    expected = stats.binomtest(k, n).proportion_ci(0.95, method="wilson")
    assert wilson_interval(k, n) == pytest.approx((expected.low, expected.high))


def test_mean_ci_matches_scipy_t_interval():
    values = [0.2, 0.4, 0.9, 0.3]
    mean, half = mean_ci(values)
    low, high = stats.t.interval(0.95, len(values) - 1, loc=mean, scale=stats.sem(values))
    assert (mean - half, mean + half) == pytest.approx((low, high))


def test_bits_are_the_test_loss_over_ln2_and_language_model_studies_get_their_tables():
    from sparsernn.analysis.pruning import markdown_tables

    runs, epochs = make({0: 0.6}, [(0, 0.5, [0.3, 0.55])])
    epochs["test_loss"] = [2.0, 1.2, 3.0, 1.3]  # base: epochs 0, 1; child: epochs 0, 1
    t = pruning_trials(runs, epochs).iloc[0]
    assert (t["base_bits"], t["pruned_bits"], t["final_bits"]) == pytest.approx(
        (1.2 / math.log(2), 3.0 / math.log(2), 1.3 / math.log(2)))
    titles = [title for _, title in markdown_tables(runs, epochs)]
    assert not any("bits per character" in title for title in titles)  # not a language model
    runs["config"] = [json.dumps({**json.loads(c), "data": {"dataset": "pydoc-topics"}}) for c in runs["config"]]
    tables = markdown_tables(runs, epochs)
    assert [title.split(",")[0] for _, title in tables][2:] == ["bits per character right after pruning",
                                                                "bits per character after retraining"]
    assert tables[2][0]["0.5"].tolist() == [per_seed([3.0 / math.log(2)])]


def test_the_thesis_results_go_through_the_same_definitions(tmp_path):
    """experiments/thesis_pruning_tables.py reads the thesis's per-epoch CSV (base epochs,
    then per target and level: epoch 0 right after pruning, then retraining) into runs
    and epochs; hand-computed: at 50 % `both` was safe (0.995 >= 1 - 0.01) and recovered
    at epoch 1, at 100 % neither, and `hh` at 100 % recovered at epoch 2 only."""
    path = Path(__file__).resolve().parents[1] / "experiments" / "thesis_pruning_tables.py"
    spec = importlib.util.spec_from_file_location("thesis_pruning_tables", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rows = ["mode,prune,epoch,train_loss,train_acc,test_loss,test_acc,time", "gru,0,1,1,0.9,0.3,0.9,1",
            "gru,0,2,1,1,0.1,1.0,1"]
    for mode, level, accs in [("gru_prune", 50, [0.995, 1.0]), ("gru_prune", 100, [0.5, 0.5]),
                              ("gru_prune_h2h", 100, [0.57, 0.98, 1.0])]:
        rows += [f"{mode},{level},{e},1,1,0.1,{a},1" for e, a in enumerate(accs)]
    (tmp_path / "gru.csv").write_text("\n".join(rows) + "\n")
    runs, epochs = module.thesis_results(tmp_path, "gru")
    tables = pruning_summary(runs, epochs)
    got = tables["configurations"].set_index(["target", "level"])
    assert got.loc[("both", 0.5), "safe"] == "1/1" and got.loc[("both", 0.5), "recovery_epochs"] == 1
    assert got.loc[("both", 1.0), "recovered"] == "0/1" and got.loc[("hh", 1.0), "recovery_epochs"] == 2
    maxima = tables["max_sparsity"].set_index("target")
    assert maxima.loc["both", "max_safe_sparsity_seeds"] == "0.5"
    assert maxima.loc["hh", "max_feasible_sparsity_seeds"] == "1"
