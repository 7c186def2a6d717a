"""The compare kind: every family meets its budget, and the summary's metrics are the
ones its docstring defines."""

import json

import pandas as pd
import pytest

from sparsernn.analysis.compare import compare_summary, compare_trials
from sparsernn.cli import main
from sparsernn.store import Store
from sparsernn.studies import StudyConfig, expand, study_from_dict
from sparsernn.studies.kinds.compare import FAMILIES

BUDGET = 700
STUDY = {
    "name": "cmp", "kind": "compare", "cells": ["lstm"], "seeds": [0],
    "data": {"dataset": "reber", "num_strings": 160, "min_length": 11},
    "model": {"embedding_dim": 6, "hidden_sizes": [12, 12]},
    "training": {"epochs": 2, "batch_size": 16},
    "compare": {"budgets": [BUDGET], "generators": ["barabasi_albert", "erdos_renyi"], "retrain_epochs": 1,
                "gradual": {"prune_epochs": 1, "frequency": 2}, "dynamic": {"frequency": 2}},
}


@pytest.fixture(scope="module")
def study_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("compare")
    config = out / "cmp.yaml"
    config.write_text(json.dumps(STUDY))
    assert main(["run", str(config), "--out", str(out / "out"), "--workers", "1"]) == 0
    return out / "out"


@pytest.fixture(scope="module")
def study(study_dir):
    with Store(study_dir, create=False) as store:
        return store.runs(), store.epochs(), store.artefacts()


@pytest.mark.slow  # runs a small study (module fixture)
def test_the_report_plots_every_family_against_its_recurrent_weights(study_dir, study):
    runs, _, _ = study
    assert main(["report", str(study_dir)]) == 0
    figure = (study_dir / "figures" / "families_accuracy.svg").read_text()
    rules = [json.loads(r.config)["compare"] for r in runs[runs["kind"] == "compare"].itertuples()]
    labels = {r["family"] + (f":{r['generator']}" if r["family"] in ("graph", "random_mask") else "") for r in rules}
    assert labels and all(f">{label}<" in figure for label in labels)  # one legend entry per family
    assert all(f">{cell}<" in figure for cell in STUDY["cells"])  # one panel per cell
    assert 'id="fig-families_accuracy"' in (study_dir / "report.html").read_text()


def test_expand_gives_the_wide_bases_then_every_family_and_generator():
    trials = expand(StudyConfig(**STUDY))
    assert [t.kind for t in trials[:1]] == ["dense"]
    families = [(t.spec.compare.family, t.spec.compare.generator) for t in trials[1:]]
    assert len(families) == len(FAMILIES) + 2  # two generators for graph and random_mask
    one_shot = [t for t in trials if t.kind == "compare" and t.spec.compare.family == "pruned_one_shot"]
    assert [t.parent for t in one_shot] == [trials[0].id]
    assert all(t.parent is None for t in trials[1:] if t not in one_shot)


@pytest.mark.slow  # runs a small study (module fixture)
@pytest.mark.parametrize("family", [f for f in FAMILIES])
def test_every_family_meets_its_budget_within_two_percent(study, family):
    runs, _, artefacts = study
    ids = [r.run_id for r in runs.itertuples() if r.kind == "compare"
           and json.loads(r.config)["compare"]["family"] == family]
    assert ids and runs.set_index("run_id").loc[ids, "status"].eq("done").all()
    counts = artefacts[(artefacts["kind"] == "budget") & artefacts["run_id"].isin(ids)]["data"].tolist()
    assert len(counts) == len(ids)
    for count in counts:
        assert abs(count["recurrent"] - BUDGET) <= 0.02 * BUDGET, (family, count)
        assert count["budget"] == BUDGET and count["recurrent"] <= count["recurrent_total"]


@pytest.mark.slow  # runs a small study (module fixture)
def test_the_random_mask_control_keeps_its_graph_networks_counts(study):
    runs, _, artefacts = study
    counts = {}
    for r in runs[runs["kind"] == "compare"].itertuples():
        rule = json.loads(r.config)["compare"]
        if rule["family"] in ("graph", "random_mask"):
            data = artefacts[(artefacts["run_id"] == r.run_id) & (artefacts["kind"] == "budget")]["data"].iloc[0]
            counts[rule["family"], rule["generator"]] = data
    for generator in ("barabasi_albert", "erdos_renyi"):
        assert counts["graph", generator] == counts["random_mask", generator]


