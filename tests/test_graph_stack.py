"""GraphRNNStack: members in, the same members out; the stack computes and trains each as it would alone.

The reference everywhere is the member itself, a GraphRNN run by torch's own kernels.
"""

import copy
import math

import networkx as nx
import pytest
import torch

from sparsernn.data import Vocabulary, reber_dataset
from sparsernn.errors import InputError
from sparsernn.graphs import barabasi_albert, to_dag, watts_strogatz
from sparsernn.nn import GraphRNN, GraphRNNStack, count_parameters
from sparsernn.train import TrainingConfig, encode_split, fit, fit_pack

CELLS = ["rnn_tanh", "rnn_relu", "lstm", "gru"]
VOCAB = 9  # the Reber alphabet (7 symbols), padding and unknown


def make_members(cell, *, seed=0, recurrences=("layer", "self", "none", "layer")):
    """Four members of different depths, widths, embedding dims, readouts and recurrences."""
    torch.manual_seed(seed)
    specs = [
        (nx.DiGraph([(0, 1), (1, 2), (0, 2), (2, 3)]), "last_layer", 3),      # a chain with a skip, 4 layers
        (to_dag(watts_strogatz(10, 4, 1.0, seed=seed), "index"), "sinks", 4),
        (nx.DiGraph([(0, 1)]), "sinks", 2),                                   # 2 layers
        (to_dag(barabasi_albert(9, 2, seed=seed), "index"), "sinks", 5),
    ]
    return [GraphRNN(dag, cell, VOCAB, embedding_dim=dim, recurrence=rec, readout=readout)
            for (dag, readout, dim), rec in zip(specs, recurrences)]


def random_batch(seed=0, batch=6, max_len=7):
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(1, max_len + 1, (batch,), generator=g)
    lengths[1] = max_len  # the longest is not first: the stack sorts and unsorts
    tokens = torch.randint(1, VOCAB, (batch, max_len), generator=g)
    tokens[torch.arange(max_len)[None, :] >= lengths[:, None]] = 0
    return tokens, lengths


def grads_at(stack, g):
    """Member ``g``'s gradients read off the stack, by the member's parameter names."""
    return {name: getattr(stack, name.replace(".", "__")).grad[place]
            for name, place in stack._places[g].items() if ".mask" not in name}


# ---------------------------------------------------------------------------------------
# Forward, backward, layout


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("recurrences", [("layer", "self", "none", "layer"), ("self",) * 4, ("none",) * 4])
def test_every_member_computes_its_own_logits_and_gradients(cell, recurrences):
    members = make_members(cell, recurrences=recurrences)
    stack = GraphRNNStack(members)
    tokens, lengths = random_batch()
    weights = torch.randn(6, 4, 2, generator=torch.Generator().manual_seed(1))  # a loss that mixes the logits
    logits = stack(tokens, lengths)
    assert logits.shape == (6, 4, 2)
    (logits * weights).sum().backward()
    with torch.no_grad():
        evaluated = stack(tokens, lengths)
    for g, member in enumerate(members):
        own = member(tokens, lengths)
        torch.testing.assert_close(logits[:, g], own, atol=1e-6, rtol=0)
        torch.testing.assert_close(evaluated[:, g], own.detach(), atol=1e-6, rtol=0)
        (own * weights[:, g]).sum().backward()
        got = grads_at(stack, g)
        for name, param in member.named_parameters():
            torch.testing.assert_close(got[name], param.grad, atol=1e-5, rtol=0, msg=name)
    for name, param in stack.named_parameters():  # padding: exactly zero, and no gradient
        padded = stack.owners[name] < 0
        assert (param[padded] == 0).all() and (param.grad[padded] == 0).all(), name


