"""An interrupted study resumes: killed with SIGKILL mid-way, run again, every trial done once."""

import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from sparsernn.store import DB_NAME, Store

CONFIG = """
name: killme
kind: pruning
cells: [rnn_tanh, gru]
seeds: [0, 1]
data: {num_strings: 300}
model: {embedding_dim: 4, hidden_sizes: [8, 8]}
training: {epochs: 2}
pruning: {sparsities: [0.3, 0.6, 0.9], retrain_epochs: 2}
"""


def done_count(db):
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(db, timeout=1) as conn:
            return conn.execute("SELECT count(*) FROM runs WHERE status = 'done'").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


@pytest.mark.slow
def test_sigkill_mid_study_then_resume(tmp_path):
    config, out = tmp_path / "study.yaml", tmp_path / "out"
    config.write_text(CONFIG)
    command = [sys.executable, "-m", "sparsernn.cli", "run", str(config), "--workers", "2", "--out", str(out)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.monotonic() + 120
    while done_count(out / DB_NAME) < 3 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert proc.poll() is None, "the study finished before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)  # the driver and its workers
    proc.wait()
    killed_at = done_count(out / DB_NAME)
    assert 3 <= killed_at < 16

    rerun = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{killed_at} already finished" in rerun.stdout
    with Store(out, create=False) as store:
        runs, epochs = store.runs(), store.epochs()
        store.quick_check()
    assert len(runs) == 16 and (runs["status"] == "done").all()
    per_run = epochs.groupby("run_id").size()
    assert per_run[runs[runs.kind == "dense"].run_id].eq(3).all()  # epochs 0..2, once each
    assert per_run[runs[runs.kind == "pruning"].run_id].eq(3).all()
