"""Devices: names checked where they are read, resolved per worker, left out of trial ids;
CPU results bit-identical with or without ``device="cpu"``; GPU results (tests marked
``cuda``, skipped without one) equal to the CPU's up to float rounding."""

import json
import re
from pathlib import Path

import networkx as nx
import pandas as pd
import pytest
import torch
from pydantic import ValidationError

from sparsernn import prune, registry
from sparsernn.cli import _overridden, main
from sparsernn.data import Vocabulary, iterate_batches, reber_dataset
from sparsernn.devices import check_device_name, resolve_device
from sparsernn.errors import InputError
from sparsernn.nn import GraphRNN, GraphRNNPack, SequenceClassifier
from sparsernn.store import Store
from sparsernn.studies import StudyConfig, TrialResult, expand, load_studies, run_study, study_from_dict
from sparsernn.studies.executors import LocalExecutor, _run, on_device
from sparsernn.train import TrainingConfig, _place, encode_split, evaluate, fit, fit_pack

TINY = dict(data={"num_strings": 200}, model={"embedding_dim": 4, "hidden_sizes": [4]}, training={"epochs": 1})
SMALL = ["--num-strings", "200", "--hidden", "4", "--embedding", "4", "--epochs", "2"]
SRC = Path(__file__).resolve().parents[1] / "src" / "sparsernn"


def cli(*args):
    return main([str(a) for a in args])


def fail_line(capfd, *args):
    """Run the CLI expecting bad input; return its one line of stderr."""
    assert cli(*args) == 2
    err = capfd.readouterr().err.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    assert err.startswith("sparsernn: error: ")
    return err


def without_seconds(rows):
    return [{k: v for k, v in row.items() if k != "seconds"} for row in rows]


@pytest.fixture(scope="module")
def data():
    splits = reber_dataset(300, seed=0)
    vocab = Vocabulary.from_strings(splits.train.strings)
    return vocab, encode_split(vocab, splits.train), encode_split(vocab, splits.test)


def classifier(vocab, cell="lstm"):
    torch.manual_seed(0)
    return SequenceClassifier(cell, len(vocab), hidden_sizes=(6,), embedding_dim=4)


def pack(vocab, cell="gru"):
    torch.manual_seed(0)
    graphs = [nx.DiGraph([(0, 2), (1, 2), (2, 3)]), nx.DiGraph([(0, 1)]), nx.DiGraph([(0, 1), (1, 2), (0, 2)])]
    return GraphRNNPack([GraphRNN(g, cell, len(vocab), embedding_dim=3) for g in graphs])


# ---------------------------------------------------------------------------------------
# Names and resolution


@pytest.mark.parametrize("name", [None, "auto", "cpu", "cuda", "cuda:0", "cuda:12"])
def test_device_names_that_are_spelt_right(name):
    assert check_device_name(name) == name
    assert TrainingConfig(device=name).device == name


@pytest.mark.parametrize("name", ["tpu", "cuda:x", "CUDA", "cuda:", "cuda:-1", " cpu", "", "mps", 0])
def test_misspelt_device_names_are_refused(name):
    with pytest.raises(InputError, match=re.escape(f"a device must be 'auto', 'cpu', 'cuda' or 'cuda:N' "
                                                   f"(N a GPU index); got {name!r}.")):
        check_device_name(name)
    with pytest.raises(ValidationError, match="training.device|device"):
        TrainingConfig(device=name)


def _gpus(monkeypatch, count):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: count > 0)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: count)


def test_cuda_gives_each_worker_one_gpu_in_turn(monkeypatch):
    _gpus(monkeypatch, 3)
    assert [str(resolve_device("cuda", worker=i)) for i in range(5)] == ["cuda:0", "cuda:1", "cuda:2", "cuda:0",
                                                                         "cuda:1"]
    assert str(resolve_device("auto", worker=4)) == "cuda:1"
    assert [str(resolve_device("cuda:2", worker=i)) for i in range(3)] == ["cuda:2"] * 3  # an index is an index
    assert resolve_device("cpu", worker=1) == torch.device("cpu") and resolve_device(None, worker=1) is None
    with pytest.raises(InputError, match=r"^device 'cuda:3' was asked for, but this machine has 3 CUDA devices "
                                         r"\(cuda:0 to cuda:2\)\.$"):
        resolve_device("cuda:3")