def test_the_layout_by_hand():
    torch.manual_seed(0)
    a = GraphRNN(nx.DiGraph([(0, 1)]), "lstm", 4, embedding_dim=2, recurrence="layer")
    b = GraphRNN(nx.DiGraph([(0, 2), (1, 2), (2, 3)]), "lstm", 4, embedding_dim=3, recurrence="self")
    stack = GraphRNNStack([a, b])
    # slots: b (3 layers), then a (2 layers); stack layers of widths 2, 1, 1, held by 2, 2, 1 slots;
    # state columns: layer 0 -> 0, 1; layer 1 -> 2; layer 2 -> 3
    assert (stack.slots, stack.layer_widths, stack.layer_members) == ([1, 0], [2, 1, 1], [2, 2, 1])

    def tiled(rows):
        return torch.tensor(rows, dtype=torch.bool).repeat(4, 1)  # i, f, g, o blocks alike

    assert torch.equal(stack.layers__0__mask_ih_l0, torch.stack([tiled([[1, 1, 1], [1, 1, 1]]),
                                                                 tiled([[1, 1, 0], [0, 0, 0]])]))  # a: unit, padding
    assert torch.equal(stack.layers__0__mask_hh_l0, torch.stack([tiled([[1, 0], [0, 1]]),  # b: self loops
                                                                 tiled([[1, 0], [0, 0]])]))
    assert torch.equal(stack.layers__1__mask_ih_l0, torch.stack([tiled([[1, 1]]), tiled([[1, 0]])]))
    assert torch.equal(stack.layers__2__mask_ih_l0, tiled([[0, 0, 1]])[None])  # only b has a layer 2
    assert torch.equal(stack.readout__mask, torch.tensor([[[0, 0, 0, 1]] * 2, [[0, 0, 1, 0]] * 2], dtype=torch.bool))
    assert torch.equal(stack.owners["embed__weight"], torch.tensor([[[1, 1, 1]] * 4, [[0, 0, -1]] * 4]))
    assert torch.equal(stack.owners["layers__0__bias_ih_l0"], torch.tensor([[1, 1] * 4, [0, -1] * 4]))
    assert torch.equal(stack.owners["layers__2__weight_hh_l0"], torch.tensor([[[1]] * 4]))
    assert torch.equal(stack.owners["readout__bias"], torch.tensor([[1, 1], [0, 0]]))
    # the gate blocks are copied block by block; padding is zero
    assert torch.equal(stack.layers__1__weight_ih_l0[1, :, 0], a.layers[1].weight_ih_l0[:, 0])
    assert torch.equal(stack.layers__0__weight_ih_l0[1, [0, 2, 4, 6], :2], a.layers[0].weight_ih_l0)
    assert torch.equal(stack.layers__2__weight_hh_l0[0], b.layers[2].weight_hh_l0)
    assert (stack.layers__0__weight_ih_l0[1, [1, 3, 5, 7]] == 0).all()
    assert (stack.embed__weight[1, :, 2] == 0).all()


def test_a_non_finite_member_spoils_only_itself():
    members = make_members("lstm")
    with torch.no_grad():
        members[1].layers[0].weight_hh_l0.fill_(float("inf"))
    logits = GraphRNNStack(members)(*random_batch())
    assert not torch.isfinite(logits[:, 1]).any()
    for g in (0, 2, 3):
        torch.testing.assert_close(logits[:, g], members[g](*random_batch()), atol=1e-6, rtol=0)


@pytest.mark.parametrize("cell", CELLS)
def test_stack_then_member_is_bit_identical(cell):
    members = make_members(cell)
    state = torch.random.get_rng_state()
    stack = GraphRNNStack(members)
    tokens, lengths = random_batch()
    for member, back in zip(members, stack.unpack(), strict=True):
        assert back.hparams == member.hparams
        original, copied = member.state_dict(), back.state_dict()
        assert original.keys() == copied.keys()
        assert all(torch.equal(original[k], copied[k]) for k in original)
        assert torch.equal(back(tokens, lengths), member(tokens, lengths))
    assert torch.equal(state, torch.random.get_rng_state())  # nothing drawn from the global RNG
    assert stack.member_hparams == [m.hparams for m in members]


def test_parameter_counts_are_the_members_counts():
    members = make_members("gru")
    with torch.no_grad():
        members[1].layers[1].mask_ih_l0[:, 0] = False
        members[3].readout.weight.zero_()
    stack = GraphRNNStack(members)
    assert stack.parameter_counts() == [count_parameters(m) for m in members]


def test_what_cannot_be_stacked_is_refused():
    dag = nx.DiGraph([(0, 1)])
    gru = GraphRNN(dag, "gru", 5)
    for others, message in [([GraphRNN(dag, "lstm", 5)], "'cell'"), ([GraphRNN(dag, "gru", 6)], "'vocab_size'"),
                            ([GraphRNN(dag, "gru", 5, num_classes=3)], "'num_classes'"),
                            ([torch.nn.Linear(2, 2)], "member 1")]:
        with pytest.raises(InputError, match=message):
            GraphRNNStack([gru, *others])
    with pytest.raises(InputError, match="needs at least one GraphRNN"):
        GraphRNNStack([])
    with pytest.raises(InputError, match="'index' parameter"):
        GraphRNNStack([gru]).member(1)


# ---------------------------------------------------------------------------------------
# Training


@pytest.fixture(scope="module")
def data():
    splits = reber_dataset(90, validation_fraction=0.2, seed=0)
    vocab = Vocabulary.from_strings(splits.train.strings)
    assert len(vocab) <= VOCAB
    return tuple(encode_split(vocab, s) for s in (splits.train, splits.test, splits.validation))


def rows_close(stack_rows, fit_rows):
    assert len(stack_rows) == len(fit_rows)
    for got, want in zip(stack_rows, fit_rows):
        assert got.keys() == want.keys()
        for key in want:
            if key == "seconds":
                continue
            if isinstance(want[key], float):
                both_nan = math.isnan(got[key]) and math.isnan(want[key])
                assert both_nan or got[key] == pytest.approx(want[key], abs=1e-5), key
            else:
                assert got[key] == want[key], key


