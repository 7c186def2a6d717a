"""Input that cannot work is refused up front: one line, exit 2, nothing stored.

Non-finite numbers anywhere in a study, sizes beyond their documented bounds, a graph
too large to train, CSV labels that spell one number two ways; and a training run
whose loss explodes (finite, but far above where it started) ends ``diverged``, not
``done``.
"""

import json
import sqlite3
import time

import pytest
import torch
from torch import nn

from sparsernn.cli import main
from sparsernn.data import Vocabulary, load_csv, reber_dataset
from sparsernn.errors import InputError
from sparsernn.graphs import to_dag, watts_strogatz
from sparsernn.nn import GraphRNN, GraphRNNPack, SequenceClassifier
from sparsernn.studies import config as study_config
from sparsernn.studies.kinds import structure
from sparsernn.train import MAX_BATCH_SIZE, MAX_EPOCHS, TrainingConfig, divergence_limit, encode_split, fit, fit_pack

SECTION = "Refused up front"
TINY = """\
name: tiny
cells: [gru]
seeds: [0]
data: {num_strings: 100}
model: {hidden_sizes: [4], embedding_dim: 4}
training: {epochs: 1}
"""
KINDS = {
    "dense": "",
    "pruning": "kind: pruning\npruning: {sparsities: [0.5], retrain_epochs: 1}\n",
    "structure": "kind: structure\nstructure: {graphs: 1, sizes: [5, 5]}\n",
}
TRAIN = ["train", "--cell", "gru", "--num-strings", "100", "--hidden", "4", "--embedding", "4", "--epochs", "1"]


def write_config(tmp_path, kind="dense", replace=""):
    """A tiny study of ``kind`` in a YAML file; ``replace`` (YAML lines) replaces the
    top-level keys it sets."""
    keys = {line.split(":")[0] for line in replace.splitlines()}
    kept = [line for line in (TINY + KINDS[kind]).splitlines() if line.split(":")[0] not in keys]
    path = tmp_path / "study.yaml"
    path.write_text("\n".join(kept) + "\n" + replace)
    return path


def refused(capsys, argv, out, *needles) -> str:
    """Run the CLI; assert exit 2, one line on stderr naming every needle, no traceback,
    nothing stored in ``out``; return the line."""
    code = main([*argv, "--out", str(out)])
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("sparsernn: error: "), err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in lines[0]
    assert not (out / "results.sqlite").exists()
    return lines[0]


# ---------------------------------------------------------------------------------------
# Non-finite numbers


@pytest.mark.parametrize("kind, extra, path", [
    pytest.param("dense", "training: {epochs: 1, lr: .inf}\n", "training.lr", id="lr", marks=pytest.mark.fault(
        "lr: .inf in a config", outcome="refused up front, one line naming training.lr", exit=2, section=SECTION)),
    pytest.param("pruning", "pruning: {criteria: [threshold], thresholds: [0.1, .inf]}\n", "pruning.thresholds.1",
                 id="thresholds", marks=pytest.mark.fault(
                     "thresholds: [.inf] in a pruning config",
                     outcome="refused up front, one line naming pruning.thresholds.1", exit=2, section=SECTION)),
    pytest.param("pruning", "pruning: {schedules: [gradual], gradual: {initial: .nan}}\n", "pruning.gradual.initial",
                 id="nested", marks=pytest.mark.fault(
                     "nan in a nested section of a pruning config",
                     outcome="refused up front, one line naming pruning.gradual.initial", exit=2, section=SECTION)),
    pytest.param("structure", "structure: {erdos_renyi_p: .nan}\n", "structure.erdos_renyi_p", id="structure",
                 marks=pytest.mark.fault("nan in a structure config", outcome="refused up front, one line naming "
                                         "structure.erdos_renyi_p", exit=2, section=SECTION)),
    pytest.param("dense", "data: {num_strings: 100, foreign_fraction: -.inf}\n", "data.foreign_fraction", id="data",
                 marks=pytest.mark.fault("-inf in the data section", outcome="refused up front, one line naming "
                                         "data.foreign_fraction", exit=2, section=SECTION)),
])
def test_a_non_finite_number_in_a_config_file_is_refused(tmp_path, capsys, kind, extra, path):
    config = write_config(tmp_path, kind, replace=extra)
    line = refused(capsys, ["run", str(config)], tmp_path / "out", f"{path}: must be a finite number")
    assert str(config) in line


