"""The command line: real runs, and bad input ending in one line and exit status 2."""

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from sparsernn.cli import main
from sparsernn.store import DB_NAME, Store

SMALL = ["--num-strings", "400", "--hidden", "8,8", "--embedding", "8", "--epochs", "2"]


def cli(*args):
    return main([str(a) for a in args])


def fail_line(capfd, *args):
    """Run the CLI expecting bad input; return its one line of stderr."""
    assert cli(*args) == 2
    err = capfd.readouterr().err.strip()
    assert "Traceback" not in err
    assert len(err.splitlines()) == 1, err
    assert err.startswith("sparsernn: error: ")
    return err


@pytest.mark.slow
def test_train_stores_runs_and_epochs(tmp_path, capfd):
    out = tmp_path / "out"
    assert cli("train", "--cell", "gru", *SMALL, "--seed", "3", "--out", out) == 0
    with Store(out, create=False) as store:
        epochs, runs = store.epochs(), store.runs()
    assert runs["status"].tolist() == ["done"]
    assert epochs["epoch"].tolist() == [0, 1, 2]
    assert set(epochs["cell"]) == {"gru"} and set(epochs["seed"]) == {3}
    assert (out / "checkpoints" / f"{runs.run_id[0]}.pt").exists()


@pytest.mark.slow
def test_same_seed_gives_identical_metrics(tmp_path):
    metrics = ["train_loss", "train_acc", "test_loss", "test_acc", "nonzero_params"]
    frames = []
    for name in ("a", "b"):
        assert cli("train", "--cell", "lstm", *SMALL, "--seed", "7", "--out", tmp_path / name) == 0
        with Store(tmp_path / name, create=False) as store:
            frames.append(store.epochs()[metrics])
    pd.testing.assert_frame_equal(frames[0], frames[1], check_exact=True)
    assert cli("train", "--cell", "lstm", *SMALL, "--seed", "8", "--out", tmp_path / "c") == 0
    with Store(tmp_path / "c", create=False) as store:
        assert not store.epochs()[metrics].equals(frames[0])


def test_rerun_skips_finished_trials(tmp_path, capfd):
    args = ("train", "--cell", "rnn_relu", *SMALL, "--out", tmp_path)
    assert cli(*args) == 0
    capfd.readouterr()
    assert cli(*args) == 0
    assert "1 already finished, 0 to run" in capfd.readouterr().out
    with Store(tmp_path, create=False) as store:
        assert len(store.runs()) == 1 and len(store.epochs()) == 3


def test_results_summary_and_csv(tmp_path, capfd):
    assert cli("train", "--cell", "rnn_tanh", *SMALL, "--out", tmp_path) == 0
    capfd.readouterr()
    assert cli("results", tmp_path) == 0
    assert "rnn_tanh" in capfd.readouterr().out
    assert cli("results", tmp_path, "--csv", tmp_path / "flat.csv") == 0
    df = pd.read_csv(tmp_path / "flat.csv", float_precision="round_trip")  # the written digits, exactly
    expected = ["run_id", "study", "kind", "parent", "configuration", "cell", "dataset", "seed", "target",
                "target_sparsity", "model_sparsity", "phase", "epoch", "train_loss", "train_acc", "test_loss",
                "test_acc", "nonzero_params", "total_params", "seconds", "status", "finished"]
    assert set(expected) <= set(df.columns)
    assert len(df) == 3 and (df["target_sparsity"] == 0).all() and (df["model_sparsity"] == 0).all()
    assert all(pd.Timestamp(t).tz is not None and "T" in t and t.endswith("Z") for t in df["finished"])
    assert cli("results", tmp_path, "--parquet", tmp_path / "flat.parquet") == 0
    from_parquet = pd.read_parquet(tmp_path / "flat.parquet")
    same = [c for c in expected if c != "finished"]
    pd.testing.assert_frame_equal(from_parquet[same].astype(str), df[same].astype(str))
    assert (from_parquet["finished"].dt.floor("us") == pd.to_datetime(df["finished"])).all()
    assert from_parquet["test_acc"].tolist() == df["test_acc"].tolist()
    capfd.readouterr()
    assert cli("results", tmp_path, "--csv", "-") == 0  # standard output, the rows only
    import io
    pd.testing.assert_frame_equal(pd.read_csv(io.StringIO(capfd.readouterr().out), float_precision="round_trip"), df)
    assert not (Path.cwd() / "-").exists()


def test_no_arguments_prints_help(capfd):
    assert cli() == 0
    assert "Commands:" in capfd.readouterr().out


