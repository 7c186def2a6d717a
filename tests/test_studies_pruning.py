"""Pruning studies end to end on tiny data, and their expansion."""

import pytest

from sparsernn.checkpoint import load_checkpoint
from sparsernn.errors import InputError
from sparsernn.store import Store
from sparsernn.studies import StudyConfig, expand, run_study, study_from_dict
from sparsernn.studies.kinds.pruning import stack_key

TINY = dict(data={"num_strings": 240}, model={"embedding_dim": 4, "hidden_sizes": [6, 6]}, training={"epochs": 1})


def study(**pruning):
    return StudyConfig(name="p", kind="pruning", seeds=[0], cells=["gru"], pruning=pruning, **TINY)


def test_expansion_puts_bases_first_and_links_children():
    config = StudyConfig(name="p", kind="pruning", seeds=[0, 1], cells=["lstm"], **TINY,
                         pruning={"criteria": ["magnitude", "threshold"], "targets": ["both", "hh"],
                                  "scopes": ["layer", "global"], "sparsities": [0.5, 0.9], "thresholds": [0.01, 0.1]})
    trials = expand(config)
    bases = [t for t in trials if t.kind == "dense"]
    children = [t for t in trials if t.kind == "pruning"]
    assert trials[: len(bases)] == bases and len(bases) == 2
    # per base: magnitude 2 targets x 2 scopes x 2 sparsities + threshold 2 targets x 2 values
    assert len(children) == 2 * (8 + 4)
    assert {t.parent for t in children} == {b.id for b in bases}
    assert all(t.config["target"] == t.config["pruning"]["target"] for t in children)
    assert len({t.id for t in trials}) == len(trials)


@pytest.mark.parametrize("batch_children, device, stacked",
                         [("auto", None, {"gru"}), ("auto", "cpu", {"gru"}), (True, None, {"gru", "lstm"}),
                          (False, None, set())])
def test_children_stack_but_lstm_children_on_a_cpu_by_default(batch_children, device, stacked):
    config = StudyConfig(name="p", kind="pruning", seeds=[0], cells=["lstm", "gru"], **{
        **TINY, "training": {**TINY["training"], "device": device}}, pruning={"batch_children": batch_children})
    children = [t for t in expand(config) if t.kind == "pruning"]
    assert len(children) == 20 and {t.spec.cell for t in children if stack_key(t) is not None} == stacked


@pytest.mark.parametrize(
    "pruning, message",
    [
        ({"sparsities": [1.5]}, "pruning.sparsities"),
        ({"targets": ["xh"]}, "pruning.targets"),
        ({"schedules": ["iterative"], "sparsities": [1.0]}, "never reaches sparsity 1.0"),
        ({"schedules": ["gradual"], "retrain_epochs": 2, "gradual": {"prune_epochs": 3}}, "prune_epochs"),
        ({"scopes": ["row"]}, "pruning.scopes"),
    ],
)
def test_invalid_pruning_sections(pruning, message):
    with pytest.raises(InputError, match=message):
        study_from_dict({"kind": "pruning", "seeds": [0], "pruning": pruning})


def test_targets_the_model_does_not_have_are_config_errors():
    with pytest.raises(InputError, match="'ho' needs model.readout_mask: true"):
        study_from_dict({"kind": "pruning", "seeds": [0], "model": {"readout_mask": False},
                         "pruning": {"targets": ["both", "ih+ho"]}})
    with pytest.raises(InputError, match="no 'hr'"):
        study_from_dict({"kind": "pruning", "seeds": [0], "pruning": {"targets": ["hr"]}})


def test_pruning_section_needs_kind_pruning():
    with pytest.raises(InputError, match="needs kind: pruning"):
        study_from_dict({"kind": "dense", "seeds": [0], "pruning": {}})


@pytest.fixture(scope="module")
def one_shot(tmp_path_factory):
    out = tmp_path_factory.mktemp("one_shot")
    config = study(targets=["both", "ih+hh+ho"], scopes=["layer"], sparsities=[0.0, 0.5, 1.0], retrain_epochs=1)
    runs = run_study(config, out)
    with Store(out, create=False) as store:
        return out, runs, store.epochs(), store.artefacts()


def test_every_trial_finishes(one_shot):
    _, runs, _, _ = one_shot
    assert (runs["status"] == "done").all() and len(runs) == 1 + 6