@pytest.mark.parametrize("kind, setting, path", [
    pytest.param("dense", "training.lr=.inf", "training.lr", id="lr", marks=pytest.mark.fault(
        "--set training.lr=.inf", outcome="refused up front, one line naming training.lr", exit=2, section=SECTION)),
    pytest.param("pruning", "pruning.thresholds=[.nan]", "pruning.thresholds.0", id="thresholds",
                 marks=pytest.mark.fault("--set pruning.thresholds=[.nan]", outcome="refused up front, one line "
                                         "naming pruning.thresholds.0", exit=2, section=SECTION)),
    pytest.param("dense", "training.lr='1e999'", "training.lr", id="lr-string", marks=pytest.mark.fault(
        "--set training.lr='1e999' (a string that reads as inf)",
        outcome="refused up front, one line naming training.lr", exit=2, section=SECTION)),
    pytest.param("pruning", "pruning.thresholds=['inf']", "pruning.thresholds.0", id="thresholds-string",
                 marks=pytest.mark.fault("--set pruning.thresholds=['inf'] (strings that read as inf)",
                                         outcome="refused up front, one line naming pruning.thresholds.0", exit=2,
                                         section=SECTION)),
])
def test_a_non_finite_number_given_with_set_is_refused(tmp_path, capsys, kind, setting, path):
    config = write_config(tmp_path, kind)
    line = refused(capsys, ["run", str(config), "--set", setting], tmp_path / "out", path)
    assert "finite number" in line


@pytest.mark.fault("sparsernn train --lr inf", outcome="refused up front, one line naming training.lr", exit=2,
                   section=SECTION)
def test_train_refuses_an_infinite_learning_rate(tmp_path, capsys):
    refused(capsys, [*TRAIN, "--lr", "inf"], tmp_path / "out", "training.lr: must be a finite number")


@pytest.mark.fault("--set on a preset with nan", outcome="refused up front, one line naming training.lr", exit=2,
                   section=SECTION)
def test_a_preset_with_a_non_finite_override_is_refused(tmp_path, capsys):
    refused(capsys, ["run", "--preset", "quick", "--set", "training.lr=.nan"], tmp_path / "out",
            "training.lr: must be a finite number")


def test_non_finite_numbers_are_found_at_any_depth_without_recursion():
    deep: object = float("inf")
    for _ in range(5000):  # deeper than Python's recursion limit
        deep = [deep]
    errors = study_config._non_finite({"a": {"b": [1.0, float("nan")]}, "c": deep})
    assert [e["loc"][:3] for e in errors] == [("a", "b", 1), ("c", 0, 0)]
    assert len(errors[1]["loc"]) == 5001


# ---------------------------------------------------------------------------------------
# Sizes beyond their bounds