def test_cuda_where_there_is_none_is_refused_and_auto_is_the_cpu(monkeypatch):
    _gpus(monkeypatch, 0)
    assert resolve_device("auto", worker=3) == torch.device("cpu")
    for name in ("cuda", "cuda:0", "cuda:7"):
        with pytest.raises(InputError, match=rf"^device '{name}' was asked for, but this machine has no CUDA device"):
            resolve_device(name)


@pytest.mark.parametrize("worker", [-1, 1.0, "0", True, None])
def test_resolve_device_needs_a_worker_index(worker):
    with pytest.raises(InputError, match="'worker' parameter of resolve_device must be an int >= 0"):
        resolve_device("cpu", worker=worker)


def test_devices_sit_below_the_models_that_they_move():
    """nn and prune never name a device of ours; devices imports only errors and checks."""
    imports = re.compile(r"^(?:from|import) \S*devices", re.M)
    assert not [p for p in [*(SRC / "nn").glob("*.py"), *(SRC / "prune").glob("*.py")] if imports.search(p.read_text())]
    ours = set(re.findall(r"^from \.(\w+) import", (SRC / "devices.py").read_text(), re.M))
    assert ours <= {"errors", "checks"}


# ---------------------------------------------------------------------------------------
# What a trial is does not depend on where it trains


def test_the_device_is_no_part_of_a_trial():
    plain = StudyConfig(name="d", kind="pruning", seeds=[0], cells=["gru"], **TINY, pruning={"sparsities": [0.5]})
    on_gpu = plain.model_copy(update={"training": plain.training.model_copy(update={"device": "cuda:1"})})
    assert "device" not in plain.training.model_dump() and "device" not in on_gpu.training.model_dump()
    trials, moved = expand(plain), expand(on_gpu)
    assert [t.id for t in trials] == [t.id for t in moved] and [t.config for t in trials] == [t.config for t in moved]
    assert {t.spec.training.device for t in moved} == {"cuda:1"}
    assert [t.id for t in on_device(trials, torch.device("cuda", 2))] == [t.id for t in trials]
    assert {t.spec.training.device for t in on_device(trials, torch.device("cuda", 2))} == {"cuda:2"}
    assert on_device(trials, None) is trials


def test_a_swept_study_keeps_its_device_which_cannot_be_swept():
    swept = StudyConfig(name="s", seeds=[0], cells=["gru"], **{**TINY, "training": {"epochs": 1, "device": "cpu"}},
                        sweep={"training.lr": [0.01, 0.1]})
    assert [t.spec.training.device for t in expand(swept)] == ["cpu", "cpu"]
    for sweep in ({"training.device": ["cpu", "auto"]}, {"training": [{"device": "cpu"}, {"device": "auto"}]}):
        with pytest.raises(InputError, match="training.device cannot be swept"):
            study_from_dict(dict(name="s", seeds=[0], cells=["gru"], **TINY, sweep=sweep))


def test_a_config_files_device_outlives_other_overrides(tmp_path):
    path = tmp_path / "study.yaml"
    path.write_text("name: y\nseeds: [0]\ncells: [gru]\ntraining: {epochs: 1, device: cpu}\n")
    studies = load_studies(path)
    assert studies[0].training.device == "cpu"
    assert _overridden(studies, ["training.epochs=2"], None)[0].training.device == "cpu"
    assert _overridden(studies, ["training.epochs=2"], "auto")[0].training.device == "auto"  # --device wins
    assert _overridden(studies, ["training.device=auto"], None)[0].training.device == "auto"
    assert _overridden(studies, ["training.device=null"], None)[0].training.device is None


# ---------------------------------------------------------------------------------------
# Workers: each resolves its own device and records it


def _recorder(seen):
    def run(trial, out, on_epoch=None, on_batch=None):
        seen.append(trial.spec.training.device)
        return TrialResult("done", epochs=[], seconds=0.0)
    return run


