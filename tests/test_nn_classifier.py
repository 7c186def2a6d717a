"""SequenceClassifier: reads the true last symbol, validates its arguments, round-trips hparams."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from sparsernn.errors import InputError
from sparsernn.nn import (
    MaskedGRU,
    MaskedLinear,
    MaskedLSTM,
    MaskedRNN,
    SequenceClassifier,
    count_parameters,
    masked_weights,
)

CELL_NAMES = ["rnn_tanh", "rnn_relu", "lstm", "gru"]


def padded_batch(lengths, steps, vocab=9, seed=0):
    g = torch.Generator().manual_seed(seed)
    tokens = torch.randint(1, vocab, (len(lengths), steps), generator=g)
    for b, n in enumerate(lengths):
        tokens[b, n:] = 0
    return tokens, torch.tensor(lengths)


@pytest.mark.parametrize("cell", CELL_NAMES)
def test_padded_batch_equals_each_sequence_alone(cell):
    torch.manual_seed(0)
    model = SequenceClassifier(cell, vocab_size=9, hidden_sizes=(6, 5), num_classes=3, embedding_dim=4).eval()
    tokens, lengths = padded_batch([3, 7, 1, 5], steps=7)
    logits = model(tokens, lengths)
    assert logits.shape == (4, 3)
    for b, n in enumerate(lengths.tolist()):
        alone = model(tokens[b : b + 1, :n], torch.tensor([n]))
        torch.testing.assert_close(logits[b : b + 1], alone, rtol=0, atol=1e-6)


@pytest.mark.parametrize("cell", CELL_NAMES)
def test_tokens_after_the_length_do_not_change_logits(cell):
    torch.manual_seed(0)
    model = SequenceClassifier(cell, vocab_size=9, hidden_sizes=(6,), embedding_dim=4).eval()
    tokens, lengths = padded_batch([2, 6, 4], steps=6)
    logits = model(tokens, lengths)
    changed = tokens.clone()
    changed[0, 2:] = 8
    changed[2, 4:] = torch.tensor([3, 5])
    assert torch.equal(model(changed, lengths), logits)
    # ...while a token inside a sequence does change them (the check above can fail)
    changed[0, 1] = 1 if tokens[0, 1] != 1 else 2
    assert not torch.allclose(model(changed, lengths)[0], logits[0])


def test_reads_the_last_symbol_of_a_hand_built_network():
    # one relu unit that counts its inputs: h_t = relu(h_{t-1} + x_t) with x_t = 1 per token
    model = SequenceClassifier("rnn_relu", vocab_size=2, hidden_sizes=(1,), num_classes=1, embedding_dim=1)
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
        model.embed.weight[1] = 1.0
        model.layers[0].weight_ih_l0.fill_(1.0)
        model.layers[0].weight_hh_l0.fill_(1.0)
        model.readout.weight.fill_(1.0)
    tokens, lengths = padded_batch([2, 5, 3], steps=5, vocab=2)
    tokens[tokens == 0] = 1  # padding positions hold real tokens: they still must not count
    assert model(tokens, lengths).squeeze(1).tolist() == [2.0, 5.0, 3.0]


def test_different_hidden_sizes_and_layer_types():
    model = SequenceClassifier("lstm", vocab_size=5, hidden_sizes=[7, 3, 4], num_classes=2, embedding_dim=6)
    assert [type(layer) for layer in model.layers] == [MaskedLSTM] * 3
    assert [(l.input_size, l.hidden_size, l.num_layers, l.batch_first) for l in model.layers] == [
        (6, 7, 1, True), (7, 3, 1, True), (3, 4, 1, True),
    ]  # fmt: skip
    assert isinstance(model.readout, MaskedLinear) and model.readout.in_features == 4
    tokens, lengths = padded_batch([3, 4], steps=4, vocab=5)
    assert model(tokens, lengths).shape == (2, 2)

    assert type(SequenceClassifier("gru", vocab_size=5).layers[0]) is MaskedGRU
    relu = SequenceClassifier("rnn_relu", vocab_size=5).layers[0]
    assert type(relu) is MaskedRNN and relu.nonlinearity == "relu"
    assert SequenceClassifier("rnn_tanh", vocab_size=5).layers[0].nonlinearity == "tanh"
    plain_readout = SequenceClassifier("gru", vocab_size=5, readout_mask=False).readout
    assert type(plain_readout) is nn.Linear


def test_dropout_between_layers_only_in_training():
    torch.manual_seed(0)
    model = SequenceClassifier("gru", vocab_size=9, hidden_sizes=(8, 8), embedding_dim=4, dropout=0.5)
    tokens, lengths = padded_batch([3, 5], steps=5)
    model.eval()
    assert torch.equal(model(tokens, lengths), model(tokens, lengths))
    model.train()
    torch.manual_seed(1)
    first = model(tokens, lengths)
    torch.manual_seed(2)
    assert not torch.allclose(first, model(tokens, lengths))


def test_input_features_mode():
    torch.manual_seed(0)
    model = SequenceClassifier("lstm", input_features=3, hidden_sizes=(5, 4), num_classes=2, embedding_dim=6).eval()
    assert isinstance(model.embed, nn.Linear) and model.embed.in_features == 3
    x = torch.randn(3, 6, 3)
    lengths = torch.tensor([6, 2, 4])
    logits = model(x, lengths)
    assert logits.shape == (3, 2)
    x[1, 2:] = 1e3  # padding content is never read
    assert torch.equal(model(x, lengths), logits)
    torch.testing.assert_close(model(x[2:3, :4], torch.tensor([4])), logits[2:3], rtol=0, atol=1e-6)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"cell": "transformer", "vocab_size": 9},
         r"'cell'.*\['gru', 'lstm', 'rnn_relu', 'rnn_tanh'\]; got 'transformer'"),
        ({"cell": "lstm"}, "exactly one of 'vocab_size'"),
        ({"cell": "lstm", "vocab_size": 9, "input_features": 3}, "exactly one of 'vocab_size'"),
        ({"cell": "lstm", "vocab_size": 0}, "'vocab_size'.*positive int; got 0"),
        ({"cell": "lstm", "input_features": 2.5}, "'input_features'.*positive int; got 2.5"),
        ({"cell": "lstm", "vocab_size": 9, "hidden_sizes": ()}, "'hidden_sizes'.*non-empty sequence"),
        ({"cell": "lstm", "vocab_size": 9, "hidden_sizes": 50}, "'hidden_sizes'.*non-empty sequence"),
        ({"cell": "lstm", "vocab_size": 9, "hidden_sizes": (50, 0)}, r"'hidden_sizes'.*got \[50, 0\]"),
        ({"cell": "lstm", "vocab_size": 9, "hidden_sizes": (50, True)}, "'hidden_sizes'"),
        ({"cell": "lstm", "vocab_size": 9, "num_classes": -1}, "'num_classes'.*got -1"),
        ({"cell": "lstm", "vocab_size": 9, "embedding_dim": 0}, "'embedding_dim'"),
        ({"cell": "lstm", "vocab_size": 9, "dropout": 1.0}, r"'dropout'.*\[0, 1\); got 1.0"),
        ({"cell": "lstm", "vocab_size": 9, "readout_mask": "yes"}, "'readout_mask'.*bool"),
    ],
)
def test_bad_arguments_raise_input_error(kwargs, match):
    with pytest.raises(InputError, match=match):
        SequenceClassifier(**kwargs)


def test_bad_forward_inputs_raise_input_error():
    model = SequenceClassifier("gru", vocab_size=9, hidden_sizes=(4,), embedding_dim=3)
    tokens, lengths = padded_batch([2, 3], steps=3)
    with pytest.raises(InputError, match=r"\(B, T\) integer tensor"):
        model(tokens.float(), lengths)
    too_big = tokens.clone()
    too_big[0, 0] = 12
    with pytest.raises(InputError, match=r"token ids in \[0, 9\); got values in \[0, 12\]"):
        model(too_big, lengths)
    with pytest.raises(InputError, match=r"lengths must be a \(2,\) integer tensor"):
        model(tokens, torch.tensor([2, 3, 1]))
    with pytest.raises(InputError, match=r"lengths must lie in \[1, 3\]"):
        model(tokens, torch.tensor([0, 3]))
    with pytest.raises(InputError, match=r"lengths must lie in \[1, 3\]"):
        model(tokens, torch.tensor([2, 4]))
    with pytest.raises(InputError, match="at least one sequence"):
        model(tokens[:0], lengths[:0])
    features = SequenceClassifier("gru", input_features=2, hidden_sizes=(4,), embedding_dim=3)
    with pytest.raises(InputError, match=r"\(B, T, 2\) float tensor"):
        features(torch.randn(2, 3, 5), lengths)


def test_hparams_round_trip_through_json():
    model = SequenceClassifier("rnn_relu", vocab_size=7, hidden_sizes=(4, 3), num_classes=5, embedding_dim=2,
                               dropout=0.25)
    hparams = json.loads(json.dumps(model.hparams))
    assert hparams == {
        "cell": "rnn_relu", "vocab_size": 7, "hidden_sizes": [4, 3], "num_classes": 5,
        "input_features": None, "embedding_dim": 2, "dropout": 0.25, "readout_mask": True,
    }  # fmt: skip
    rebuilt = SequenceClassifier(**hparams)
    assert rebuilt.hparams == model.hparams
    rebuilt.load_state_dict(model.state_dict())  # same architecture: same keys and shapes
    model.hparams["hidden_sizes"].append(9)  # a copy: the model's own record is safe
    assert model.hparams["hidden_sizes"] == [4, 3]


def test_count_parameters_by_hand():
    model = SequenceClassifier("rnn_tanh", vocab_size=3, hidden_sizes=(2,), num_classes=2, embedding_dim=2)
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(1.0)
        model.embed.weight[0] = 0.0  # the padding row
    # embed 3x2=6, ih 2x2=4, hh 2x2=4, biases 2+2, readout 2x2=4 + 2  -> 24
    model.layers[0].mask_hh_l0[0, 1] = False
    model.layers[0].mask_ih_l0[:, 0] = False
    model.readout.mask[1, 1] = False
    # zeros: 2 padding, 1 hh, 2 ih, 1 readout -> 18 nonzero
    assert model.count_parameters() == (18, 24)
    assert count_parameters(model) == (18, 24)
    assert model.count_parameters().density == pytest.approx(18 / 24)


def test_masked_weights_of_a_classifier():
    model = SequenceClassifier("lstm", vocab_size=5, hidden_sizes=(4, 3, 2), num_classes=2, embedding_dim=3)
    records = masked_weights(model)
    assert [(r.name, r.target, r.layer, r.direction) for r in records] == [
        ("layers.0.weight_ih_l0", "ih", 0, 0),
        ("layers.0.weight_hh_l0", "hh", 0, 0),
        ("layers.1.weight_ih_l0", "ih", 1, 0),
        ("layers.1.weight_hh_l0", "hh", 1, 0),
        ("layers.2.weight_ih_l0", "ih", 2, 0),
        ("layers.2.weight_hh_l0", "hh", 2, 0),
        ("readout.weight", "ho", None, 0),
    ]
    assert records[3].weight is model.layers[1].weight_hh_l0
    assert records[3].qualified_mask_name == "layers.1.mask_hh_l0"
    state = model.state_dict()
    assert all(state[r.qualified_mask_name].dtype == torch.bool for r in records)
    unmasked = SequenceClassifier("lstm", vocab_size=5, hidden_sizes=(4,), readout_mask=False)
    assert [r.target for r in masked_weights(unmasked)] == ["ih", "hh"]


