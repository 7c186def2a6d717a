"""The prune_structure kind: pruned GraphRNNs stay inside their graphs, their stored
properties are those of the graph read back from their masks, the dense comparator has
the same count, and a stack retrains each child as it would retrain alone."""

import copy
import json

import networkx as nx
import numpy as np
import pandas as pd
import pytest
import torch

from sparsernn import prune
from sparsernn.analysis.prune_structure import predictability, prune_structure_trials
from sparsernn.budgets import recurrent_weights
from sparsernn.checkpoint import load_checkpoint
from sparsernn.cli import main
from sparsernn.graphs import graph_properties
from sparsernn.nn import GraphRNN
from sparsernn.store import Store
from sparsernn.studies import StudyConfig, expand, study_from_dict
from sparsernn.studies.kinds.prune_structure import TARGETS, PruneStructureConfig, _kept_counts, stack_key
from sparsernn.studies.kinds.structure import trial_graph

STUDY = {
    "name": "ps", "kind": "prune_structure", "cells": ["gru"], "seeds": [0],
    "data": {"dataset": "reber", "num_strings": 160, "min_length": 11},
    "model": {"embedding_dim": 5, "hidden_sizes": [10, 10]},
    "training": {"epochs": 1, "batch_size": 16},
    "prune_structure": {"structure": {"generators": ["watts_strogatz"], "graphs": 1, "sizes": [12, 12]},
                        "targets": ["ih", "both"], "sparsities": [0.5, 1.0], "schedules": ["one_shot", "gradual"],
                        "retrain_epochs": 1, "gradual": {"prune_epochs": 1, "frequency": 1}},
}


def _run(tmp_path, study):
    config = tmp_path / "ps.yaml"
    config.write_text(json.dumps(study))
    assert main(["run", str(config), "--out", str(tmp_path / "out"), "--workers", "1"]) == 0
    with Store(tmp_path / "out", create=False) as store:
        return store.runs(), store.epochs(), store.artefacts()


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    out = tmp_path_factory.mktemp("ps")
    return out, *_run(out, STUDY)


def _artefact(artefacts, run_id, kind, name=None):
    rows = artefacts[(artefacts["run_id"] == run_id) & (artefacts["kind"] == kind)]
    if name is not None:
        rows = rows[rows["name"] == name]
    return rows["data"].iloc[0]


def _graph(data: dict) -> nx.DiGraph:
    """A stored graph with its own vertex names (graph_from_json would renumber them)."""
    graph = nx.DiGraph()
    graph.add_nodes_from(data["nodes"])
    graph.add_edges_from(map(tuple, data["edges"]))
    return graph


def test_expand_trains_the_graph_rnn_as_a_structure_study_would():
    trials = expand(StudyConfig(**STUDY))
    structure = study_from_dict({**{k: v for k, v in STUDY.items() if k != "prune_structure"}, "kind": "structure",
                                 "structure": STUDY["prune_structure"]["structure"]})
    assert trials[0].id == expand(structure)[0].id  # the same GraphRNN trial, the same id
    kinds = [t.kind for t in trials]
    assert kinds.count("prune_structure") == 2 * 2 * 2 and kinds.count("dense") == 1
    assert kinds.count("compare") == 2  # one-shot children of "both", one per level


@pytest.mark.slow  # runs a small study (module fixture)
def test_pruned_graph_rnns_never_gain_a_connection_and_store_the_graph_of_their_masks(study):
    out, runs, _, artefacts = study
    parent = runs[runs["kind"] == "structure"]["run_id"].iloc[0]
    trained = _graph(_artefact(artefacts, parent, "graph", "dag"))
    children = runs[runs["kind"] == "prune_structure"]
    assert len(children) == 8 and children["status"].eq("done").all()
    for run in children.itertuples():
        stored = _graph(_artefact(artefacts, run.run_id, "graph", "pruned"))
        assert set(stored.edges) <= set(trained.edges)
        model = load_checkpoint(out / "out" / f"checkpoints/{run.run_id}.pt").model
        order = [v for layer in model.layer_vertices for v in layer]
        read = nx.DiGraph()  # the graph read from the masks by hand: any gate keeps an edge
        read.add_nodes_from(order)
        for layer, vertices in zip(model.layers[1:], model.layer_vertices[1:]):
            mask = layer.mask_ih_l0.view(3, len(vertices), -1).any(dim=0)
            read.add_edges_from((order[c], vertices[r]) for r, c in mask.nonzero().tolist())
        read.remove_nodes_from([v for v in order if read.degree(v) == 0 and trained.degree(v) > 0])
        assert sorted(read.edges) == sorted(stored.edges) and sorted(read.nodes) == sorted(stored.nodes)
        props = _artefact(artefacts, run.run_id, "properties", "pruned")
        if read.number_of_nodes() == 0:
            assert props is None
            continue
        expected = graph_properties(read)
        assert props.keys() == expected.keys()
        assert props["dag_edges"] == read.number_of_edges() == expected["dag_edges"]
        assert props == pytest.approx(expected, nan_ok=True)
        gates = _artefact(artefacts, run.run_id, "gates")["edges_per_gate"]
        assert gates == [read.number_of_edges()] * 3  # connection pruning: every gate alike