def test_a_worker_trains_its_units_on_its_own_device(tmp_path, monkeypatch):
    _gpus(monkeypatch, 2)
    config = StudyConfig(name="w", seeds=[0], cells=["gru"], **{**TINY, "training": {"epochs": 1, "device": "cuda"}})
    seen = []
    with registry.patched("dense", run=_recorder(seen)):
        results = [_run(expand(config), tmp_path, worker=worker) for worker in range(3)]
    assert seen == ["cuda:0", "cuda:1", "cuda:0"]
    assert [r[0].environment["device"] for r in results] == seen


def test_a_worker_without_the_device_fails_its_trials_with_one_line(tmp_path, monkeypatch):
    _gpus(monkeypatch, 0)
    config = StudyConfig(name="w", seeds=[0], cells=["gru", "lstm"], **TINY)
    unit = on_device(expand(config), torch.device("cuda", 7))  # as a node without GPUs would get it
    results = _run(unit[:1], tmp_path)
    assert results[0].status == "failed" and results[0].environment["device"] is None
    assert results[0].error.startswith("InputError: device 'cuda:7' was asked for, but this machine has no CUDA")


def test_the_study_records_the_device_each_trial_trained_on(tmp_path, monkeypatch):
    _gpus(monkeypatch, 1)  # the driver (one worker) takes cuda:0; the patched kind trains nothing
    config = StudyConfig(name="r", seeds=[0, 1], cells=["gru"], **{**TINY, "training": {"epochs": 1,
                                                                                          "device": "auto"}})
    seen = []
    with registry.patched("dense", run=_recorder(seen)):
        runs = run_study(config, tmp_path)
    assert seen == ["cuda:0", "cuda:0"]
    assert [json.loads(env)["device"] for env in runs["environment"]] == ["cuda:0", "cuda:0"]


# ---------------------------------------------------------------------------------------
# Data follows the model


@pytest.mark.parametrize("build", [lambda v: classifier(v, "lstm"), lambda v: pack(v, "gru")], ids=["model", "pack"])
def test_batches_follow_the_model_and_meet_no_cpu_tensor_there(data, monkeypatch, build):
    """On the meta device, which holds no values and refuses CPU operands, a training
    step's forward and backward pass runs on batches placed as fit places them."""
    vocab, train, _ = data
    monkeypatch.setattr(SequenceClassifier, "_check_inputs", lambda self, inputs, lengths: lengths)  # reads values
    model = build(vocab).to("meta")
    (train,) = _place(model, None, train)
    assert (train.inputs.device.type, train.labels.device.type, train.lengths.device.type) == ("meta", "meta", "cpu")
    batch = next(iterate_batches(*train, 16, shuffle=True, generator=torch.Generator().manual_seed(0)))
    logits = model(batch.inputs, batch.lengths)  # (B, C) or (B, G, C)
    labels = batch.labels if logits.dim() == 2 else batch.labels[:, None].expand(-1, logits.shape[1])
    torch.nn.functional.cross_entropy(logits.reshape(-1, 2), labels.reshape(-1)).backward()
    assert all(p.grad.device.type == "meta" for p in model.parameters() if p.grad is not None)


# ---------------------------------------------------------------------------------------
# The CPU: bit-identical with or without device="cpu"


def test_fit_on_the_cpu_is_bit_identical_with_or_without_device_cpu(data):
    vocab, train, test = data
    rows = []
    for device in (None, "cpu"):
        model = classifier(vocab, "gru")
        config = TrainingConfig(epochs=1, batch_size=32, device=device)
        first = fit(model, train, test, config, seed=0)
        prune.prune_to_sparsity(model, 0.5, criterion="random", scope="global", seed=3)
        second = fit(model, train, test, config, seed=1, phase="retrain", validation=test)
        rows.append(without_seconds(first.epochs + second.epochs) + [evaluate(model, test, device=device)])
    assert rows[0] == rows[1]


def test_fit_pack_on_the_cpu_is_bit_identical_with_or_without_device_cpu(data):
    vocab, train, test = data
    rows = []
    for device in (None, "cpu"):
        results = fit_pack(pack(vocab), train, test, TrainingConfig(epochs=1, batch_size=32, device=device), seed=0)
        rows.append([without_seconds(r.epochs) for r in results])
    assert rows[0] == rows[1]


def _stored(out):
    with Store(out, create=False) as store:
        runs, epochs = store.runs(), store.epochs()
    return runs, epochs.drop(columns=["seconds", "finished"])  # all but the times


