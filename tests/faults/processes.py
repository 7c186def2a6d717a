"""Processes of a run, read from /proc (Linux): a driver's children, which are alive."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

# four short trials (two cells, two seeds): a few seconds each in a worker
STUDY = """name: short
cells: [gru, lstm]
seeds: [0, 1]
data: {num_strings: 400}
model: {embedding_dim: 4, hidden_sizes: [8]}
training: {epochs: 12}
"""
LONG_STUDY = STUDY.replace("epochs: 12", "epochs: 150")  # a GRU trial: about 6 CPU seconds


def children(pid: int) -> set[int]:
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:  # the parent's PID
            found.add(int(stat.parent.name))
    return found


def alive(pids: set[int]) -> set[int]:
    alive = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            alive.add(pid)
    return alive


def workers_of(pid: int) -> set[int]:
    """The worker processes of the driver ``pid`` (spawned Python processes)."""
    found = set()
    for child in children(pid):
        try:
            if "spawn_main" in Path(f"/proc/{child}/cmdline").read_text():
                found.add(child)
        except OSError:
            continue
    return found


def gone(pids: set[int], seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while alive(pids) and time.monotonic() < deadline:
        time.sleep(0.5)
    return not alive(pids)


def cpu_seconds(pid: int) -> float:
    """The CPU time (user + system) the process ``pid`` has used so far; 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_driver(tmp_path: Path, study: str, *args: str, busy: float = 0.0) -> tuple[subprocess.Popen, set[int]]:
    """Start ``sparsernn run`` of the YAML ``study`` with two local workers into
    ``tmp_path/out``; return the driver once both workers are running, and the workers.
    With ``busy``, wait until each worker has used that many CPU seconds: past importing
    torch (about 1.5 s), so into its first trial however loaded the machine is."""
    (tmp_path / "study.yaml").write_text(study)
    driver = subprocess.Popen(
        [sys.executable, "-m", "sparsernn.cli", "run", str(tmp_path / "study.yaml"), "--workers", "2",
         "--out", str(tmp_path / "out"), *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "COLUMNS": "200"},
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        workers = workers_of(driver.pid)
        if len(workers) == 2 and not busy:
            time.sleep(3)  # both have a trial, on a machine that is not loaded
            return driver, workers
        if len(workers) == 2 and all(cpu_seconds(w) >= busy for w in workers):
            return driver, workers
        time.sleep(0.5)
    driver.kill()
    pytest.fail("the workers did not start")
