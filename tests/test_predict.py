"""Models out of a study: every trained model is saved with what it needs to predict, and
``sparsernn predict`` classifies new strings with it."""

import io

import pandas as pd
import pytest
import torch
import yaml

from sparsernn import prune
from sparsernn.checkpoint import load_checkpoint
from sparsernn.cli import main
from sparsernn.nn import GraphRNN, SequenceClassifier
from sparsernn.predict import predict
from sparsernn.store import Store
from sparsernn.studies import expand, study_from_dict
from sparsernn.studies.trial import trial_data
from sparsernn.train import encode_split, evaluate

TINY = dict(data={"num_strings": 200}, model={"embedding_dim": 4, "hidden_sizes": [4]}, training={"epochs": 1})
PRUNING = dict(name="p", kind="pruning", seeds=[0], cells=["gru"], pruning={"sparsities": [0.5]}, **TINY)
STRUCTURE = dict(name="s", kind="structure", seeds=[0], cells=["rnn_tanh"], data=TINY["data"],
                 model={"embedding_dim": 4}, training=TINY["training"],
                 structure={"graphs": 2, "generators": ["watts_strogatz"], "sizes": [10, 12], "pack": 2})


def run(tmp_path, study: dict, name="study.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(study))
    out = tmp_path / "out"
    assert main(["run", str(path), "--workers", "1", "--out", str(out)]) == 0
    with Store(out, create=False) as store:
        return out, store.runs(), store.epochs(), store.artefacts()


def final_test_acc(epochs, run_id):
    return epochs[epochs["run_id"] == run_id].sort_values(["phase", "epoch"]).iloc[-1]["test_acc"]


@pytest.fixture(scope="module")
def pruning_run(tmp_path_factory):
    return run(tmp_path_factory.mktemp("pruning"), PRUNING)


def test_a_pruning_study_saves_its_pruned_models(pruning_run):
    out, runs, epochs, artefacts = pruning_run
    trials = {t.id: t for t in expand(study_from_dict(PRUNING))}
    assert set(runs["run_id"]) == set(trials) and (runs["status"] == "done").all()
    for run_id, trial in trials.items():
        saved = load_checkpoint(out / "checkpoints" / f"{run_id}.pt")
        assert saved.trial_id == run_id and saved.classes == ("invalid", "valid")
        assert type(saved.model) is SequenceClassifier
        stored = artefacts[(artefacts["run_id"] == run_id) & (artefacts["kind"] == "checkpoint")]
        assert stored["path"].tolist() == [f"checkpoints/{run_id}.pt"]
        if trial.kind == "pruning":  # the model saved is the pruned, retrained one
            sparsity = artefacts[(artefacts["run_id"] == run_id) & (artefacts["kind"] == "sparsity")]["data"].item()
            assert prune.sparsity(saved.model) == sparsity
            assert prune.sparsity(saved.model, ("ih", "hh"))["overall"] == pytest.approx(0.5, abs=0.01)
        test = encode_split(saved.vocab, trial_data(trial.spec).test)
        assert evaluate(saved.model, test)[1] == final_test_acc(epochs, run_id)


@pytest.mark.slow
def test_a_structure_study_saves_every_member_of_a_pack(tmp_path):
    out, runs, epochs, _ = run(tmp_path, STRUCTURE)
    trials = expand(study_from_dict(STRUCTURE))
    assert len(trials) == 2 and (runs["status"] == "done").all()
    for trial in trials:
        saved = load_checkpoint(out / "checkpoints" / f"{trial.id}.pt")
        assert type(saved.model) is GraphRNN and saved.trial_id == trial.id
        test = encode_split(saved.vocab, trial_data(trial.spec).test)
        assert evaluate(saved.model, test)[1] == pytest.approx(final_test_acc(epochs, trial.id), abs=1e-12)


@pytest.mark.slow
def test_save_models_none_keeps_only_what_other_trials_start_from(tmp_path):
    out, runs, _, artefacts = run(tmp_path, {**PRUNING, "save_models": "none"})
    base = runs.loc[runs["kind"] == "dense", "run_id"].item()
    assert [p.name for p in (out / "checkpoints").iterdir()] == [f"{base}.pt"]
    assert artefacts[artefacts["kind"] == "checkpoint"]["run_id"].tolist() == [base]
    (tmp_path / "structure").mkdir()
    out, _, _, _ = run(tmp_path / "structure", {**STRUCTURE, "save_models": "none"})
    assert not (out / "checkpoints").exists()


def test_save_models_changes_no_trial_id():
    ids = [t.id for t in expand(study_from_dict(PRUNING))]
    assert [t.id for t in expand(study_from_dict({**PRUNING, "save_models": "none"}))] == ids


STRINGS = ["BTXSE", "BPVVE", "BTSSXXTVVE", "BPTVPSE", "BT"]


def child_checkpoint(pruning_run):
    out, runs, _, _ = pruning_run
    child = runs.loc[runs["kind"] == "pruning", "run_id"].item()
    return out / "checkpoints" / f"{child}.pt"


def test_predict_classifies_a_file_of_strings_with_a_model_saved_by_run(pruning_run, tmp_path, capfd):
    checkpoint = child_checkpoint(pruning_run)
    (tmp_path / "new.txt").write_text("\n".join(STRINGS) + "\n\n")
    assert main(["predict", str(checkpoint), "--input", str(tmp_path / "new.txt")]) == 0
    table = pd.read_csv(io.StringIO(capfd.readouterr().out))
    assert list(table.columns) == ["string", "label", "p_invalid", "p_valid"] and table["string"].tolist() == STRINGS
    saved = load_checkpoint(checkpoint)  # the same numbers as the model itself gives
    saved.model.eval()
    tokens, lengths = saved.vocab.encode(STRINGS)
    with torch.no_grad():
        p = torch.softmax(saved.model(tokens, lengths).double(), dim=1)
    assert table[["p_invalid", "p_valid"]].to_numpy() == pytest.approx(p.numpy(), abs=1e-6)
    assert table["label"].tolist() == [("invalid", "valid")[i] for i in p.argmax(dim=1).tolist()]
    # the same from a CSV file, written to a file
    pd.DataFrame({"id": range(5), "string": STRINGS}).to_csv(tmp_path / "new.csv", index=False)
    assert main(["predict", str(checkpoint), "--input", str(tmp_path / "new.csv"),
                 "--output", str(tmp_path / "p.csv")]) == 0
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "p.csv"), table)


