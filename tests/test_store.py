import sqlite3

import pytest

from sparsernn.errors import InputError
from sparsernn.store import DB_NAME, Store, check_output_dir

CSV_COLUMNS = [
    "run_id", "study", "kind", "parent", "configuration", "cell", "dataset", "seed", "target", "target_sparsity",
    "model_sparsity", "phase", "epoch", "train_loss", "train_acc", "test_loss", "test_acc", "val_loss", "val_acc",
    "nonzero_params", "total_params", "seconds", "status", "finished",
]


def run(run_id, cell="lstm", seed=0):
    return {"run_id": run_id, "study": "s", "kind": "dense",
            "config": {"cell": cell, "seed": seed, "data": {"dataset": "reber"}}}


def epoch(e, acc, phase="train", **extra):
    return dict(phase=phase, epoch=e, train_loss=1.0 / (e + 1), train_acc=acc, test_loss=0.5, test_acc=acc,
                nonzero_params=10, total_params=20, seconds=0.1, **extra)


def test_database_is_wal_sqlite(tmp_path):
    Store(tmp_path).close()
    conn = sqlite3.connect(tmp_path / DB_NAME)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_add_runs_ignores_runs_already_present(tmp_path):
    with Store(tmp_path) as store:
        assert store.add_runs([run("a"), run("b")]) == 2
        store.finish_run("a", "done")
        assert store.add_runs([run("a"), run("c")]) == 1
        assert store.status_of(["a", "b", "c", "zzz"]) == {"a": "done", "b": "pending", "c": "pending"}


def test_epochs_flat_table_has_the_documented_columns_in_order(tmp_path):
    with Store(tmp_path) as store:
        store.add_runs([run("a", "gru", 3)])
        store.start_run("a", {"torch": "x"})
        store.finish_run("a", "done", epochs=[epoch(0, 0.5), epoch(1, 0.9), epoch(0, 0.8, "retrain", drop=0.1)],
                         seconds=2.0)
        df = store.epochs()
    assert list(df.columns[:len(CSV_COLUMNS)]) == CSV_COLUMNS
    assert list(zip(df["phase"], df["epoch"])) == [("train", 0), ("train", 1), ("retrain", 0)]
    assert df["cell"].tolist() == ["gru"] * 3 and df["seed"].tolist() == [3] * 3
    assert df["target_sparsity"].tolist() == [0.0] * 3 and df["model_sparsity"].tolist() == [0.0] * 3  # dense
    assert str(df["finished"].dtype) == "datetime64[ns, UTC]"
    assert df["drop"].isna().tolist() == [True, True, False]  # extra metrics become columns
    assert (df["status"] == "done").all()


def test_start_run_discards_an_unfinished_attempt(tmp_path):
    with Store(tmp_path) as store:
        store.add_runs([run("a")])
        store.finish_run("a", "failed", epochs=[epoch(0, 0.5)], error="boom")
        store.start_run("a", {})
        assert store.epochs().empty
        assert store.runs().loc[0, "status"] == "running"
        assert store.runs().loc[0, "error"] is None


def test_finish_run_rejects_unknown_status(tmp_path):
    with Store(tmp_path) as store:
        store.add_runs([run("a")])
        with pytest.raises(ValueError, match="status"):
            store.finish_run("a", "exploded")


def test_artefacts_round_trip_json(tmp_path):
    with Store(tmp_path) as store:
        store.add_runs([run("a")])
        store.finish_run("a", "done", artefacts=[{"kind": "dataset", "name": "reber", "data": {"n": 3}},
                                                 {"kind": "checkpoint", "name": "final", "path": "c/a.pt"}])
        df = store.artefacts("dataset")
    assert df["data"].tolist() == [{"n": 3}]


def test_a_file_that_is_not_a_database_is_reported(tmp_path):
    (tmp_path / DB_NAME).write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(InputError, match="not a sparsernn results database"):
        Store(tmp_path)
    assert (tmp_path / DB_NAME).read_bytes() == b"this is not sqlite" * 100  # left as it was


def test_missing_database_without_create(tmp_path):
    with pytest.raises(InputError, match="No results database"):
        Store(tmp_path, create=False)
    assert not (tmp_path / DB_NAME).exists()


def test_check_output_dir(tmp_path):
    assert check_output_dir(tmp_path / "new" / "dir") == tmp_path / "new" / "dir"
    assert not (tmp_path / "new").exists()  # nothing created
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match="not a directory"):
        check_output_dir(tmp_path / "file")


def test_runs_have_configuration_labels_that_ignore_only_the_seed(tmp_path):
    with Store(tmp_path) as store:
        store.add_runs([run("a", seed=0), run("b", seed=1), run("c", "gru", 0)])
        runs = store.runs().set_index("run_id")
    assert runs.loc["a", "configuration"] == runs.loc["b", "configuration"] != runs.loc["c", "configuration"]
    assert runs.loc["a", "settings"] == runs.loc["c", "settings"]  # a study sweeps cells and seeds


def test_model_sparsity_is_the_final_sparsity_artefact(tmp_path):
    with Store(tmp_path) as store:
        store.add_runs([{"run_id": "p", "study": "s", "kind": "pruning", "parent": None,
                         "config": {"cell": "gru", "seed": 0, "target": "ih", "sparsity": 0.9}}])
        store.finish_run("p", "done", artefacts=[{"kind": "sparsity", "name": "final",
                                                  "data": {"layers.0.weight_ih_l0": 0.9, "overall": 0.3}}])
        row = store.runs().iloc[0]
    assert (row["target_sparsity"], row["model_sparsity"]) == (0.9, 0.3)