def test_train_on_the_cpu_is_bit_identical_with_or_without_device_cpu(tmp_path):
    assert cli("train", "--cell", "gru", *SMALL, "--out", tmp_path / "plain") == 0
    assert cli("train", "--cell", "gru", *SMALL, "--device", "cpu", "--out", tmp_path / "cpu") == 0
    (runs, epochs), (runs_cpu, epochs_cpu) = _stored(tmp_path / "plain"), _stored(tmp_path / "cpu")
    pd.testing.assert_frame_equal(epochs, epochs_cpu, check_exact=True)
    assert runs["run_id"].tolist() == runs_cpu["run_id"].tolist() and runs["config"].equals(runs_cpu["config"])
    assert json.loads(runs_cpu["environment"][0])["device"] == "cpu"
    assert json.loads(runs["environment"][0])["device"] == "cpu"  # no device: where the model was built


@pytest.mark.slow
def test_workers_on_auto_give_the_cpu_results_on_a_machine_without_gpus(tmp_path):
    if torch.cuda.is_available():
        pytest.skip("auto would take the GPU here")
    config = StudyConfig(name="w", kind="pruning", seeds=[0], cells=["gru"], **TINY,
                         pruning={"sparsities": [0.5], "retrain_epochs": 1})
    auto = config.model_copy(update={"training": config.training.model_copy(update={"device": "auto"})})
    frames = []
    for name, study, workers in (("one", config, 1), ("two", auto, 2)):
        runs = run_study(study, tmp_path / name, workers=workers)
        assert [json.loads(env)["device"] for env in runs["environment"]] == ["cpu", "cpu"]
        frames.append(_stored(tmp_path / name)[1].sort_values(["run_id", "phase", "epoch"]).reset_index(drop=True))
    pd.testing.assert_frame_equal(frames[0], frames[1], check_exact=True)


@pytest.mark.slow
def test_local_workers_keep_their_index_when_replaced(tmp_path):
    executor = LocalExecutor(tmp_path, 2)
    try:
        assert [w.index for w in executor.workers] == [0, 1]
        executor._replace(1)  # as when worker 1 dies: its successor takes its device
        assert [w.index for w in executor.workers] == [0, 1]
    finally:
        executor.close(cancel=True)


# ---------------------------------------------------------------------------------------
# Bad devices on the command line: one line, exit status 2, nothing stored


