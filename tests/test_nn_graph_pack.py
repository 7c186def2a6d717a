"""GraphRNNPack: members in, the same members out; the pack computes and trains each as it would alone."""

import copy
import math

import networkx as nx
import pytest
import torch

from sparsernn.data import Vocabulary, reber_dataset
from sparsernn.errors import InputError
from sparsernn.graphs import barabasi_albert, to_dag, watts_strogatz
from sparsernn.nn import GraphRNN, GraphRNNPack, count_parameters
from sparsernn.train import TrainingConfig, encode_split, fit, fit_pack

CELLS = ["rnn_tanh", "rnn_relu", "lstm", "gru"]
VOCAB = 9  # the Reber alphabet (7 symbols), padding and unknown


def make_members(cell, *, seed=0, recurrences=("layer", "self", "none", "layer")):
    """Four members of different depths, embedding widths, readouts and recurrences."""
    torch.manual_seed(seed)
    specs = [
        (nx.DiGraph([(0, 1), (1, 2), (0, 2), (2, 3)]), "last_layer", 3),      # a chain with a skip, 4 layers
        (to_dag(watts_strogatz(10, 4, 1.0, seed=seed), "index"), "sinks", 4),
        (nx.DiGraph([(0, 1)]), "sinks", 2),                                   # 2 layers
        (to_dag(barabasi_albert(9, 2, seed=seed), "index"), "sinks", 5),
    ]
    return [GraphRNN(dag, cell, VOCAB, embedding_dim=dim, recurrence=rec, readout=readout)
            for (dag, readout, dim), rec in zip(specs, recurrences)]


def random_batch(seed=0, batch=5, max_len=7):
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(1, max_len + 1, (batch,), generator=g)
    lengths[0] = max_len
    tokens = torch.randint(1, VOCAB, (batch, max_len), generator=g)
    tokens[torch.arange(max_len)[None, :] >= lengths[:, None]] = 0
    return tokens, lengths


@pytest.fixture(scope="module")
def data():
    splits = reber_dataset(90, validation_fraction=0.2, seed=0)
    vocab = Vocabulary.from_strings(splits.train.strings)
    assert len(vocab) <= VOCAB
    return tuple(encode_split(vocab, s) for s in (splits.train, splits.test, splits.validation))


# ---------------------------------------------------------------------------------------
# Building, unpacking, forward


@pytest.mark.parametrize("cell", CELLS)
def test_pack_then_unpack_is_bit_identical(cell):
    members = make_members(cell)
    pack = GraphRNNPack(members)
    tokens, lengths = random_batch()
    for member, back in zip(members, pack.unpack(), strict=True):
        assert back.hparams == member.hparams
        original, unpacked = member.state_dict(), back.state_dict()
        assert original.keys() == unpacked.keys()
        assert all(torch.equal(original[k], unpacked[k]) for k in original)
        assert torch.equal(back(tokens, lengths), member(tokens, lengths))


def test_packing_and_unpacking_leave_the_global_rng_alone():
    members = make_members("gru")
    state = torch.random.get_rng_state()
    GraphRNNPack(members).unpack()
    assert torch.equal(state, torch.random.get_rng_state())


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("recurrences", [("layer", "self", "none", "layer"), ("self",) * 4, ("none",) * 4])
def test_pack_logits_are_each_members_logits(cell, recurrences):
    members = make_members(cell, recurrences=recurrences)
    pack = GraphRNNPack(members)
    tokens, lengths = random_batch()
    logits = pack(tokens, lengths)
    assert logits.shape == (5, 4, 2)
    for g, member in enumerate(members):
        torch.testing.assert_close(logits[:, g], member(tokens, lengths), atol=1e-6, rtol=0)


def test_gradients_of_a_member_are_its_own():
    members = make_members("lstm")
    pack = GraphRNNPack(members)
    tokens, lengths = random_batch()
    pack(tokens, lengths)[:, 1].sum().backward()  # member 1 only
    members[1](tokens, lengths).sum().backward()
    grads = dict(pack.named_parameters())
    for name, param in members[1].named_parameters():
        place = pack._places[1][name]
        torch.testing.assert_close(grads[name].grad[place], param.grad, atol=1e-6, rtol=0)
    for name, param in pack.named_parameters():  # nobody else's entries move
        assert (param.grad[pack.owners[name] != 1] == 0).all()


