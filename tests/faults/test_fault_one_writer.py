"""One writer per output directory: a second run is refused, and nothing finished is erased."""

import os
import signal
import sys

import pytest

from sparsernn.cli import main
from sparsernn.store import OutputLock, Store

TRAIN = ["train", "--cell", "gru", "--num-strings", "100", "--hidden", "4", "--embedding", "4", "--epochs", "1"]


@pytest.mark.fault("a second run on an output directory in use", outcome="the second exits 2 naming the "
                   "holder's PID and host, stores nothing; status works alongside", exit=2, section="Concurrency")
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


@pytest.mark.fault("a second driver starting a trial that is already done", outcome="the finished trial, "
                   "its epochs and artefacts are kept", exit="-", section="Concurrency")
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


@pytest.mark.fault("a run whose trials fail", outcome="exit 3 with one line; the same command reruns them",
                   exit=3, section="Processes")
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


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.fault("two drivers on one directory, the first killed mid-way (SIGKILL)",
                   outcome="the second is refused while the first runs; after the kill the lock is free and a "
                   "rerun finishes every trial", exit="2, then 0", section="Concurrency")
def test_two_drivers_on_one_directory_one_killed(tmp_path, capsys):
    from processes import STUDY, gone, start_driver

    driver, workers = start_driver(tmp_path, STUDY)
    code = main(["run", str(tmp_path / "study.yaml"), "--out", str(tmp_path / "out")])
    assert code == 2 and f"PID {driver.pid}" in capsys.readouterr().err
    os.kill(driver.pid, signal.SIGKILL)
    driver.communicate(timeout=60)
    assert gone(workers)
    assert main(["run", str(tmp_path / "study.yaml"), "--workers", "2", "--out", str(tmp_path / "out")]) == 0
    with Store(tmp_path / "out", readonly=True) as store:
        assert store.runs()["status"].tolist() == ["done"] * 4