@pytest.mark.parametrize("args, expected", [
    (["train", "--device", "tpu"], "Invalid value for '--device': a device must be 'auto', 'cpu', 'cuda' or 'cuda:N'"),
    (["run", "--device", "cuda:x"], "Invalid value for '--device': a device must be"),
    (["train", "--set", "training.device=tpu"], "training.device: a device must be"),
    (["train", "--device", "cuda:999"], "device 'cuda:999' was asked for, but this machine has"),
    (["run", "--device", "cuda:999", "--set", "training.epochs=1"], "device 'cuda:999' was asked for"),
])
def test_bad_devices_end_in_one_line(tmp_path, capfd, args, expected):
    assert expected in fail_line(capfd, *args, *(SMALL if args[0] == "train" else []), "--out", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_cuda_on_a_cpu_build_says_what_this_machine_has(tmp_path, capfd, monkeypatch):
    _gpus(monkeypatch, 0)
    err = fail_line(capfd, "train", *SMALL, "--device", "cuda:7", "--out", tmp_path / "out")
    assert err.startswith("sparsernn: error: device 'cuda:7' was asked for, but this machine has no CUDA device")
    assert not (tmp_path / "out").exists()


def test_a_bad_device_in_a_config_file_ends_in_one_line(tmp_path, capfd):
    path = tmp_path / "study.yaml"
    path.write_text("name: y\nseeds: [0]\ncells: [gru]\ntraining: {device: tpu}\n")
    assert "training.device: a device must be" in fail_line(capfd, "run", path, "--out", tmp_path / "out")
    path.write_text("name: y\nseeds: [0]\ncells: [gru]\ntraining: {device: 'cuda:999'}\n")
    assert "device 'cuda:999' was asked for" in fail_line(capfd, "run", path, "--out", tmp_path / "out")
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------------------------------
# A GPU: the same results up to float rounding (skipped without one)


def _close(rows, reference, *, loss=1e-3, acc=0.05):
    assert [(r["phase"], r["epoch"], r["nonzero_params"]) for r in rows] == \
        [(r["phase"], r["epoch"], r["nonzero_params"]) for r in reference]
    for row, ref in zip(rows, reference):
        for key in ("train_loss", "test_loss"):
            assert row[key] == pytest.approx(ref[key], rel=loss), key
        for key in ("train_acc", "test_acc"):
            assert row[key] == pytest.approx(ref[key], abs=acc), key


@pytest.mark.cuda
@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn_tanh"])
def test_a_classifier_trains_on_cuda_as_on_the_cpu(data, cell):
    vocab, train, test = data
    results, models = [], []
    for device in ("cpu", "cuda"):
        model = classifier(vocab, cell)
        results.append(fit(model, train, test, TrainingConfig(epochs=2, batch_size=16, device=device), seed=0))
        models.append(model)
    assert all(t.device.type == "cuda" for t in [*models[1].parameters(), *models[1].buffers()])
    _close(results[1].epochs, results[0].epochs)
    (loss, acc), (cpu_loss, cpu_acc) = evaluate(models[1].cpu(), test), evaluate(models[0], test)
    assert loss == pytest.approx(cpu_loss, rel=1e-3) and acc == pytest.approx(cpu_acc, abs=0.05)


@pytest.mark.cuda
def test_a_pack_trains_on_cuda_as_on_the_cpu(data):
    vocab, train, test = data
    runs = {}
    for device in ("cpu", "cuda"):
        runs[device] = fit_pack(pack(vocab), train, test, TrainingConfig(epochs=2, batch_size=16, device=device),
                                seed=0)
    for on_gpu, on_cpu in zip(runs["cuda"], runs["cpu"]):
        assert on_gpu.status == on_cpu.status == "done"
        _close(on_gpu.epochs, on_cpu.epochs)


@pytest.mark.cuda
@pytest.mark.parametrize("criterion", ["magnitude", "random"])
def test_pruning_a_model_on_cuda_removes_the_weights_it_removes_on_the_cpu(data, criterion):
    vocab, train, test = data
    on_cpu, on_gpu = classifier(vocab), classifier(vocab).cuda()
    for model in (on_cpu, on_gpu):
        prune.prune_to_sparsity(model, 0.6, criterion=criterion, scope="global", seed=5)
        prune.threshold(model, 0.05, targets="hh")
    for (name, mask), (_, gpu_mask) in zip(on_cpu.named_buffers(), on_gpu.named_buffers()):
        assert gpu_mask.device.type == "cuda" and torch.equal(mask, gpu_mask.cpu()), name
    config = TrainingConfig(epochs=1, batch_size=16)
    rows = [fit(m, train, test, config.model_copy(update={"device": d}), seed=0,
                after_step=prune.GradualPruner(m, final=0.8, start=1, duration=10, frequency=5).step).epochs
            for m, d in ((on_cpu, "cpu"), (on_gpu, "cuda"))]
    _close(rows[1], rows[0])


@pytest.mark.cuda
@pytest.mark.slow
def test_a_pruning_study_on_cuda_records_its_gpu_and_matches_the_cpu(tmp_path):
    config = StudyConfig(name="g", kind="pruning", seeds=[0], cells=["lstm"], **TINY,
                         pruning={"sparsities": [0.5], "schedules": ["one_shot", "iterative", "gradual"],
                                  "retrain_epochs": 2, "iterative": {"epochs_per_round": 1},
                                  "gradual": {"prune_epochs": 1, "frequency": 2}})
    on_gpu = config.model_copy(update={"training": config.training.model_copy(update={"device": "cuda"})})
    frames = []
    for name, study in (("cpu", config), ("cuda", on_gpu)):
        runs = run_study(study, tmp_path / name)
        assert (runs["status"] == "done").all()
        assert {json.loads(env)["device"] for env in runs["environment"]} == {"cpu" if name == "cpu" else "cuda:0"}
        frames.append(_stored(tmp_path / name)[1].sort_values(["run_id", "phase", "epoch"]).to_dict("records"))
    _close(frames[1], frames[0])
