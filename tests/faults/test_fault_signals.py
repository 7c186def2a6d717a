"""Stopping the driver alone, as a batch scheduler or ``timeout`` does, leaves no process of
the run behind; SIGTERM stops like Ctrl-C (one line, exit 143) and the run resumes."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")]

STUDY = """name: long
cells: [gru, lstm]
seeds: [0, 1]
data: {num_strings: 2000}
model: {embedding_dim: 8, hidden_sizes: [16]}
training: {epochs: 200}
"""


def _children(pid: int) -> set[int]:
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:  # the parent's PID
            found.add(int(stat.parent.name))
    return found


def _alive(pids: set[int]) -> set[int]:
    alive = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            alive.add(pid)
    return alive


def _start(tmp_path: Path) -> tuple[subprocess.Popen, set[int]]:
    (tmp_path / "long.yaml").write_text(STUDY)
    driver = subprocess.Popen(
        [sys.executable, "-m", "sparsernn.cli", "run", str(tmp_path / "long.yaml"), "--workers", "2",
         "--out", str(tmp_path / "out")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "COLUMNS": "200"},
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        workers = {p for p in _children(driver.pid) if "spawn_main" in Path(f"/proc/{p}/cmdline").read_text()}
        if len(workers) == 2:
            time.sleep(3)  # both are training
            return driver, workers
        time.sleep(0.5)
    driver.kill()
    pytest.fail("the workers did not start")


def _gone(pids: set[int], seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while _alive(pids) and time.monotonic() < deadline:
        time.sleep(0.5)
    return not _alive(pids)


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM])
def test_stopping_the_driver_alone_leaves_no_worker(tmp_path, how):
    driver, workers = _start(tmp_path)
    everything = _children(driver.pid)  # the workers and the resource tracker
    os.kill(driver.pid, how)
    _, err = driver.communicate(timeout=60)
    assert _gone(everything), f"still running after the driver ended: {sorted(_alive(everything))}"
    if how == signal.SIGTERM:
        assert driver.returncode == 143
        assert err.strip().splitlines() == ["sparsernn: terminated; run the same command again to resume"]
    else:
        assert driver.returncode == -signal.SIGKILL