def test_amount_zero_starts_from_the_trained_base(one_shot):
    _, runs, epochs, _ = one_shot
    base = epochs[epochs["kind"] == "dense"]["test_acc"].iloc[-1]
    zero = runs[(runs["kind"] == "pruning") & (runs["target_sparsity"] == 0.0)]["run_id"]
    first = epochs[epochs["run_id"].isin(zero) & (epochs["epoch"] == 0)]["test_acc"]
    assert (first == base).all()


def test_actual_sparsity_is_the_amount_and_masks_stay_fixed(one_shot):
    out, runs, epochs, artefacts = one_shot
    retrain = epochs[epochs["phase"] == "retrain"]
    assert (retrain["actual_sparsity"] == retrain["target_sparsity"]).all()
    base = load_checkpoint(out / "checkpoints" / f"{runs.run_id[0]}.pt").model
    total = base.count_parameters().total
    full = runs[(runs["target"] == "ih+hh+ho") & (runs["target_sparsity"] == 1.0)].run_id.item()
    mine = retrain[retrain["run_id"] == full]
    assert (mine["total_params"] == total).all()
    recurrent_and_readout = sum(w.numel() for n, w in base.named_parameters() if n.split(".")[-1].startswith("weight")
                                and not n.startswith("embed"))
    assert mine["nonzero_params"].max() <= total - recurrent_and_readout
    sparsity = artefacts[(artefacts["run_id"] == full) & (artefacts["kind"] == "sparsity")]["data"].item()
    assert sparsity["overall"] == 1.0 == runs.set_index("run_id").loc[full, "model_sparsity"]


def test_fully_pruned_model_predicts_a_constant(one_shot):
    _, runs, epochs, _ = one_shot
    full = runs[(runs["target"] == "ih+hh+ho") & (runs["target_sparsity"] == 1.0)].run_id.item()
    accs = epochs[epochs["run_id"] == full]["test_acc"]
    assert accs.notna().all() and set(accs.round(6)) == {0.5}  # balanced test set, one class predicted


def test_histograms_and_timings_are_stored(one_shot):
    _, runs, _, artefacts = one_shot
    child = runs[runs["kind"] == "pruning"].run_id.iloc[1]
    mine = artefacts[artefacts["run_id"] == child].set_index(["kind", "name"])["data"]
    before, after = mine[("histogram", "before")], mine[("histogram", "after")]
    assert set(before) == set(after) and "layers.0.weight_hh_l0" in before
    assert sum(before["layers.0.weight_ih_l0"]["counts"]) == 3 * 6 * 4
    assert mine[("timing", "phases")]["prune_seconds"] >= 0


@pytest.mark.slow
def test_iterative_with_rewind_and_gradual_schedules(tmp_path):
    config = study(schedules=["iterative", "gradual"], sparsities=[0.75], retrain_epochs=2,
                   iterative={"per_round": 0.5, "epochs_per_round": 1, "rewind": True},
                   gradual={"prune_epochs": 1, "frequency": 2})
    run_study(config, tmp_path)
    with Store(tmp_path, create=False) as store:
        epochs, runs = store.epochs(), store.runs()
    assert (runs["status"] == "done").all()
    iterative = runs[runs["config"].str.contains('"schedule": "iterative"')].run_id.item()
    mine = epochs[epochs["run_id"] == iterative]
    assert mine["phase"].drop_duplicates().tolist() == ["round1", "retrain"]
    assert mine[mine["phase"] == "round1"]["actual_sparsity"].iloc[0] == pytest.approx(0.5, abs=0.01)
    assert mine[mine["phase"] == "retrain"]["actual_sparsity"].iloc[0] == pytest.approx(0.75, abs=0.01)
    gradual = runs[runs["config"].str.contains('"schedule": "gradual"')].run_id.item()
    mine = epochs[epochs["run_id"] == gradual].set_index("epoch")["actual_sparsity"]
    assert mine[0] == 0.0 and mine[1] == pytest.approx(0.75, abs=0.01) and mine[2] == mine[1]


def test_a_child_of_a_failed_base_fails_with_a_reason(tmp_path, monkeypatch):
    from sparsernn import registry

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    with registry.patched("dense", run=broken):
        runs = run_study(study(sparsities=[0.5]), tmp_path)
    assert runs["status"].tolist() == ["failed", "failed"]
    assert "its parent trial" in runs["error"].iloc[1] and "is failed" in runs["error"].iloc[1]