@pytest.mark.slow
@pytest.mark.parametrize("cell, optimizer", [("lstm", dict(optimizer="adam", weight_decay=1e-3)),
                                             ("gru", dict(optimizer="sgd", lr=0.5, momentum=0.9)),
                                             ("rnn_tanh", dict(optimizer="adam", lr=0.01))])
def test_fit_pack_trains_every_member_as_fit_trains_it_alone(data, cell, optimizer):
    """Member 2 has an infinite weight: it diverges alone, the others train on."""
    train, test, validation = data
    members = make_members(cell)
    with torch.no_grad():
        members[2].layers[1].weight_ih_l0.fill_(float("inf"))
    config = TrainingConfig(epochs=2, batch_size=16, clip=0.05, **optimizer)  # tiny clip: per-member clipping
    separate = [copy.deepcopy(m) for m in members]
    alone = [fit(m, train, test, config, seed=3, validation=validation) for m in separate]
    assert [r.status for r in alone] == ["done", "done", "diverged", "done"]
    stack = GraphRNNStack(members)
    results = fit_pack(stack, train, test, config, seed=3, validation=validation)
    assert [r.status for r in results] == [r.status for r in alone]
    for result, reference in zip(results, alone, strict=True):
        rows_close(result.epochs, reference.epochs)
    for g in (0, 1, 3):
        trained = stack.member(g)
        for (name, got), want in zip(trained.named_parameters(), separate[g].parameters(), strict=True):
            torch.testing.assert_close(got, want, atol=1e-5, rtol=0, msg=(g, name))
    assert all((p == 0).all() for p in stack.member(2).parameters())  # retired: zero, and kept zero
    for name, param in stack.named_parameters():  # padding stays exactly zero through the optimiser
        assert (param[stack.owners[name] < 0] == 0).all(), name


def test_the_padding_id_inside_a_sequence_gets_no_gradient_as_in_the_member():
    members = make_members("gru")
    stack = GraphRNNStack(members)
    tokens, lengths = random_batch()
    tokens[1, 2] = 0  # id 0 within the length: nn.Embedding(padding_idx=0) reads row 0 but never trains it
    stack(tokens, lengths).sum().backward()
    assert (stack.embed__weight.grad[:, 0] == 0).all()
    for g, member in enumerate(members):
        member(tokens, lengths).sum().backward()
        torch.testing.assert_close(grads_at(stack, g)["embed.weight"], member.embed.weight.grad, atol=1e-6, rtol=0)


# ---------------------------------------------------------------------------------------
# Other tasks: per-step readout and real-valued inputs


def make_other_members(cell, *, per_step, input_features=None, seed=0):
    torch.manual_seed(seed)
    specs = [(nx.DiGraph([(0, 1), (1, 2), (0, 2), (2, 3)]), 3), (to_dag(watts_strogatz(10, 4, 1.0, seed=seed),
                                                                        "index"), 4), (nx.DiGraph([(0, 1)]), 2)]
    vocab = None if input_features else VOCAB
    return [GraphRNN(dag, cell, vocab, embedding_dim=dim, num_classes=5, per_step=per_step,
                     input_features=input_features) for dag, dim in specs]


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("per_step, input_features", [(True, None), (False, 3), (True, 3)])
def test_per_step_and_real_valued_members_compute_and_train_as_alone(cell, per_step, input_features):
    from sparsernn.tasks import TASKS

    members = make_other_members(cell, per_step=per_step, input_features=input_features)
    tokens, lengths = random_batch(1)
    inputs = torch.randn(*tokens.shape, input_features) if input_features else tokens
    stack = GraphRNNStack(members)
    logits = stack(inputs, lengths)  # the training path (gradients on)
    for g, member in enumerate(members):
        torch.testing.assert_close(logits[..., g, :], member(inputs, lengths), rtol=0, atol=1e-6)
    # a few steps of training, through a task, as fit trains each alone
    task = TASKS["language_model" if per_step else "classify"]
    g = torch.Generator().manual_seed(2)
    targets = torch.randint(0, 5, tokens.shape if per_step else (len(tokens),), generator=g)
    if per_step:
        targets[torch.arange(tokens.shape[1])[None, :] >= lengths[:, None]] = -100
    from sparsernn.train import Split
    split = Split(torch.cat([inputs] * 4), torch.cat([lengths] * 4), torch.cat([targets] * 4))
    config = TrainingConfig(epochs=2, batch_size=8, lr=0.01)
    separate = [copy.deepcopy(m) for m in members]
    alone = [fit(m, split, split, config, seed=1, task=task) for m in separate]
    results = fit_pack(stack, split, split, config, seed=1, task=task)
    for result, reference in zip(results, alone, strict=True):
        rows_close(result.epochs, reference.epochs)
    for g, reference in enumerate(separate):
        for got, want in zip(stack.member(g).parameters(), reference.parameters(), strict=True):
            torch.testing.assert_close(got, want, atol=1e-5, rtol=0)