@pytest.mark.slow  # runs a small study (module fixture)
def test_sparsity_one_of_ih_removes_every_edge(study):
    _, runs, _, artefacts = study
    for run in runs[runs["kind"] == "prune_structure"].itertuples():
        config = json.loads(run.config)["prune_structure"]
        if config["amount"] == 1.0:
            assert _graph(_artefact(artefacts, run.run_id, "graph", "pruned")).number_of_edges() == 0


@pytest.mark.slow  # runs a small study (module fixture)
def test_the_dense_comparator_keeps_as_many_recurrent_weights_as_the_pruned_graph_rnn(study):
    _, runs, _, artefacts = study
    kept = {}
    for run in runs[runs["kind"] == "prune_structure"].itertuples():
        config = json.loads(run.config)["prune_structure"]
        if config["target"] == "both" and config["schedule"] == "one_shot":
            kept[config["amount"]] = _artefact(artefacts, run.run_id, "budget")["recurrent"]
    comparators = runs[runs["kind"] == "compare"]
    budgets = sorted(json.loads(c)["budget"] for c in comparators["config"])
    assert budgets == sorted(max(k, 1) for k in kept.values())
    for run in comparators.itertuples():
        assert _artefact(artefacts, run.run_id, "budget")["recurrent"] == json.loads(run.config)["budget"]


@pytest.mark.slow  # runs a small study (module fixture)
def test_each_pruned_graph_rnn_is_paired_with_its_parent_and_its_dense_comparator(study):
    _, runs, epochs, artefacts = study
    trials = prune_structure_trials(runs, epochs, artefacts).set_index("run_id")
    last = epochs.sort_values("epoch").groupby("run_id")["test_acc"].last()
    compare = {json.loads(r.config)["budget"]: last[r.run_id] for r in runs[runs["kind"] == "compare"].itertuples()}
    for run in runs[runs["kind"] == "prune_structure"].itertuples():
        trial, point = trials.loc[run.run_id], json.loads(run.config)["prune_structure"]
        assert trial["final_acc"] == last[run.run_id] and trial["base_acc"] == last[run.parent]
        assert trial["gain"] == pytest.approx(last[run.run_id] - last[run.parent])
        if point["target"] != "both":  # no comparators (dense_targets: [both])
            assert np.isnan(trial["dense_acc"]) and np.isnan(trial["dense_gap"])
            continue
        sibling = trials[(trials["parent"] == run.parent) & (trials["target"] == "both")
                         & (trials["schedule"] == "one_shot") & (trials["level"] == point["amount"])]
        assert trial["dense_acc"] == compare[max(int(sibling["recurrent"].iloc[0]), 1)]
        assert trial["dense_gap"] == pytest.approx(last[run.run_id] - trial["dense_acc"])


@pytest.mark.slow  # runs a small study (module fixture)
def test_the_report_plots_each_cell_and_generator_with_a_curve_per_target_and_schedule(study):
    out, *_ = study
    assert main(["report", str(out / "out")]) == 0
    figure = (out / "out" / "figures" / "pruned_graphs_accuracy.svg").read_text()
    section = STUDY["prune_structure"]
    assert ">gru, watts_strogatz<" in figure  # a panel per cell and generator
    for target in section["targets"]:
        for schedule in section["schedules"]:
            assert f">{target}, {schedule}<" in figure
    assert ">dense network pruned to the same count<" in figure
    assert 'id="fig-pruned_graphs_accuracy"' in (out / "out" / "report.html").read_text()