def test_datasets_lists_built_ins(capfd, monkeypatch):
    monkeypatch.setenv("COLUMNS", "250")
    assert cli("datasets") == 0
    out = capfd.readouterr().out
    rows = {line.split("│")[1].strip(): [c.strip() for c in line.split("│")[2:-1]]
            for line in out.splitlines() if line.startswith("│")}
    assert rows["reber"][:5] == ["classify", "symbols", "2", "18,750", "-"]
    assert rows["pydoc-topics"][:3] == ["language_model", "symbols", "103"]
    assert rows["digits"][6] == "8 / 8 / 8" and rows["digits"][:4] == ["classify", "vectors", "10", "1,348"]
    assert rows["embedded-reber-next"][0] == "next_symbols"


@pytest.mark.slow
def test_train_a_language_model_and_sample_from_it(tmp_path, capfd):
    assert cli("train", "--cell", "gru", "--dataset", "pydoc-topics", "--hidden", "16", "--embedding", "8",
               "--epochs", "1", "--lr", "0.01", "--set", "data.chunk_length=50", "--out", tmp_path) == 0
    capfd.readouterr()
    (checkpoint,) = (tmp_path / "checkpoints").glob("*.pt")
    assert cli("sample", checkpoint, "--length", "40", "--seed", "3", "--prompt", "The ") == 0
    text = capfd.readouterr().out.rstrip("\n")
    assert text.startswith("The ") and len(text) == 44
    assert cli("sample", checkpoint, "--length", "40", "--seed", "3", "--prompt", "The ") == 0
    assert capfd.readouterr().out.rstrip("\n") == text  # seeded
    strings = tmp_path / "new.txt"
    strings.write_text("The cat\n")
    assert "this model reads out every step" in fail_line(capfd, "predict", checkpoint, "--input", strings)


@pytest.mark.slow
def test_run_with_a_yaml_config(tmp_path, capfd):
    config = tmp_path / "study.yaml"
    config.write_text(
        "name: tiny\ncells: [rnn_tanh, gru]\nseeds: [0, 1]\n"
        "data: {num_strings: 200}\nmodel: {embedding_dim: 4, hidden_sizes: [4]}\ntraining: {epochs: 1}\n"
    )
    assert cli("run", config, "--out", tmp_path / "out") == 0
    with Store(tmp_path / "out", create=False) as store:
        runs = store.runs()
    assert sorted(zip(runs["cell"], runs["seed"])) == [("gru", 0), ("gru", 1), ("rnn_tanh", 0), ("rnn_tanh", 1)]
    assert (runs["status"] == "done").all()


@pytest.mark.parametrize(
    "args, expected",
    [
        (["train", "--cell", "transformer"], "'transformer' is not one of"),
        (["train", "--dataset", "nosuchdata"], "unknown dataset 'nosuchdata'"),
        (["train", "--hidden", "50,0"], "positive integers"),
        (["train", "--hidden", "fifty"], "positive integers"),
        (["train", "--epochs", "-1"], "training.epochs"),
        (["train", "--batch-size", "0"], "training.batch_size"),
        (["train", "--lr", "0"], "training.lr"),
        (["run", "--preset", "nope"],
         "'nope' is not one of 'lm-pruning', 'quick', 'thesis-compare', 'thesis-prune-structure', 'thesis-pruning', "
         "'thesis-structure', 'timeseries-compare', 'timeseries-prune-structure', 'timeseries-pruning'"),
        (["run", "--executor", "ray"], "--executor ray needs --address"),
        (["run", "--executor", "ray", "--address", "nohostport"], "HOST:PORT or 'local'"),
        (["run", "--address", "127.0.0.1:6379"], "--address is for --executor ray"),
        (["run", "--workers", "0"], "0 is not in the range x>=1"),
        (["results", "/nonexistent/dir"], "No results database"),
        (["frobnicate"], "No such command"),
    ],
)
def test_bad_arguments(tmp_path, capfd, args, expected):
    err = fail_line(capfd, *args, *(["--out", tmp_path / "out"] if args[0] in ("train", "run") else []))
    assert expected in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "content, expected",
    [
        ("", "empty"),
        ("BTXSE,1\nBPVVE,1\n", "header"),
        ("seq,valid\nBTXSE,1\n", "'string'"),
        ("string,valid\nBTXSE,1\nBPVVE,1\nBTSXSE,1\n", "two classes"),
        ("string,valid\nBTXSE,1\nBPVVE,0\nBTSXSE,2\n", "two classes"),
        ("string,valid\nBTXSE,1\n,0\n", "line 3"),
        ("string,valid\nBTXSE,1\nstring , valid\nBPVVE,0\n", "line 3: the header row again"),
    ],
)
def test_bad_csv_files(tmp_path, capfd, content, expected):
    path = tmp_path / "data.csv"
    path.write_text(content)
    err = fail_line(capfd, "train", "--dataset", path, "--out", tmp_path / "out")
    assert expected in err and "data.csv" in err
    assert not (tmp_path / "out").exists()


