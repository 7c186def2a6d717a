import pickle

import networkx as nx
import pytest
import torch

from sparsernn import prune
from sparsernn.checkpoint import load_checkpoint, save_checkpoint
from sparsernn.data import Vocabulary
from sparsernn.errors import InputError
from sparsernn.nn import GraphRNN, GraphRNNPack, SequenceClassifier, to_graph


def test_round_trip_restores_weights_masks_and_vocab(tmp_path):
    torch.manual_seed(0)
    model = SequenceClassifier("lstm", 9, hidden_sizes=(5, 4), embedding_dim=3)
    model.layers[0].mask_hh_l0[:, 1] = False
    model.readout.mask[0, :2] = False
    vocab = Vocabulary.from_strings(["BTXSE", "BPVVE", "BTSSXXTVVE"])
    path = save_checkpoint(tmp_path / "m.pt", model, vocab, classes=["no", "yes"], trial_id="abc", note=1)
    saved = load_checkpoint(path)
    assert saved.vocab == vocab and saved.metadata == {"note": 1}
    assert saved.classes == ("no", "yes") and saved.trial_id == "abc"
    loaded = saved.model
    assert not loaded.layers[0].mask_hh_l0[:, 1].any() and loaded.readout.mask.sum() == model.readout.mask.sum()
    tokens, lengths = vocab.encode(["BTXSE", "BTSSXXTVVE"])
    torch.testing.assert_close(loaded(tokens, lengths), model(tokens, lengths), rtol=0, atol=0)


def _same_predictions(a, b, vocab):
    tokens, lengths = vocab.encode(["BTXSE", "BTSSXXTVVE", "BPVVE", "B"])
    a.eval(), b.eval()
    with torch.no_grad():
        torch.testing.assert_close(a(tokens, lengths), b(tokens, lengths), rtol=0, atol=0)


VOCAB = Vocabulary.from_strings(["BTXSE", "BPVVE", "BTSSXXTVVE"])


def test_a_pruned_classifier_reloads_with_its_masks_and_zeros(tmp_path):
    torch.manual_seed(1)
    model = SequenceClassifier("gru", len(VOCAB), hidden_sizes=(6, 5), embedding_dim=4, dropout=0.2)
    prune.prune_to_sparsity(model, 0.7, targets=("ih", "hh", "ho"), scope="layer")
    loaded = load_checkpoint(save_checkpoint(tmp_path / "p.pt", model, VOCAB)).model
    assert prune.sparsity(loaded) == prune.sparsity(model)
    assert prune.sparsity(loaded)["overall"] == pytest.approx(0.7, abs=0.01)
    _same_predictions(loaded, model, VOCAB)


def _dag(edges):
    return nx.DiGraph(edges)


def test_a_graph_rnn_reloads_from_its_checkpoint_alone(tmp_path):
    torch.manual_seed(2)
    dag = _dag([(0, 2), (1, 2), (2, 3), (0, 3), (1, 4)])  # 0 -> 3 skips a layer; 4 is a second sink
    model = GraphRNN(dag, "lstm", len(VOCAB), embedding_dim=3, num_classes=3, recurrence="self")
    saved = load_checkpoint(save_checkpoint(tmp_path / "g.pt", model, VOCAB, classes=["a", "b", "c"]))
    assert type(saved.model) is GraphRNN and saved.model.hparams == model.hparams
    assert sorted(to_graph(saved.model).edges()) == sorted(dag.edges())
    _same_predictions(saved.model, model, VOCAB)