def test_masks_and_owners_are_block_structured_by_hand():
    torch.manual_seed(0)
    a = GraphRNN(nx.DiGraph([(0, 1)]), "lstm", 4, embedding_dim=2, recurrence="layer")
    b = GraphRNN(nx.DiGraph([(0, 2), (1, 2), (2, 3)]), "lstm", 4, embedding_dim=3, recurrence="self")
    pack = GraphRNNPack([a, b])
    # pack layers: [a0 | b0 b1], [a1 | b2], [b3]; state columns: a0 b0 b1 | a1 b2 | b3
    layer0, layer1, layer2 = pack.layers

    def tiled(rows):
        return torch.tensor(rows, dtype=torch.bool).repeat(4, 1)  # i, f, g, o blocks alike

    assert torch.equal(layer0.mask_ih_l0, tiled([[1, 1, 0, 0, 0], [0, 0, 1, 1, 1], [0, 0, 1, 1, 1]]))
    assert torch.equal(layer0.mask_hh_l0, tiled([[1, 0, 0], [0, 1, 0], [0, 0, 1]]))  # a dense, b self
    assert torch.equal(layer1.mask_ih_l0, tiled([[1, 0, 0], [0, 1, 1]]))
    assert torch.equal(layer1.mask_hh_l0, tiled([[1, 0], [0, 1]]))
    assert torch.equal(layer2.mask_ih_l0, tiled([[0, 0, 0, 0, 1]]))
    assert torch.equal(layer2.mask_hh_l0, tiled([[1]]))
    # readout: a's sink a1 (column 3) -> outputs 0, 1; b's sink b3 (column 5) -> outputs 2, 3
    assert torch.equal(pack.readout.mask, torch.tensor([[0, 0, 0, 1, 0, 0]] * 2 + [[0, 0, 0, 0, 0, 1]] * 2,
                                                       dtype=torch.bool))
    assert torch.equal(pack.owners["embed.weight"], torch.tensor([[0, 0, 1, 1, 1]] * 4))
    assert torch.equal(pack.owners["layers.1.weight_ih_l0"], torch.tensor([[0, -1, -1], [-1, 1, 1]] * 4))
    assert torch.equal(pack.owners["layers.0.bias_hh_l0"], torch.tensor([0, 1, 1] * 4))
    assert torch.equal(pack.owners["readout.bias"], torch.tensor([0, 0, 1, 1]))
    # entries of no member are exactly zero; the gate blocks are copied, not interleaved
    assert (layer1.weight_ih_l0[pack.owners["layers.1.weight_ih_l0"] < 0] == 0).all()
    assert torch.equal(layer1.weight_ih_l0[[0, 2, 4, 6], 0], a.layers[1].weight_ih_l0[:, 0])
    assert torch.equal(layer1.weight_hh_l0[[1, 3, 5, 7], 1], b.layers[1].weight_hh_l0[:, 0])


def test_parameter_counts_are_the_members_counts():
    members = make_members("gru")
    with torch.no_grad():
        members[1].layers[1].mask_ih_l0[:, 0] = False
        members[3].readout.weight.zero_()
    pack = GraphRNNPack(members)
    assert pack.parameter_counts() == [count_parameters(m) for m in members]


def test_members_must_agree_on_cell_vocabulary_and_classes():
    dag = nx.DiGraph([(0, 1)])
    gru = GraphRNN(dag, "gru", 5)
    with pytest.raises(InputError, match="'cell'"):
        GraphRNNPack([gru, GraphRNN(dag, "lstm", 5)])
    with pytest.raises(InputError, match="'vocab_size'"):
        GraphRNNPack([gru, GraphRNN(dag, "gru", 6)])
    with pytest.raises(InputError, match="'num_classes'"):
        GraphRNNPack([gru, GraphRNN(dag, "gru", 5, num_classes=3)])
    with pytest.raises(InputError, match="at least one"):
        GraphRNNPack([])
    with pytest.raises(InputError, match="member 1"):
        GraphRNNPack([gru, torch.nn.Linear(2, 2)])


# ---------------------------------------------------------------------------------------
# Training


def rows_close(pack_rows, fit_rows):
    assert len(pack_rows) == len(fit_rows)
    for got, want in zip(pack_rows, fit_rows):
        assert got.keys() == want.keys()
        for key in want:
            if key == "seconds":
                continue
            if isinstance(want[key], float):
                both_nan = math.isnan(got[key]) and math.isnan(want[key])
                assert both_nan or got[key] == pytest.approx(want[key], abs=1e-5), key
            else:
                assert got[key] == want[key], key


def params_close(model, reference):
    for (name, got), want in zip(model.named_parameters(), reference.parameters(), strict=True):
        torch.testing.assert_close(got, want, atol=1e-5, rtol=0, msg=name)


