"""Executors: a real Ray cluster on 127.0.0.1 gives the same results as local processes."""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from sparsernn.store import Store
from sparsernn.studies import StudyConfig, TrialResult, expand, run_study, schedule
from sparsernn.studies.executors import RayExecutor, run_unit_portable, store_outputs
from sparsernn.studies.units import unit_inputs

# Ray reads these when it is imported: keep every address on the loopback interface
RAY_ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}
os.environ.update(RAY_ENV)
ray = pytest.importorskip("ray")  # the `ray` extra; CI installs it
pytestmark = pytest.mark.slow  # a Ray cluster, worker processes and subprocesses: every test here is slow

TINY = dict(data={"num_strings": 200}, model={"embedding_dim": 4, "hidden_sizes": [4]}, training={"epochs": 1})
STUDY = StudyConfig(name="r", kind="pruning", seeds=[0, 1], cells=["gru"], **TINY,
                    pruning={"sparsities": [0.5, 0.9], "retrain_epochs": 1})
METRICS = ["run_id", "phase", "epoch", "train_loss", "train_acc", "test_loss", "test_acc", "nonzero_params"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def cluster():
    """``ray start --head`` on 127.0.0.1 with 2 CPUs; its address; ``ray stop`` afterwards."""
    env = {**os.environ, **RAY_ENV, "OMP_NUM_THREADS": "1"}
    port = _free_port()
    ray_cli = [sys.executable, "-m", "ray.scripts.scripts"]
    subprocess.run([*ray_cli, "start", "--head", f"--port={port}", "--node-ip-address=127.0.0.1", "--num-cpus=2",
                    "--include-dashboard=false", "--disable-usage-stats"],
                   env=env, check=True, capture_output=True, timeout=180)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        if ray.is_initialized():
            ray.shutdown()
        subprocess.run([*ray_cli, "stop", "--force"], env=env, capture_output=True, timeout=120)


def _epochs(out: Path) -> pd.DataFrame:
    with Store(out, create=False) as store:
        store.quick_check()
        return store.epochs()[METRICS].sort_values(METRICS[:3]).reset_index(drop=True)


@pytest.fixture(scope="module")
def local_results(tmp_path_factory):
    out = tmp_path_factory.mktemp("local")
    runs = run_study(STUDY, out, workers=2)
    assert (runs["status"] == "done").all() and len(runs) == 6
    return out


def test_ray_results_equal_local_results(cluster, local_results, tmp_path):
    runs = run_study(STUDY, tmp_path, executor="ray", address=cluster)
    assert (runs["status"] == "done").all() and len(runs) == 6
    pd.testing.assert_frame_equal(_epochs(tmp_path), _epochs(local_results), check_exact=True)
    # the bases' checkpoints came back from the tasks, byte for byte
    for name in os.listdir(local_results / "checkpoints"):
        assert (tmp_path / "checkpoints" / name).read_bytes() == (local_results / "checkpoints" / name).read_bytes()
    with Store(tmp_path, create=False) as store:
        envs = store.runs()["environment"]
    assert all(json.loads(env)["torch_threads"] == 1 for env in envs)  # measured in the Ray worker


def _config(directory: Path) -> Path:
    """STUDY as a YAML file."""
    config = directory / "study.yaml"
    config.write_text(STUDY.to_yaml())
    return config


def test_cli_runs_a_study_on_the_cluster(cluster, local_results, tmp_path):
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "sparsernn.cli", "run", str(_config(tmp_path)), "--executor", "ray",
         "--address", cluster, "--out", str(out)],
        capture_output=True, text=True, timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert proc.returncode == 0, proc.stderr
    assert "6 done" in proc.stdout
    pd.testing.assert_frame_equal(_epochs(out), _epochs(local_results), check_exact=True)


def test_address_local_starts_and_stops_a_runtime_of_its_own(local_results, tmp_path):
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "sparsernn.cli", "run", str(_config(tmp_path)), "--executor", "ray",
         "--address", "local", "--workers", "2", "--out", str(out)],
        capture_output=True, text=True, timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert proc.returncode == 0, proc.stderr
    pd.testing.assert_frame_equal(_epochs(out), _epochs(local_results), check_exact=True)


def _crash_once(unit, inputs, threads):
    """A task that kills its worker process the first time it runs a given unit."""
    marker = Path(os.environ["SPARSERNN_TEST_MARKERS"]) / unit[0].id
    if not marker.exists():
        marker.touch()
        os._exit(1)
    return run_unit_portable(unit, inputs, threads)


class CrashOnce(RayExecutor):
    function = staticmethod(_crash_once)


@pytest.mark.parametrize("retries, status", [(1, "done"), (0, "failed")])
def test_a_task_whose_worker_dies_is_retried(cluster, tmp_path, monkeypatch, retries, status):
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the workers cannot import tests
    markers = tmp_path / "markers"
    markers.mkdir()
    monkeypatch.setenv("SPARSERNN_TEST_MARKERS", str(markers))
    dense = StudyConfig(name="c", seeds=[0], cells=["gru"], **TINY)
    trial = expand(dense)[0]
    if ray.is_initialized():
        ray.shutdown()
    ray.init(address=cluster, _node_ip_address="127.0.0.1", log_to_driver=False,
             runtime_env={"env_vars": {"SPARSERNN_TEST_MARKERS": str(markers)}})
    results = {}
    try:
        schedule([[trial]], CrashOnce(tmp_path, cluster, retries=retries), {trial.id: "pending"},
                 start=lambda t: None, finish=lambda t, r: results.update({t.id: r}))
    finally:
        ray.shutdown()
    assert results[trial.id].status == status, results[trial.id].error
    if status == "failed":
        assert results[trial.id].error.startswith("worker lost")
    else:
        assert (tmp_path / "checkpoints" / f"{trial.id}.pt").exists()


def test_an_unreachable_cluster_is_one_line_and_stores_nothing(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "sparsernn.cli", "run", "--executor", "ray", "--address", f"127.0.0.1:{_free_port()}",
         "--out", str(tmp_path / "out")],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("sparsernn: error: cannot reach the Ray cluster") and proc.stderr.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_portable_trials_carry_their_inputs_and_return_their_outputs(local_results, tmp_path):
    child = next(t for t in expand(STUDY) if t.parent)
    inputs = unit_inputs([child], local_results)
    assert list(inputs) == [f"checkpoints/{child.parent}.pt"]
    [result], files = run_unit_portable([child], inputs)
    assert isinstance(result, TrialResult) and result.status == "done"
    assert list(files) == [f"checkpoints/{child.id}.pt"]  # the pruned model, saved where the trial ran
    base = expand(STUDY)[0]
    [result], files = run_unit_portable([base], {})
    assert list(files) == [f"checkpoints/{base.id}.pt"]
    store_outputs(tmp_path, files)
    assert (tmp_path / "checkpoints" / f"{base.id}.pt").read_bytes() == files[f"checkpoints/{base.id}.pt"]
    with pytest.raises(ValueError, match="outside the output directory"):
        store_outputs(tmp_path, {"../escape": b""})
