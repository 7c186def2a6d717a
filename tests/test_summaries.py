"""Summaries of one output directory holding several studies and reruns never pool them."""

import json

import pytest

from sparsernn.cli import main
from sparsernn.store import Store

TINY = ["--set", "cells=[rnn_tanh]", "--seeds", "2", "--set", "data.num_strings=200", "--set", "model.hidden_sizes=[4]",
        "--set", "model.embedding_dim=4", "--set", "training.epochs=1", "--set", "pruning.sparsities=[0.5]",
        "--set", "pruning.retrain_epochs=1"]


def cli(*args):
    return main([str(a) for a in args])


def write_study(path, name):
    config = {"name": name, "kind": "pruning", "seeds": [0], "pruning": {"targets": ["both"]}}
    path.write_text(json.dumps(config))  # JSON is YAML
    return path


@pytest.mark.slow
def test_two_learning_rates_and_a_rerun_stay_apart(tmp_path, capfd):
    out = tmp_path / "out"
    study_a, study_b = write_study(tmp_path / "a.yaml", "a"), write_study(tmp_path / "b.yaml", "b")
    assert cli("run", study_a, *TINY, "--set", "training.lr=0.001", "--workers", 1, "--out", out) == 0
    assert cli("run", study_b, *TINY, "--set", "training.lr=0.05", "--workers", 1, "--out", out) == 0
    # the same study name rerun with other epochs: a different experiment under one name
    assert cli("run", study_a, *TINY, "--set", "training.lr=0.001", "--set", "training.epochs=2",
               "--workers", 1, "--out", out) == 0
    capfd.readouterr()

    assert cli("results", out, "--summary", "pruning", "--markdown", tmp_path / "s.md", "--columns",
               "configuration,cell,level,seeds,pruned_acc_seeds,recovered") == 0
    captured = capfd.readouterr()
    assert "study 'a' holds dense trials with 2 different settings (training.epochs: 1, 2)" in captured.err
    assert "warning" in captured.err and "study 'b'" not in captured.err
    rows = [line for line in (tmp_path / "s.md").read_text().splitlines() if "| rnn_tanh |" in line]
    config_rows = [line for line in rows if line.count("|") == 7]
    assert len(config_rows) == 3  # a (1 epoch), a (2 epochs), b: one row each ...
    assert all("| 2 |" in line for line in config_rows)  # ... of 2 seeds, never 4 or 6
    assert len({line.split("|")[1] for line in config_rows}) == 3  # three configuration labels

    with Store(out, create=False) as store:
        runs = store.runs()
    children = runs[runs["kind"] == "pruning"]
    assert children.groupby("configuration")["seed"].apply(sorted).tolist() == [[0, 1]] * 3

    # --study keeps one study's trials only, and names the studies when it is wrong
    assert cli("results", out, "--study", "b", "--summary", "pruning", "--columns", "configuration,seeds") == 0
    captured = capfd.readouterr()
    assert "b:" in captured.out and "a:" not in captured.out and captured.err == ""
    assert cli("status", out, "--study", "b") == 0
    assert " a " not in capfd.readouterr().out
    assert cli("status", out, "--study", "nope") == 2
    assert capfd.readouterr().err.strip() == (f"sparsernn: error: No study 'nope' in {str(out)!r}; "
                                              "it holds 'a', 'b'.")
    assert cli("analyze", out, "--study", "nope") == 2


@pytest.mark.slow
def test_tables_fit_80_columns_with_distinct_headers():
    import os
    import subprocess
    import sys
    from pathlib import Path

    results = Path(__file__).resolve().parent.parent / "docs" / "results"
    recorded, structure = results / "thesis-pruning-grammar", results / "thesis-structure"
    env = {**os.environ, "COLUMNS": "80"}
    for args in (["results", recorded], ["results", recorded, "--summary", "pruning"], ["status", recorded],
                 ["analyze", structure, "--repeats", "1", "--folds", "2", "--by", "dag_sources"]):
        done = subprocess.run([sys.executable, "-m", "sparsernn.cli", *map(str, args)], env=env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        lines = done.stdout.splitlines()
        assert max(map(len, lines)) <= 80
        assert "…" not in done.stdout  # nothing cut short
        for i, line in enumerate(lines):
            if line.lstrip().startswith("─"):  # the header row is the one above the rule
                header = lines[i - 1].split()
                assert len(header) == len(set(header)), header