@pytest.mark.slow
@pytest.mark.parametrize("cell, optimizer", [("lstm", dict(optimizer="adam")),
                                             ("gru", dict(optimizer="sgd", lr=0.5, momentum=0.9, weight_decay=1e-3))])
def test_fit_pack_equals_separate_fits(data, cell, optimizer):
    train, test, validation = data
    members = make_members(cell)
    config = TrainingConfig(epochs=2, batch_size=16, clip=0.05, **optimizer)  # tiny clip: per-member clipping matters
    separate = [copy.deepcopy(m) for m in members]
    alone = [fit(m, train, test, config, seed=3, validation=validation) for m in separate]
    pack = GraphRNNPack(members)
    seen, batches = [], []
    results = fit_pack(pack, train, test, config, seed=3, validation=validation,
                       on_epoch=lambda g, row: seen.append((g, row["epoch"])),
                       on_batch=lambda *args: batches.append(args))
    assert [r.status for r in results] == ["done"] * 4
    assert seen == [(g, e) for e in range(3) for g in range(4)]
    n = -(-len(train) // 16)
    assert batches == [(e, i, n) for e in (1, 2) for i in range(1, n + 1)]
    for result, reference in zip(results, alone, strict=True):
        rows_close(result.epochs, reference.epochs)
    for model, reference in zip(pack.unpack(), separate, strict=True):
        params_close(model, reference)


@pytest.mark.slow
def test_a_diverging_member_stops_alone(data):
    """Member 1 gets NaN weights in epoch 2, member 2 overflows from the start; 0 and 3 train on."""
    train, test, _ = data
    members = make_members("rnn_relu", recurrences=("layer", "layer", "self", "layer"))
    with torch.no_grad():  # relu with a huge self-loop: inf by the third symbol, through every block
        members[2].layers[0].weight_hh_l0.fill_(1e30)
        members[2].layers[0].bias_ih_l0.fill_(1.0)
    config = TrainingConfig(epochs=2, batch_size=16, clip=0.05)
    separate = [copy.deepcopy(m) for m in members]

    def poison(embedding):
        def on_batch(epoch, done, total):
            if (epoch, done) == (2, 1):
                with torch.no_grad():
                    embedding[:] = float("nan")
        return on_batch

    alone = [fit(m, train, test, config, seed=5, on_batch=poison(m.embed.weight) if g == 1 else None)
             for g, m in enumerate(separate)]
    assert [r.status for r in alone] == ["done", "diverged", "diverged", "done"]
    pack = GraphRNNPack(members)
    owned = pack.owners["embed.weight"] == 1  # member 1's embedding columns

    def on_batch(epoch, done, total):
        if (epoch, done) == (2, 1):
            with torch.no_grad():
                pack.embed.weight[owned] = float("nan")

    results = fit_pack(pack, train, test, config, seed=5, on_batch=on_batch)
    assert [r.status for r in results] == ["done", "diverged", "diverged", "done"]
    assert [len(r.epochs) for r in results] == [3, 2, 1, 3]
    for result, reference in zip(results, alone, strict=True):
        rows_close(result.epochs, reference.epochs)
    unpacked = pack.unpack()
    for g in (0, 3):
        params_close(unpacked[g], separate[g])
    for g in (1, 2):  # retired: zero, and kept zero
        assert all((p == 0).all() for p in unpacked[g].parameters())


def test_a_gradient_non_finite_only_in_the_pack_retires_its_suspects(data):
    """NaN in member 1's gradient on batch 2 that the member alone does not show: no culprit is
    found, so the suspect (member 1) diverges; the step is redone and the others train on."""
    train, test, _ = data
    members = make_members("rnn_tanh")
    config = TrainingConfig(epochs=1, batch_size=16, clip=0.05)
    separate = [copy.deepcopy(m) for m in members]
    alone = [fit(m, train, test, config, seed=7) for m in separate]
    pack = GraphRNNPack(members)
    owned = pack.owners["readout.weight"] == 1
    calls = []

    def hook(grad):
        calls.append(1)
        return grad.masked_fill(owned, float("nan")) if len(calls) == 2 else grad

    pack.readout.weight.register_hook(hook)
    results = fit_pack(pack, train, test, config, seed=7)
    assert len(calls) == 1 + 2 + (-(-len(train) // 16) - 2)  # batch 2 ran twice
    assert [r.status for r in results] == ["done", "diverged", "done", "done"]
    rows_close(results[1].epochs, alone[1].epochs[:1])
    unpacked = pack.unpack()
    for g in (0, 2, 3):
        rows_close(results[g].epochs, alone[g].epochs)
        params_close(unpacked[g], separate[g])
