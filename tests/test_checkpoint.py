import pickle

import pytest
import torch

from sparsernn.checkpoint import load_checkpoint, save_checkpoint
from sparsernn.data import Vocabulary
from sparsernn.errors import InputError
from sparsernn.nn import SequenceClassifier


def test_round_trip_restores_weights_masks_and_vocab(tmp_path):
    torch.manual_seed(0)
    model = SequenceClassifier("lstm", 9, hidden_sizes=(5, 4), embedding_dim=3)
    model.layers[0].mask_hh_l0[:, 1] = False
    model.readout.mask[0, :2] = False
    vocab = Vocabulary.from_strings(["BTXSE", "BPVVE", "BTSSXXTVVE"])
    path = save_checkpoint(tmp_path / "m.pt", model, vocab, run_id="abc")
    loaded, loaded_vocab, meta = load_checkpoint(path)
    assert loaded_vocab == vocab and meta == {"run_id": "abc"}
    assert not loaded.layers[0].mask_hh_l0[:, 1].any() and loaded.readout.mask.sum() == model.readout.mask.sum()
    tokens, lengths = vocab.encode(["BTXSE", "BTSSXXTVVE"])
    torch.testing.assert_close(loaded(tokens, lengths), model(tokens, lengths), rtol=0, atol=0)


class Boom:
    def __reduce__(self):
        return (print, ("code ran",))


def test_a_pickled_object_is_refused_without_running_it(tmp_path, capsys):
    path = tmp_path / "evil.pt"
    torch.save({"format": "x", "payload": Boom()}, path)
    with pytest.raises(InputError, match="cannot be read safely"):
        load_checkpoint(path)
    assert "code ran" not in capsys.readouterr().out


@pytest.mark.parametrize("content", [b"", b"not a checkpoint", pickle.dumps({"format": "other"})])
def test_broken_files_are_reported(tmp_path, content):
    path = tmp_path / "bad.pt"
    path.write_bytes(content)
    with pytest.raises(InputError, match="bad.pt"):
        load_checkpoint(path)


def test_missing_file_and_foreign_format(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        load_checkpoint(tmp_path / "none.pt")
    torch.save({"format": "something-else"}, tmp_path / "other.pt")
    with pytest.raises(InputError, match="is not a sparsernn.checkpoint/1 file"):
        load_checkpoint(tmp_path / "other.pt")