@pytest.mark.parametrize("kind, setting, bound", [
    pytest.param("dense", "data.num_strings=100000000", "10000000", id="num_strings", marks=pytest.mark.fault(
        "absurd data.num_strings", outcome="refused up front, one line with the bound 10,000,000",
        exit=2, section=SECTION)),
    pytest.param("dense", "training.epochs=1000000000", "100000", id="epochs", marks=pytest.mark.fault(
        "absurd training.epochs", outcome="refused up front, one line with the bound 100,000",
        exit=2, section=SECTION)),
    pytest.param("dense", "data.min_length=100000", "1000", id="min_length", marks=pytest.mark.fault(
        "absurd data.min_length", outcome="refused up front, one line with the bound 1,000", exit=2, section=SECTION)),
    pytest.param("dense", "data.max_length=100000000", "1000", id="max_length", marks=pytest.mark.fault(
        "absurd data.max_length", outcome="refused up front, one line with the bound 1,000", exit=2, section=SECTION)),
    pytest.param("dense", "model.hidden_sizes=[4, 1000000]", "10,000", id="width", marks=pytest.mark.fault(
        "absurd model.hidden_sizes width", outcome="refused up front, one line with the bound 10,000",
        exit=2, section=SECTION)),
    pytest.param("dense", f"model.hidden_sizes={[4] * 1000}", "at most 100 items", id="layers", marks=pytest.mark.fault(
        "absurd number of layers in model.hidden_sizes", outcome="refused up front, one line with the bound 100",
        exit=2, section=SECTION)),
    pytest.param("dense", "model.embedding_dim=1000000", "10000", id="embedding", marks=pytest.mark.fault(
        "absurd model.embedding_dim", outcome="refused up front, one line with the bound 10,000",
        exit=2, section=SECTION)),
    pytest.param("dense", "training.batch_size=1000000000000", "10000000", id="batch_size", marks=pytest.mark.fault(
        "absurd training.batch_size", outcome="refused up front, one line with the bound 10,000,000",
        exit=2, section=SECTION)),
    pytest.param("pruning", "pruning.retrain_epochs=1000000000", "100000", id="retrain_epochs", marks=pytest.mark.fault(
        "absurd pruning.retrain_epochs", outcome="refused up front, one line with the bound 100,000",
        exit=2, section=SECTION)),
    pytest.param("structure", "structure.sizes=[10, 10000]", "1,000", id="vertices", marks=pytest.mark.fault(
        "structure graphs of 10,000 vertices", outcome="refused up front, one line with the bound 1,000 vertices",
        exit=2, section=SECTION)),
    pytest.param("structure", "structure.graphs=1000000000", "10000", id="graphs", marks=pytest.mark.fault(
        "absurd structure.graphs", outcome="refused up front, one line with the bound 10,000",
        exit=2, section=SECTION)),
])
def test_a_size_beyond_its_bound_is_refused_with_the_bound(tmp_path, capsys, kind, setting, bound):
    config = write_config(tmp_path, kind)
    key = setting.partition("=")[0]
    start = time.perf_counter()
    line = refused(capsys, ["run", str(config), "--set", setting], tmp_path / "out", key, bound)
    assert time.perf_counter() - start < 10, "refused before any data, model or trial is made"
    assert len(line) < 300


@pytest.mark.fault("sparsernn run --seeds 100000000", outcome="refused up front (no MemoryError), one line with "
                   "the bound 10,000", exit=2, section=SECTION)
def test_too_many_seeds_are_refused_with_the_bound(tmp_path, capsys):
    config = write_config(tmp_path)
    start = time.perf_counter()
    line = refused(capsys, ["run", str(config), "--seeds", "100000000"], tmp_path / "out", "--seeds", "10000")
    assert time.perf_counter() - start < 5
    line = refused(capsys, ["run", str(config), "--set", f"seeds={list(range(study_config.MAX_SEEDS + 1))}"],
                   tmp_path / "out", "seeds", "at most 10000 items")
    assert len(line) < 300  # the seeds themselves are not listed


def test_the_bounds_themselves_are_accepted():
    data = {"seeds": list(range(study_config.MAX_SEEDS)), "cells": ["gru"],
            "data": {"num_strings": study_config.MAX_NUM_STRINGS, "min_length": study_config.MAX_LENGTH,
                     "max_length": study_config.MAX_LENGTH},
            "model": {"embedding_dim": study_config.MAX_WIDTH,
                      "hidden_sizes": [study_config.MAX_WIDTH] * study_config.MAX_LAYERS},
            "training": {"epochs": MAX_EPOCHS, "batch_size": MAX_BATCH_SIZE, "eval_batch_size": MAX_BATCH_SIZE}}
    study_config.study_from_dict(data)
    study_config.study_from_dict({"seeds": [0], "kind": "structure",
                                  "structure": {"sizes": [1, structure.MAX_VERTICES],
                                                "graphs": structure.MAX_GRAPHS}})


def path_graph_file(path, n):
    path.write_text(json.dumps({"directed": False, "nodes": list(range(n)),
                                "edges": [[i, i + 1] for i in range(n - 1)]}))
    return path


@pytest.mark.fault("a graph file of 10,000 vertices", outcome="refused up front, one line naming the file and the "
                   "bound 1,000; no network built", exit=2, section=SECTION)