@pytest.mark.slow  # runs a small study (module fixture)
def test_the_summary_shows_every_family_and_the_structure_gain(study, capsys, tmp_path):
    runs, epochs, artefacts = study
    tables = compare_summary(runs, epochs, artefacts)
    families = tables["families"]
    assert set(families["family"]) == {"wide_dense", "small_dense", "pruned_one_shot", "pruned_gradual", "set",
                                       "rigl", "graph:barabasi_albert", "graph:erdos_renyi",
                                       "random_mask:barabasi_albert", "random_mask:erdos_renyi"}
    wide = families[families["family"] == "wide_dense"].iloc[0]
    assert wide["recurrent"] == 4 * (6 * 12 + 12 * 12 + 12 * 12 + 12 * 12) and wide["density"] == 1
    assert families.set_index("family").loc["small_dense", "density"] == 1
    gain = tables["gain"]
    assert len(gain) == 2 and (gain["seeds"] == 1).all()
    trials = tables["trials"].set_index("family")
    for generator in ("barabasi_albert", "erdos_renyi"):
        expected = trials.loc[f"graph:{generator}", "final_acc"] - trials.loc[f"random_mask:{generator}", "final_acc"]
        assert gain.set_index("generator").loc[generator, "structure_gain"] == pytest.approx(expected)


def _runs(rows):
    return pd.DataFrame([{"study": "s", "status": "done", "cell": "gru", "configuration": r[0], **r[1]}
                         for r in rows])


def _epochs(run_id, accs, seconds=1.0):
    return [{"run_id": run_id, "epoch": e, "test_acc": a, "test_loss": 0.5, "seconds": seconds,
             "nonzero_params": 10, "total_params": 20} for e, a in enumerate(accs)]


def test_epochs_to_99_and_training_cost_count_the_parents_epochs():
    base = {"run_id": "b", "kind": "dense", "parent": None, "seed": 0,
            "config": json.dumps({"model": {"embedding_dim": 2, "hidden_sizes": [3]}})}
    pruned = {"run_id": "p", "kind": "compare", "parent": "b", "seed": 0,
              "config": json.dumps({"budget": 30, "compare": {"family": "pruned_one_shot"}})}
    small = {"run_id": "d", "kind": "compare", "parent": None, "seed": 0,
             "config": json.dumps({"budget": 30, "compare": {"family": "small_dense"}})}
    runs = _runs([("cb", base), ("cp", pruned), ("cd", small)])
    epochs = pd.DataFrame(_epochs("b", [0.5, 0.7, 0.9, 0.95], 2.0) + _epochs("p", [0.6, 0.9, 0.99])
                          + _epochs("d", [0.5, 0.5, 0.8, 0.795]))
    trials = compare_trials(runs, epochs).set_index("family")
    # pruned: 0.99 * 0.99 = 0.9801 first reached at retraining epoch 2, after the base's 3 epochs
    assert trials.loc["pruned_one_shot", ["epochs_to_99", "train_epochs", "train_seconds"]].tolist() == [5, 5, 8]
    # small dense: 0.99 * 0.795 = 0.787 first reached at epoch 2 (epoch 0 never counts)
    assert trials.loc["small_dense", ["epochs_to_99", "train_epochs", "seconds_per_epoch"]].tolist() == [2, 3, 1]
    assert trials.loc["wide_dense", "recurrent"] == 3 * (2 * 3 + 3 * 3)  # gru: 3 gates


def test_bad_compare_sections_are_refused():
    with pytest.raises(Exception, match="budget 99,999 is more than the 2,016 recurrent weights"):
        study_from_dict({**STUDY, "compare": {"budgets": [99_999]}})
    with pytest.raises(Exception, match="no 2-layer dense lstm reading 6 features has 5 recurrent weights"):
        study_from_dict({**STUDY, "compare": {"budgets": [5], "families": ["small_dense"]}})
    with pytest.raises(Exception, match="budgets must be distinct"):
        study_from_dict({**STUDY, "compare": {"budgets": [10, 10]}})


def test_density_is_the_kept_share_of_the_networks_own_recurrent_weights():
    rows = [("cg", {"run_id": "g", "kind": "compare", "parent": None, "seed": 0,
                    "config": json.dumps({"budget": 30, "compare": {"family": "graph", "generator": "x"}})}),
            ("cr", {"run_id": "r", "kind": "compare", "parent": None, "seed": 0,
                    "config": json.dumps({"budget": 30, "compare": {"family": "random_mask", "generator": "x"}})})]
    epochs = pd.DataFrame(_epochs("g", [0.5, 0.8]) + _epochs("r", [0.5, 0.7]))
    artefacts = pd.DataFrame([{"run_id": run_id, "kind": "budget", "name": "counts",
                               "data": {"recurrent": 30, "recurrent_total": total}}
                              for run_id, total in (("g", 40), ("r", 40))])
    tables = compare_summary(_runs(rows), epochs, artefacts)
    assert tables["trials"].set_index("family")["density"].tolist() == [0.75, 0.75]
    assert tables["gain"]["graph_density_seeds"].tolist() == ["0.75"]
    # a graph that keeps every weight of its layers is its own control
    artefacts["data"] = [{"recurrent": 30, "recurrent_total": 30}] * 2
    assert compare_summary(_runs(rows), epochs, artefacts)["gain"]["graph_density_seeds"].tolist() == ["1"]