def test_unwritable_output_dir_is_reported_before_anything_is_written(tmp_path, capfd):
    blocker = tmp_path / "file"
    blocker.write_text("keep me")
    err = fail_line(capfd, "train", *SMALL, "--out", blocker)
    assert "not a directory" in err
    assert blocker.read_text() == "keep me"


def test_a_corrupt_database_is_reported_and_left_alone(tmp_path, capfd):
    (tmp_path / DB_NAME).write_bytes(b"garbage" * 50)
    err = fail_line(capfd, "train", *SMALL, "--out", tmp_path)
    assert "not a sparsernn results database" in err
    assert (tmp_path / DB_NAME).read_bytes() == b"garbage" * 50


@pytest.mark.slow
def test_console_script_exit_status_and_single_line():
    proc = subprocess.run([sys.executable, "-m", "sparsernn.cli", "train", "--hidden", "0"],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()] and "Traceback" not in proc.stderr


@pytest.mark.slow
def test_lstm_reaches_098_on_reber_in_three_epochs(tmp_path):
    assert cli("train", "--cell", "lstm", "--dataset", "reber", "--hidden", "50,50,50", "--epochs", "3",
               "--seed", "0", "--out", tmp_path) == 0
    with Store(tmp_path, create=False) as store:
        epochs = store.epochs()
    trained = epochs[epochs["epoch"] >= 1]  # epoch 0 is the untrained model
    assert len(trained) == 3 and trained["test_acc"].max() >= 0.98, epochs[["epoch", "test_acc"]]


@pytest.mark.slow
def test_run_overrides_and_pruning_summary(tmp_path, capfd):
    out = tmp_path / "out"
    args = ["run", "--preset", "quick", "--seeds", "2", "--set", "cells=[rnn_relu]", "--set", "data.num_strings=200",
            "--set", "model.hidden_sizes=[4]", "--set", "model.embedding_dim=4", "--set", "training.epochs=1",
            "--set", "pruning.sparsities=[0.5, 1.0]", "--set", "compare.budgets=[32]",  # all a 1x4 RNN has
            "--set", "compare.families=[small_dense]", "--set", "prune_structure.structure.graphs=1", "--out", out]
    assert cli(*args) == 0
    with Store(out, create=False) as store:
        runs = store.runs()
    assert sorted(runs["seed"].unique()) == [0, 1] and set(runs["cell"]) == {"rnn_relu"}
    assert sorted(runs[runs["kind"] == "pruning"]["target_sparsity"]) == [0.5, 0.5, 1.0, 1.0]
    assert set(runs["study"]) == {"quick-pruning", "quick-structure", "quick-compare", "quick-prune_structure"}
    structure = runs[runs["study"] == "quick-structure"]
    assert (runs["status"] == "done").all() and (structure["kind"] == "structure").sum() == 2 * 2 * 3
    capfd.readouterr()
    assert cli("results", out, "--summary", "pruning", "--markdown", tmp_path / "summary.md") == 0
    text = capfd.readouterr().out
    assert "maximum sparsity per seed" in text and "/2 " in text
    markdown = (tmp_path / "summary.md").read_text()
    assert markdown.count("| rnn_relu | both |") == 3 + 2  # 2 sparsities, the curve's maximum sparsity, 2 by level


@pytest.mark.parametrize(
    "override, expected",
    [("training.epochs", "--set expects key=value"), ("training.nope=1", "training.nope: unknown key"),
     ("pruning.sparsities=[2]", "pruning.sparsities"), ("seeds=[", "not valid YAML")],
)
def test_bad_overrides(tmp_path, capfd, override, expected):
    err = fail_line(capfd, "run", "--set", override, "--out", tmp_path / "out")
    assert expected in err
    assert not (tmp_path / "out").exists()


def test_pruning_summary_without_pruning_trials(tmp_path, capfd):
    assert cli("train", "--cell", "rnn_tanh", *SMALL, "--out", tmp_path) == 0
    capfd.readouterr()
    assert "No finished pruning trials" in fail_line(capfd, "results", tmp_path, "--summary", "pruning")