def test_a_pack_and_a_member_of_a_pack_reload(tmp_path):
    torch.manual_seed(3)
    members = [GraphRNN(_dag([(0, 1), (1, 2)]), "rnn_tanh", len(VOCAB), embedding_dim=2),
               GraphRNN(_dag([(0, 2), (1, 2), (2, 3)]), "rnn_tanh", len(VOCAB), embedding_dim=3)]
    pack = GraphRNNPack(members)
    with torch.no_grad():  # the pack's parameters move on from the members' (as in training)
        for p in pack.parameters():
            p.add_(0.1)
    member = pack.member(1)
    reloaded_member = load_checkpoint(save_checkpoint(tmp_path / "m.pt", member, VOCAB)).model
    assert type(reloaded_member) is GraphRNN
    _same_predictions(reloaded_member, member, VOCAB)
    tokens, lengths = VOCAB.encode(["BTXSE", "BPVVE"])
    with torch.no_grad():  # the member of the pack, computed alone: the pack's column 1 up to float rounding
        torch.testing.assert_close(reloaded_member(tokens, lengths), pack(tokens, lengths)[:, 1])
    reloaded_pack = load_checkpoint(save_checkpoint(tmp_path / "pack.pt", pack, VOCAB)).model
    assert type(reloaded_pack) is GraphRNNPack and reloaded_pack.member_hparams == pack.member_hparams
    _same_predictions(reloaded_pack, pack, VOCAB)


def test_a_first_format_file_still_loads(tmp_path):
    model = SequenceClassifier("rnn_relu", len(VOCAB), hidden_sizes=[3], embedding_dim=2)
    torch.save({"format": "sparsernn.checkpoint/1", "hparams": model.hparams, "vocab": VOCAB.to_list(),
                "state_dict": model.state_dict(), "metadata": {"run_id": "r1"}}, tmp_path / "old.pt")
    saved = load_checkpoint(tmp_path / "old.pt")
    assert saved.trial_id == "r1" and saved.classes is None and saved.vocab == VOCAB
    _same_predictions(saved.model, model, VOCAB)


def _payload(tmp_path, **changes):
    model = GraphRNN(_dag([(0, 1)]), "gru", len(VOCAB), embedding_dim=2)
    path = save_checkpoint(tmp_path / "g.pt", model, VOCAB, classes=["x", "y"])
    payload = torch.load(path, weights_only=True)
    payload.update(changes)
    torch.save(payload, path)
    return path


@pytest.mark.parametrize(("changes", "message"), [
    ({"model_class": "nn.Module"}, "'model_class' must be one of"),
    ({"classes": ["x", "y", "z"]}, "3 class names for 2 outputs"),
    ({"classes": ["x", "x"]}, "must be distinct"),
    ({"classes": "xy"}, "'classes' must be a list of str"),
    ({"trial_id": 7}, "'trial_id' must be a str"),
    ({"hparams": {"edges": [[0, 1]], "vertices": [0, 1, 2], "cell": "gru", "vocab_size": 9}},
     "3 vertices but a readout of 2 inputs"),
    ({"hparams": {"edges": [[0, 1], [1, 0]], "vertices": [0, 1], "cell": "gru", "vocab_size": 9}}, "cycle"),
    ({"hparams": {"edges": [[0, 1]], "vertices": [0, 1], "cell": "gru"}}, "no 'vocab_size'"),
    ({"model_class": "SequenceClassifier"}, "unknown argument"),
    ({"vocab": list("abcdefghijklmnop")}, "a vocabulary of 18 tokens for an embedding of 9"),
])
def test_parts_that_do_not_fit_are_refused_in_one_line(tmp_path, changes, message):
    path = _payload(tmp_path, **changes)
    with pytest.raises(InputError, match=message) as info:
        load_checkpoint(path)
    assert "\n" not in str(info.value) and "g.pt" in str(info.value)


def test_only_the_project_models_are_saved(tmp_path):
    with pytest.raises(InputError, match="save_checkpoint saves a model of a class in"):
        save_checkpoint(tmp_path / "x.pt", torch.nn.LSTM(2, 3))
    assert not (tmp_path / "x.pt").exists()


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
    with pytest.raises(InputError, match="is not a sparsernn.checkpoint/2 file"):
        load_checkpoint(tmp_path / "other.pt")
