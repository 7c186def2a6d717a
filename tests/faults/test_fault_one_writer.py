"""One writer per output directory: a second run is refused, and nothing finished is erased."""

import os

from sparsernn.cli import main
from sparsernn.store import OutputLock, Store

TRAIN = ["train", "--cell", "gru", "--num-strings", "100", "--hidden", "4", "--embedding", "4", "--epochs", "1"]


def test_a_second_run_on_a_directory_in_use_exits_2_naming_the_holder(tmp_path, capsys):
    assert main([*TRAIN, "--seed", "0", "--out", str(tmp_path)]) == 0
    with OutputLock(tmp_path):  # as a running driver holds it
        capsys.readouterr()
        code = main([*TRAIN, "--seed", "1", "--out", str(tmp_path)])
        err = capsys.readouterr().err.strip().splitlines()
        assert main(["status", str(tmp_path)]) == 0  # readers work alongside
    assert code == 2 and len(err) == 1
    assert "is in use by another sparsernn run" in err[0] and f"PID {os.getpid()}" in err[0]
    with Store(tmp_path, create=False) as store:
        assert store.runs()["seed"].tolist() == [0]  # the refused run stored nothing


def test_the_lock_is_released_with_its_holder(tmp_path):
    with OutputLock(tmp_path):
        pass
    with OutputLock(tmp_path):  # taken again once released
        pass


def test_start_run_never_erases_a_finished_trial(tmp_path):
    row = dict(phase="train", epoch=1, train_loss=0.1, train_acc=1.0, test_loss=0.1, test_acc=1.0,
               nonzero_params=1, total_params=1, seconds=0.1)
    with Store(tmp_path) as store:
        store.add_runs([{"run_id": "a", "study": "s", "kind": "dense", "config": {"seed": 0}}])
        assert store.start_run("a", {}) is True
        store.finish_run("a", "done", epochs=[row], artefacts=[{"kind": "k", "name": "n", "data": 1}])
        assert store.start_run("a", {}) is False  # e.g. a second driver that thinks it is unfinished
        assert store.status_of(["a"]) == {"a": "done"}
        assert len(store.epochs()) == 1 and len(store.artefacts()) == 1


def test_a_run_with_failed_trials_exits_3(tmp_path, capsys):
    from sparsernn import registry

    def broken(trial, out, **callbacks):
        raise RuntimeError("[enforce fail at alloc.cpp] out of memory")

    with registry.patched("dense", run=broken):
        code = main([*TRAIN, "--out", str(tmp_path)])
    captured = capsys.readouterr()
    assert code == 3 and "[enforce fail at alloc.cpp] out of memory" in captured.out
    assert captured.err.strip().splitlines() == [
        f"sparsernn: 1 trial failed (see the lines above, or 'sparsernn results {tmp_path}'); run the same "
        "command again to rerun them"]
    assert main([*TRAIN, "--out", str(tmp_path)]) == 0  # rerun: it trains now