def test_a_graph_file_beyond_the_vertex_bound_is_refused_before_any_network(tmp_path, capsys, monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("a network was built")

    monkeypatch.setattr(structure, "GraphRNN", no_network)
    monkeypatch.setattr(structure, "GraphRNNStack", no_network)
    big = path_graph_file(tmp_path / "big.json", 10_000)
    config = write_config(tmp_path, "structure")
    start = time.perf_counter()
    refused(capsys, ["run", str(config), "--set", f"structure.files=[{json.dumps(str(big))}]",
                     "--set", "structure.generators=[]"],
            tmp_path / "out", "structure.files", "big.json", "10,000 vertices", "at most 1,000")
    assert time.perf_counter() - start < 10


def test_a_graph_file_at_the_vertex_bound_is_accepted(tmp_path):
    graph = path_graph_file(tmp_path / "g.json", structure.MAX_VERTICES)
    config = study_config.study_from_dict({"seeds": [0], "kind": "structure",
                                           "structure": {"generators": [], "files": [str(graph)]}})
    structure.check_structure(config)


# ---------------------------------------------------------------------------------------
# CSV labels


def labels_file(tmp_path, second):
    path = tmp_path / "labels.csv"
    rows = [("BTXSE", "1"), ("BTTE", "1"), ("BPVVE", second), ("BTXXTTVVE", second)]
    path.write_text("string,valid\n" + "".join(f"{s},{v}\n" for s, v in rows))
    return path


@pytest.mark.parametrize("spelling", [
    pytest.param("1.0", id="1.0", marks=pytest.mark.fault(
        "CSV labels 1 and 1.0", outcome="refused up front, one line naming the file, both spellings and "
        "their lines", exit=2, section=SECTION)),
    pytest.param("01", id="01", marks=pytest.mark.fault(
        "CSV labels 1 and 01", outcome="refused up front, one line naming the file, both spellings and "
        "their lines", exit=2, section=SECTION)),
    pytest.param("+1", id="+1", marks=pytest.mark.fault(
        "CSV labels 1 and +1", outcome="refused up front, one line naming the file, both spellings and "
        "their lines", exit=2, section=SECTION)),
])
def test_csv_labels_that_are_one_number_spelled_twice_are_refused(tmp_path, capsys, spelling):
    path = labels_file(tmp_path, spelling)
    refused(capsys, [*TRAIN, "--dataset", str(path)], tmp_path / "out",
            str(path), "lines 2 and 4", f"'1' and '{spelling}'", "column 'valid'", "same number")


def test_csv_label_spellings_are_refused_among_more_values_too(tmp_path):
    path = tmp_path / "three.csv"
    path.write_text("string,valid\nBTXSE,0\nBTTE,1\nBPVVE,1.00\n")
    with pytest.raises(InputError, match=r"lines 3 and 4: labels '1' and '1.00' in column 'valid' are the same"):
        load_csv(path)


def test_csv_labels_with_surrounding_spaces_are_one_class(tmp_path):
    path = tmp_path / "spaces.csv"
    path.write_text("string,valid\nBTXSE, 1\nBTTE,0\nBPVVE,1 \n")
    data, classes = load_csv(path)
    assert classes == ("0", "1") and data.labels.tolist() == [1, 0, 1]


# ---------------------------------------------------------------------------------------
# Exploding losses


@pytest.fixture(scope="module")
def data():
    splits = reber_dataset(200, seed=0)
    vocab = Vocabulary.from_strings(splits.train.strings)
    return vocab, encode_split(vocab, splits.train), encode_split(vocab, splits.test)


class OffsetAfter(nn.Module):
    """Wraps a model; from its ``n``-th training call on, its logits are shifted by
    ``(+offset, -offset)``: every string of class 1 then costs about ``2 * offset``."""

    def __init__(self, model, n, offset):
        super().__init__()
        self.model, self.n, self.offset, self.calls = model, n, offset, 0

    def forward(self, inputs, lengths):
        logits = self.model(inputs, lengths)  # (B, 2)
        if self.training:
            self.calls += 1
            if self.calls >= self.n:
                return logits + torch.tensor([self.offset, -self.offset])
        return logits


def small_model(vocab):
    torch.manual_seed(0)
    return SequenceClassifier("gru", len(vocab), hidden_sizes=(6,), embedding_dim=4)


@pytest.mark.fault("a finite loss 10^6 times its start (clip: null)", outcome="stops as diverged, finished epochs "
                   "kept", exit=None, section=SECTION)
def test_an_exploding_finite_loss_stops_the_run_as_diverged(data):
    vocab, train, test = data
    batches = -(-len(train) // 16)
    model = OffsetAfter(small_model(vocab), n=batches + 3, offset=1e6)  # in the second epoch
    result = fit(model, train, test, TrainingConfig(epochs=4, batch_size=16, clip=None), seed=0)
    assert result.status == "diverged"
    assert [row["epoch"] for row in result.epochs] == [0, 1]  # finished epochs kept, as for NaN
    assert model.calls == batches + 3  # stopped at the first exploding batch


def test_a_loss_spike_below_the_limit_is_not_divergence(data):
    """A model retrained from near-perfect: its limit is 10^4 x ln 2, not 10^4 x its tiny loss."""
    vocab, train, test = data
    assert divergence_limit(1e-6) == divergence_limit(float("inf")) == pytest.approx(6931.47, abs=0.01)
    model = OffsetAfter(small_model(vocab), n=2, offset=20.0)  # about 40 per class-1 string, far below the limit
    result = fit(model, train, test, TrainingConfig(epochs=2, batch_size=16, clip=None), seed=0)
    assert result.status == "done" and len(result.epochs) == 3
    assert result.epochs[1]["train_loss"] > 10 * result.epochs[0]["train_loss"]


@pytest.mark.fault("one pack member's finite loss explodes", outcome="that member diverges as fit alone would, "
                   "the others train on", exit=None, section=SECTION)
def test_an_exploding_pack_member_diverges_as_it_would_alone(data):
    vocab, train, test = data
    torch.manual_seed(0)
    dags = [to_dag(watts_strogatz(6, 2, 1.0, seed=g), "index") for g in range(3)]
    members = [GraphRNN(dag, "gru", len(vocab), embedding_dim=3) for dag in dags]
    alone_models = [GraphRNN(dag, "gru", len(vocab), embedding_dim=3) for dag in dags]
    for model, member in zip(alone_models, members):
        model.load_state_dict(member.state_dict())
    config = TrainingConfig(epochs=2, batch_size=32, clip=None)

    def explode(bias):
        def on_batch(epoch, done, total):
            if (epoch, done) == (1, 2):
                with torch.no_grad():
                    bias[0], bias[1] = 1e7, -1e7
        return on_batch

    alone = [fit(m, train, test, config, seed=3, on_batch=explode(m.readout.bias) if g == 1 else None)
             for g, m in enumerate(alone_models)]
    assert [r.status for r in alone] == ["done", "diverged", "done"]
    pack = GraphRNNPack(members)
    owned = (pack.owners["readout.bias"] == 1).nonzero().flatten()

    def on_batch(epoch, done, total):
        if (epoch, done) == (1, 2):
            with torch.no_grad():
                pack.readout.bias[owned[0]], pack.readout.bias[owned[1]] = 1e7, -1e7

    results = fit_pack(pack, train, test, config, seed=3, on_batch=on_batch)
    assert [r.status for r in results] == ["done", "diverged", "done"]
    assert [len(r.epochs) for r in results] == [len(r.epochs) for r in alone] == [3, 1, 3]


@pytest.mark.slow
@pytest.mark.fault("sparsernn train with lr 10 and no clipping (loss 10^9)", outcome="trial stored as diverged, "
                   "not done", exit=0, section=SECTION)
def test_an_exploding_training_run_is_stored_as_diverged(tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["train", "--cell", "rnn_relu", "--num-strings", "100", "--hidden", "4", "--embedding", "4",
                 "--epochs", "3", "--lr", "10", "--clip", "0", "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    db = sqlite3.connect(f"file:{out / 'results.sqlite'}?mode=ro", uri=True)
    try:
        assert db.execute("SELECT status FROM runs").fetchall() == [("diverged",)]
    finally:
        db.close()
