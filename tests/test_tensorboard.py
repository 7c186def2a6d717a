"""TensorBoard export: what ``results --tensorboard`` writes, read back by TensorBoard itself."""

import pytest

from sparsernn.cli import main
from sparsernn.store import Store

pytest.importorskip("tensorboard")
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402
from tensorboard.plugins.hparams import plugin_data_pb2  # noqa: E402


def _row(phase, epoch, acc):
    return dict(phase=phase, epoch=epoch, train_loss=1.0 - acc, train_acc=acc, test_loss=1.1 - acc, test_acc=acc,
                nonzero_params=100 - epoch, total_params=100, seconds=0.5)


def test_results_tensorboard_writes_every_trial_read_back_by_tensorboard(tmp_path, capsys):
    with Store(tmp_path / "out") as store:
        store.add_runs([{"run_id": "a", "study": "s", "kind": "dense",
                         "config": {"seed": 0, "cell": "gru", "training": {"lr": 0.01}, "model": {"sizes": [4, 4]}}},
                        {"run_id": "b", "study": "s", "kind": "dense", "config": {"seed": 1, "cell": "lstm"}}])
        store.finish_run("a", "done", epochs=[_row("train", 0, 0.5), _row("train", 1, 0.75), _row("train", 2, 0.875)])
        store.finish_run("b", "done", epochs=[_row("train", 0, 0.25)])
    assert main(["results", str(tmp_path / "out"), "--tensorboard", str(tmp_path / "tb")]) == 0
    assert "wrote 2 trials" in capsys.readouterr().out
    events = EventAccumulator(str(tmp_path / "tb" / "s" / "a")).Reload()
    assert [(e.step, e.value) for e in events.Scalars("train/test_acc")] == [(0, 0.5), (1, 0.75), (2, 0.875)]
    assert [e.value for e in events.Scalars("train/nonzero_params")] == [100, 99, 98]
    assert "train/val_acc" not in events.Tags()["scalars"]  # not recorded, not written
    info = plugin_data_pb2.HParamsPluginData.FromString(
        events.PluginTagToContent("hparams")["_hparams_/session_start_info"]).session_start_info
    assert info.hparams["training.lr"].number_value == 0.01 and info.hparams["cell"].string_value == "gru"
    assert info.hparams["model.sizes"].string_value == "[4, 4]" and info.hparams["status"].string_value == "done"
    other = EventAccumulator(str(tmp_path / "tb" / "s" / "b")).Reload()
    assert [e.value for e in other.Scalars("train/train_acc")] == [0.25]
