"""Stopping the driver alone, as a batch scheduler or ``timeout`` does, leaves no process of
the run behind; SIGTERM stops like Ctrl-C (one line, exit 143) and the run resumes."""

import os
import signal
import sys

import pytest
from processes import alive, children, gone, start_driver

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")]

STUDY = """name: long
cells: [gru, lstm]
seeds: [0, 1]
data: {num_strings: 2000}
model: {embedding_dim: 8, hidden_sizes: [16]}
training: {epochs: 200}
"""


@pytest.mark.parametrize("how", [
    pytest.param(signal.SIGKILL, marks=pytest.mark.fault(
        "driver killed alone (SIGKILL), local workers", outcome="no process of the run remains; rerun resumes",
        exit=-9, section="Processes")),
    pytest.param(signal.SIGTERM, marks=pytest.mark.fault(
        "driver sent SIGTERM alone (batch scheduler, timeout)",
        outcome="stops, one line with the resume hint, no process of the run remains", exit=143,
        section="Processes")),
])
def test_stopping_the_driver_alone_leaves_no_worker(tmp_path, how):
    driver, _ = start_driver(tmp_path, STUDY)
    everything = children(driver.pid)  # the workers (and any helper process)
    os.kill(driver.pid, how)
    _, err = driver.communicate(timeout=60)
    assert gone(everything), f"still running after the driver ended: {sorted(alive(everything))}"
    if how == signal.SIGTERM:
        assert driver.returncode == 143
        assert err.strip().splitlines() == ["sparsernn: terminated; run the same command again to resume"]
    else:
        assert driver.returncode == -signal.SIGKILL