@pytest.mark.slow
def test_analyze_a_structure_study(tmp_path, capfd):
    config = tmp_path / "s.yaml"
    config.write_text("name: s\nkind: structure\ncells: [rnn_tanh]\nseeds: [0]\ndata: {num_strings: 160}\n"
                      "model: {embedding_dim: 3}\ntraining: {epochs: 1}\nstructure: {graphs: 4, sizes: [5, 12]}\n")
    assert cli("run", config, "--out", tmp_path / "out") == 0
    capfd.readouterr()
    assert cli("analyze", tmp_path / "out", "--repeats", "1", "--folds", "2", "--csv-dir", tmp_path / "tables",
               "--by", "dag_sources") == 0
    out = capfd.readouterr().out
    assert "rnn_tanh: correlation of graph properties" in out and "bayesian_ridge" in out
    table = pd.read_csv(tmp_path / "tables" / "structure_trials.csv")
    assert len(table) == 8 and {"test_acc", "dag_sources", "undirected_diameter"} <= set(table.columns)
    assert len(pd.read_csv(tmp_path / "tables" / "cv_r2_rnn_tanh.csv")) == 4
    accuracy = pd.read_csv(tmp_path / "tables" / "accuracy.csv").set_index("generator")
    for generator, group in table.groupby("generator"):
        row = accuracy.loc[generator]
        assert row["graphs"] == 4 and row["mean"] == pytest.approx(group["test_acc"].mean())
        assert group["test_acc"].min() <= row["low"] <= row["high"] <= group["test_acc"].max()
    by_sources = pd.read_csv(tmp_path / "tables" / "accuracy_by_dag_sources.csv")
    assert by_sources["graphs"].sum() == 8
    assert "unknown graph property 'nope'" in fail_line(capfd, "analyze", tmp_path / "out", "--by", "nope")


def test_analyze_without_structure_trials(tmp_path, capfd):
    assert cli("train", "--cell", "rnn_tanh", *SMALL, "--out", tmp_path) == 0
    capfd.readouterr()
    assert "No finished structure or prune_structure trials" in fail_line(capfd, "analyze", tmp_path)


def test_config_show_prints_a_preset_that_loads_back(tmp_path, capfd):
    assert cli("config", "show", "thesis-pruning") == 0
    path = tmp_path / "study.yaml"
    path.write_text(capfd.readouterr().out)
    from sparsernn.studies import load_study, preset

    assert load_study(path) == preset("thesis-pruning")
    assert cli("config", "show", "quick") == 0
    path.write_text(capfd.readouterr().out)
    from sparsernn.studies import load_studies, preset_studies

    assert load_studies(path) == preset_studies("quick")


def test_status_counts_trials_by_status(tmp_path, capfd):
    assert cli("train", "--cell", "gru", *SMALL, "--out", tmp_path) == 0
    capfd.readouterr()
    assert cli("status", tmp_path) == 0
    out = capfd.readouterr().out
    assert "train" in out and "dense" in out and "done" in out and "left" not in out
    assert "No results database" in fail_line(capfd, "status", tmp_path / "nothing")


def test_status_shows_trials_of_an_ended_run_as_interrupted(tmp_path, capfd, monkeypatch):
    from sparsernn import cli as module
    from sparsernn.store import OutputLock

    monkeypatch.setattr(module.console, "width", 300)  # whole headers and path on one line
    with Store(tmp_path) as store:
        store.add_runs([{"run_id": "a", "study": "s", "kind": "dense", "config": {"seed": 0}}])
        store.start_run("a", {})  # then the run was killed
    assert cli("status", tmp_path) == 0
    out = capfd.readouterr().out
    assert "interrupted" in out and "running" not in out
    with OutputLock(tmp_path):  # a run holds the directory: its trial is running
        assert cli("status", tmp_path) == 0
    out = capfd.readouterr().out
    assert "running" in out and "interrupted" not in out and "a run is in progress: PID" in out


CYCLIC = '{"directed": true, "nodes": ["x", "y"], "edges": [["x", "y"], ["y", "x"]]}'