def test_predict_reads_standard_input(pruning_run, capfd, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"BTXSE\nBPVVE\n")))
    assert main(["predict", str(child_checkpoint(pruning_run))]) == 0
    assert pd.read_csv(io.StringIO(capfd.readouterr().out))["string"].tolist() == ["BTXSE", "BPVVE"]


def test_unknown_symbols_are_refused_or_read_as_unk(pruning_run, tmp_path, capfd):
    checkpoint = child_checkpoint(pruning_run)
    (tmp_path / "new.txt").write_text("BTXSE\n\nBTZZE\n")
    assert main(["predict", str(checkpoint), "--input", str(tmp_path / "new.txt")]) == 2
    err = capfd.readouterr().err
    assert err.count("\n") == 1 and "new.txt, line 3 ('BTZZE') has the symbol 'Z' at position 3" in err
    assert "--unknown unk" in err
    assert main(["predict", str(checkpoint), "--input", str(tmp_path / "new.txt"), "--unknown", "unk"]) == 0
    table = pd.read_csv(io.StringIO(capfd.readouterr().out))
    saved = load_checkpoint(checkpoint)
    with_unk = predict(saved, ["BTXSE", "BT\x00\x00E"], unknown="unk")  # any unknown symbol is the same <unk>
    assert table["p_valid"].tolist() == pytest.approx(with_unk["p_valid"].tolist(), abs=1e-6)
