import pandas as pd
import pytest

from sparsernn import registry
from sparsernn.store import Store
from sparsernn.studies import StudyConfig, TrialResult, expand, run_study
from sparsernn.studies.trial import trial_data

TINY = dict(data={"num_strings": 200}, model={"embedding_dim": 4, "hidden_sizes": [4]}, training={"epochs": 1})


def fake_runner(outcomes):
    """A trial runner that fails or diverges by cell, without training anything."""

    def run(trial, out, on_epoch=None, on_batch=None):
        outcome = outcomes[trial.spec.cell]
        if outcome == "raise":
            raise RuntimeError("out of memory")
        row = dict(phase="train", epoch=0, train_loss=1.0, train_acc=0.5, test_loss=1.0, test_acc=0.5,
                   nonzero_params=1, total_params=1, seconds=0.0)
        return TrialResult(outcome, epochs=[row], seconds=0.1)

    return run


def test_failures_are_stored_not_raised_and_the_study_goes_on(tmp_path, monkeypatch):
    config = StudyConfig(name="s", seeds=[0], cells=["rnn_tanh", "lstm", "gru"], **TINY)
    with registry.patched("dense", run=fake_runner({"rnn_tanh": "raise", "lstm": "diverged", "gru": "done"})):
        runs = run_study(config, tmp_path)
    assert dict(zip(runs["cell"], runs["status"])) == {"rnn_tanh": "failed", "lstm": "diverged", "gru": "done"}
    assert runs.set_index("cell").loc["rnn_tanh", "error"] == "RuntimeError: out of memory"


def test_rerun_redoes_only_unfinished_trials(tmp_path, monkeypatch):
    config = StudyConfig(name="s", seeds=[0, 1], cells=["gru"], **TINY)
    with registry.patched("dense", run=fake_runner({"gru": "raise"})):
        run_study(config, tmp_path)
    ran = []
    real = fake_runner({"gru": "done"})
    with registry.patched("dense", run=lambda t, *a, **k: ran.append(t.id) or real(t, *a, **k)):
        runs = run_study(config, tmp_path)
        assert sorted(ran) == sorted(t.id for t in expand(config))
        assert (runs["status"] == "done").all()
        ran.clear()
        run_study(config, tmp_path)
    assert ran == []
    with Store(tmp_path, create=False) as store:
        assert len(store.runs()) == 2 and len(store.epochs()) == 2
        store.quick_check()


def test_a_real_dense_trial_stores_dataset_summary_and_checkpoint(tmp_path):
    runs = run_study(StudyConfig(name="s", seeds=[0], cells=["rnn_relu"], **TINY), tmp_path)
    assert runs["status"].tolist() == ["done"]
    with Store(tmp_path, create=False) as store:
        artefacts = store.artefacts()
    assert set(artefacts["kind"]) == {"dataset", "checkpoint"}
    summary = artefacts.set_index("kind").loc["dataset", "data"]
    assert summary["splits"]["train"]["size"] == 150 and summary["splits"]["test"]["size"] == 50


@pytest.mark.parametrize("seed_override", [None, 5])
def test_data_seed_is_derived_unless_fixed(tmp_path, seed_override):
    base = dict(TINY, data={"num_strings": 200, "seed": seed_override})
    a, b = (expand(StudyConfig(name="s", seeds=[s], cells=["gru"], **base))[0] for s in (0, 1))
    same_data = trial_data(a.spec) == trial_data(b.spec)
    assert same_data == (seed_override is not None)


@pytest.mark.slow
def test_two_workers_give_the_same_results_as_one(tmp_path):
    config = StudyConfig(name="w", kind="pruning", seeds=[0, 1], cells=["gru"], **TINY,
                         pruning={"sparsities": [0.5, 0.9], "retrain_epochs": 1})
    metrics = ["run_id", "phase", "epoch", "train_loss", "test_acc", "nonzero_params"]
    frames = []
    for workers in (1, 2):
        runs = run_study(config, tmp_path / str(workers), workers=workers)
        assert (runs["status"] == "done").all() and len(runs) == 6
        with Store(tmp_path / str(workers), create=False) as store:
            frames.append(store.epochs()[metrics].sort_values(metrics[:3]).reset_index(drop=True))
    pd.testing.assert_frame_equal(frames[0], frames[1], check_exact=True)