@pytest.mark.parametrize(
    "name, content, structure, expected",
    [
        ("missing.json", None, "", "cannot read graph file"),
        ("edges.txt", "0 1\n1 2\n", "", "neither GraphML nor edge-list JSON"),
        ("empty.graphml", ('<?xml version="1.0"?><graphml xmlns="http://graphml.graphdrawing.org/xmlns">'
                           '<graph edgedefault="undirected"/></graphml>'), "", "empty graph"),
        ("cyclic.json", CYCLIC, "", "cycle x -> y -> x"),
        ("dead.json", '{"directed": true, "nodes": [0, 1, 2], "edges": [[0, 1]]}', ", readout: last_layer",
         "vertex 2 cannot reach the last layer"),
    ],
)
def test_bad_graph_files_in_a_structure_study(tmp_path, capfd, name, content, structure, expected):
    (tmp_path / "study").mkdir()
    if content is not None:
        (tmp_path / "study" / name).write_text(content)
    config = tmp_path / "study" / "s.yaml"
    config.write_text(f"kind: structure\nseeds: [0]\nstructure: {{generators: [], files: [{name}]{structure}}}\n")
    err = fail_line(capfd, "run", config, "--out", tmp_path / "out")
    assert expected in err and "structure.files: " in err and name in err
    assert not (tmp_path / "out" / DB_NAME).exists()


def test_graph_files_given_with_set_are_read_from_the_current_directory(tmp_path, capfd, monkeypatch):
    for directory in ("study", "here"):
        (tmp_path / directory).mkdir()
    (tmp_path / "study" / "s.yaml").write_text("kind: structure\nseeds: [0]\n")
    (tmp_path / "study" / "cyclic.json").write_text('{"directed": false, "nodes": [], "edges": []}')  # not this one
    (tmp_path / "here" / "cyclic.json").write_text(CYCLIC)
    monkeypatch.chdir(tmp_path / "here")
    err = fail_line(capfd, "run", tmp_path / "study" / "s.yaml", "--set", "structure.files=[cyclic.json]",
                    "--out", tmp_path / "out")
    assert "graph file 'cyclic.json' holds a directed graph with the cycle x -> y -> x" in err
    assert not (tmp_path / "out" / DB_NAME).exists()


@pytest.mark.slow
def test_analyze_two_structure_studies_one_over_graph_files(tmp_path, capfd):
    import json

    (tmp_path / "g1.json").write_text(json.dumps({"directed": True, "nodes": [0, 1, 2], "edges": [[0, 1], [1, 2]]}))
    (tmp_path / "g2.json").write_text(json.dumps({"directed": False, "nodes": [0, 1, 2, 3],
                                                  "edges": [[0, 1], [1, 2], [2, 3], [0, 3]]}))
    (tmp_path / "g3.json").write_text(json.dumps({"directed": True, "nodes": [0, 1, 2], "edges": [[0, 2], [1, 2]]}))
    config = tmp_path / "s.yaml"
    common = "cells: [gru]\nseeds: [0]\ndata: {num_strings: 160}\nmodel: {embedding_dim: 3}\ntraining: {epochs: 1}\n"
    config.write_text(f"name: gen\nkind: structure\n{common}structure: {{graphs: 3, sizes: [5, 9], pack: 3}}\n---\n"
                      f"name: mine\nkind: structure\n{common}"
                      "structure: {generators: [], files: [g1.json, g2.json, g3.json]}\n")
    assert cli("run", config, "--out", tmp_path / "out") == 0
    capfd.readouterr()
    assert cli("analyze", tmp_path / "out", "--repeats", "1", "--folds", "2", "--csv-dir", tmp_path / "tables",
               "--markdown", tmp_path / "tables.md") == 0
    out = capfd.readouterr().out
    assert "gen, gru: correlation" in out and "mine, gru: correlation" in out
    trials = pd.read_csv(tmp_path / "tables" / "structure_trials.csv")
    mine = trials[trials["study"] == "mine"]
    assert sorted(mine["graph_file"]) == ["g1.json", "g2.json", "g3.json"] and set(mine["generator"]) == {"file"}
    assert (tmp_path / "tables" / "cv_r2_mine_gru.csv").exists()
    assert (tmp_path / "tables.md").read_text().count("### ") == 5  # accuracy, then 2 per study
    assert cli("analyze", tmp_path / "out", "--repeats", "1", "--folds", "2", "--per-generator",
               "--csv-dir", tmp_path / "by_generator") == 0
    assert "gen, gru, barabasi_albert: correlation" in capfd.readouterr().out
    assert (tmp_path / "by_generator" / "cv_r2_mine_gru_file.csv").exists()