@pytest.mark.slow
def test_a_stack_retrains_each_child_as_it_would_alone(study, tmp_path):
    _, _, epochs, _ = study
    alone = {**STUDY, "prune_structure": {**STUDY["prune_structure"], "batch_children": False}}
    runs, epochs_alone, _ = _run(tmp_path, alone)
    stacked = epochs[epochs["kind"] == "prune_structure"].set_index(["run_id", "epoch"])["test_loss"]
    single = epochs_alone[epochs_alone["kind"] == "prune_structure"].set_index(["run_id", "epoch"])["test_loss"]
    assert sorted(stacked.index) == sorted(single.index)  # the same trial ids
    assert torch.allclose(torch.tensor(stacked.sort_index().values), torch.tensor(single.sort_index().values),
                          atol=1e-5)


@pytest.mark.slow  # runs a small study (module fixture)
def test_summary_tables(study, capsys):
    out, *_ = study
    assert main(["results", str(out / "out"), "--summary", "prune_structure"]) == 0
    printed = capsys.readouterr().out
    assert "maximum feasible sparsity" in printed and "dense_acc" in printed


def test_bad_sections_are_refused():
    with pytest.raises(Exception, match="gradual schedule prunes a GraphRNN with scope: global only"):
        study_from_dict({**STUDY, "prune_structure": {"schedules": ["gradual"], "scope": "layer"}})
    with pytest.raises(Exception, match="sparsities must be distinct fractions"):
        study_from_dict({**STUDY, "prune_structure": {"sparsities": [0.0]}})


@pytest.mark.parametrize("granularity", ["connection", "weight"])
@pytest.mark.parametrize("scope", ["global", "layer"])
@pytest.mark.parametrize("cell", ["lstm", "rnn_tanh"])
def test_comparator_counts_are_what_magnitude_pruning_keeps(granularity, scope, cell):
    section = PruneStructureConfig(targets=["ih", "hh", "both"], dense_targets=["ih", "hh", "both"],
                                   sparsities=[0.1, 0.35, 0.5, 0.9, 1.0], scope=scope, granularity=granularity,
                                   schedules=["one_shot"])
    study = {**STUDY, "cells": [cell], "prune_structure": {"structure": {"generators": ["barabasi_albert",
                                                                                      "erdos_renyi"],
                                                                         "graphs": 2, "sizes": [8, 14]}}}
    for parent in [t for t in expand(StudyConfig(**study)) if t.kind == "structure"]:
        spec = parent.spec
        model = GraphRNN(trial_graph(spec.graph), cell, vocab_size=3, embedding_dim=spec.model.embedding_dim)
        for (target, level), kept in _kept_counts(spec, section).items():
            pruned = prune.magnitude(copy.deepcopy(model), level, targets=TARGETS[target], scope=scope,
                                     granularity=granularity)
            assert recurrent_weights(pruned)[0] == kept, (target, level)


def test_predictability_finds_the_property_that_predicts_accuracy_after_pruning():
    rng = np.random.default_rng(0)
    n = 12
    a = rng.normal(size=n)
    trials = pd.DataFrame({"study": "s", "cell": "gru", "target": "ih", "schedule": "one_shot", "level": 0.5,
                           "final_acc": 0.5 + 0.1 * a, "pre_a": a, "pre_noise": rng.normal(size=n)})
    row = predictability(trials, folds=3, repeats=2).iloc[0]
    assert row["property"] == "a" and row["property_rho"] == pytest.approx(1.0)
    assert row["significant"] >= 1 and row["r2_mean"] > 0.9
    flat = trials.assign(final_acc=0.5)  # nothing varies: nothing to predict
    assert "r2_mean" not in predictability(flat, folds=3).columns


@pytest.mark.parametrize("batch_children, device, stacked",
                         [("auto", None, {"gru"}), ("auto", "cpu", {"gru"}), (True, None, {"gru", "lstm"}),
                          (False, None, set())])
def test_children_stack_but_lstm_children_on_a_cpu_by_default(batch_children, device, stacked):
    config = study_from_dict({**STUDY, "cells": ["lstm", "gru"],
                              "training": {**STUDY.get("training", {}), "device": device},
                              "prune_structure": {**STUDY["prune_structure"], "batch_children": batch_children}})
    children = [t for t in expand(config) if t.kind == "prune_structure"]
    one_shot = [t for t in children if t.spec.prune_structure.schedule == "one_shot"]
    assert one_shot and {t.spec.cell for t in one_shot if stack_key(t) is not None} == stacked
