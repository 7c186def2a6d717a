"""A worker process that dies costs only its trial: it runs again in a fresh worker
(``--retries`` times), the other worker goes on, and the driver never dies of it."""

import os
import signal
import sys

import pytest
from processes import LONG_STUDY, start_driver

from sparsernn.store import Store

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")]


@pytest.mark.fault("a local worker killed mid-trial (SIGKILL)",
                   outcome="its trial runs again in a fresh worker; every trial done", exit=0, section="Processes")
def test_a_killed_worker_costs_only_a_rerun_of_its_trial(tmp_path):
    driver, workers = start_driver(tmp_path, LONG_STUDY, busy=3.0)
    os.kill(min(workers), signal.SIGKILL)
    out, err = driver.communicate(timeout=600)
    assert driver.returncode == 0, err
    assert "Traceback" not in out + err
    with Store(tmp_path / "out", create=False) as store:
        runs = store.runs()
    assert runs["status"].tolist() == ["done"] * 4


@pytest.mark.fault("a local worker killed mid-trial with --retries 0",
                   outcome="only its trial fails ('worker lost'); the others are done; a rerun finishes it",
                   exit=3, section="Processes")
def test_without_retries_a_killed_worker_fails_only_its_trial(tmp_path):
    driver, workers = start_driver(tmp_path, LONG_STUDY, "--retries", "0", busy=3.0)
    os.kill(min(workers), signal.SIGKILL)
    out, err = driver.communicate(timeout=600)
    assert driver.returncode == 3, err
    assert "Traceback" not in out + err and len(err.strip().splitlines()) == 1
    with Store(tmp_path / "out", create=False) as store:
        runs = store.runs()
    assert sorted(runs["status"]) == ["done"] * 3 + ["failed"]
    error = runs.loc[runs["status"] == "failed", "error"].item()
    assert error.startswith("worker lost: its process died (killed by signal 9)")