def test_live_progress_counts_running_and_failed_trials(monkeypatch):
    import io

    from rich.console import Console

    from sparsernn import cli as cli_module
    from sparsernn.studies import StudyConfig, TrialResult, expand

    screen = io.StringIO()
    monkeypatch.setattr(cli_module, "console", Console(file=screen, force_terminal=True, color_system=None, width=150))
    config = StudyConfig(name="p", seeds=[0, 1], cells=["gru"])
    a, b = expand(config)
    reporter = cli_module.ProgressReporter(verbose=True)
    reporter.study_started(config, total=2, todo=2)
    reporter.trial_started(a)
    reporter.trial_started(b)
    assert reporter.running == 2 and reporter.bars == {}  # bars appear with the first batch
    reporter.batch_finished(a, 1, 3, 10)
    assert list(reporter.bars) == [a.id]
    row = dict(phase="train", epoch=1, train_loss=0.5, train_acc=0.75, test_acc=0.8, seconds=1.0)
    reporter.epoch_finished(b, row)
    reporter.trial_finished(a, TrialResult("done", epochs=[row], seconds=2.0))
    reporter.trial_finished(b, TrialResult("failed", error="RuntimeError: boom", seconds=1.0))
    assert (reporter.running, reporter.failed, reporter.bars) == (0, 1, {})
    task = reporter.progress.tasks[0]
    assert task.completed == 2 and "0 running" in task.description and "1 failed" in task.description
    reporter.close()
    text = screen.getvalue()
    assert "gru seed=1 train epoch 1: train_loss=0.5000" in text
    assert "gru seed=0: done test_acc=0.8000" in text and "gru seed=1: failed RuntimeError: boom" in text


def test_a_bad_graph_file_in_a_later_study_stops_the_run_before_the_first(tmp_path, capfd):
    config = tmp_path / "two.yaml"
    config.write_text("name: a\nkind: dense\ncells: [gru]\nseeds: [0]\ndata: {num_strings: 160}\n"
                      "model: {embedding_dim: 3, hidden_sizes: [3]}\ntraining: {epochs: 1}\n---\n"
                      "name: b\nkind: structure\ncells: [gru]\nseeds: [0]\n"
                      "structure: {generators: [], files: [missing.json]}\n")
    err = fail_line(capfd, "run", config, "--out", tmp_path / "out")
    assert "missing.json" in err
    assert not (tmp_path / "out").exists()


def test_train_reads_other_csv_columns_and_takes_set(tmp_path, capfd):
    path = tmp_path / "data.csv"
    rows = [("BTXSE", "yes"), ("BPVVE", "no")] * 20
    path.write_text("seq,kind\n" + "".join(f"{s},{k}\n" for s, k in rows))
    assert "--string-column" in fail_line(capfd, "train", "--dataset", path, "--out", tmp_path / "bad")
    assert cli("train", "--dataset", path, "--string-column", "seq", "--label-column", "kind", "--hidden", "4",
               "--embedding", "4", "--epochs", "1", "--set", "data.test_fraction=0.5", "--out", tmp_path / "out") == 0
    with Store(tmp_path / "out", readonly=True) as store:
        config = store.runs()["config"].item()
    assert '"string_column": "seq"' in config and '"test_fraction": 0.5' in config


def test_the_time_left_follows_the_pace_of_the_whole_run(monkeypatch):
    import io

    from rich.console import Console

    from sparsernn import cli as cli_module
    from sparsernn.studies import StudyConfig, TrialResult, expand

    clock = [100.0]
    monkeypatch.setattr(cli_module.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(cli_module, "console", Console(file=io.StringIO(), force_terminal=True, width=150))
    config = StudyConfig(name="p", seeds=[0, 1, 2, 3, 4, 5], cells=["gru"])
    trials = expand(config)
    reporter = cli_module.ProgressReporter()
    reporter.study_started(config, total=6, todo=6)
    task = reporter.progress.tasks[0]
    for trial in trials[:2]:
        reporter.trial_started(trial)
    assert "workers starting" in task.description and task.fields["eta"] == ""
    clock[0] = 110.0  # the workers took 10 s to start: not counted in the pace
    reporter.batch_finished(trials[0], 1, 1, 10)
    assert "workers starting" not in task.description
    clock[0] = 130.0  # two trials finish together, 20 s after the first batch: 4 left at 10 s each
    for trial in trials[:2]:
        reporter.trial_finished(trial, TrialResult("done", seconds=20.0))
    assert task.fields["eta"] == "about 0:40 left"
    reporter.close()
    assert cli_module.time_left(finished=0, left=3, seconds=5.0) is None
