"""Connection-level pruning (granularity="connection"): a connection (unit, input) of a
gated matrix holds one weight per gate block and is removed from every gate at once.

Expectations are computed by hand or, for larger models, by an independent numpy
reading of the masks and weights (never through sparsernn.prune's own helpers)."""

from __future__ import annotations

import json

import networkx as nx
import numpy as np
import pytest
import torch
from torch import nn
from torch.nn import functional as F

from sparsernn.errors import InputError
from sparsernn.graphs import erdos_renyi, thesis_graph, to_dag
from sparsernn.nn import GraphRNN, MaskedGRU, MaskedLinear, MaskedLSTM, MaskedRNN, masked_weights, to_graph
from sparsernn.prune import GradualPruner, _core, magnitude, prune_to_sparsity, random, sparsity, threshold

GATES = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}


def gates(record) -> int:
    if record.target in ("ih", "hh") and isinstance(record.module, nn.RNNBase):
        return GATES[record.module.mode]
    return 1


def blocks(record) -> np.ndarray:
    """The mask as (gates, H, in)."""
    mask = record.mask.numpy()
    return mask.reshape(gates(record), -1, mask.shape[1])


def alive(record) -> np.ndarray:
    """(H, in): True where some gate keeps the connection."""
    return blocks(record).any(axis=0)


def masked_connections(model, targets=("ih", "hh")) -> dict[str, int]:
    return {r.name: int((~alive(r)).sum()) for r in masked_weights(model) if r.target in targets}


def connections(model, targets=("ih", "hh")) -> dict[str, int]:
    return {r.name: alive(r).size for r in masked_weights(model) if r.target in targets}


def gate_norms(record) -> np.ndarray:
    """(H, in): sqrt(sum_g M_ghj W_ghj^2), in float64."""
    weight = record.weight.detach().numpy().astype(np.float64)
    kept = np.where(record.mask.numpy(), weight, 0.0)
    return np.sqrt((kept.reshape(gates(record), -1, kept.shape[1]) ** 2).sum(axis=0))


def assert_gate_blocks_agree(model, targets=("ih", "hh")):
    for r in masked_weights(model):
        if r.target in targets:
            b = blocks(r)
            assert all(np.array_equal(b[0], other) for other in b[1:]), r.name


def masks_of(model) -> dict[str, torch.Tensor]:
    return {r.name: r.mask.clone() for r in masked_weights(model)}


def set_gate_weights(weight: torch.Tensor, per_connection: list[list[list[float]]]) -> None:
    """``per_connection[h][j]`` = the weights of connection (h, j) in gates 0, 1, ..."""
    values = torch.tensor(per_connection, dtype=weight.dtype)  # (H, in, gates)
    with torch.no_grad():
        weight.copy_(values.permute(2, 0, 1).reshape(weight.shape))  # rows g * H + h


def seeded(cls=MaskedLSTM, seed=0, **kwargs):
    torch.manual_seed(seed)
    return cls(3, 5, **kwargs)


# ---------------------------------------------------------------------------------------
# Hand-made tensors


def hand_lstm() -> MaskedLSTM:
    lstm = MaskedLSTM(3, 2)  # weight_ih (4 * 2, 3): 6 connections
    set_gate_weights(lstm.weight_ih_l0, [
        [[1, 1, 1, 1], [3, 0, 0, 0], [0.5, 0.5, 0.5, 0.5]],     # norms 2, 3, 1
        [[0, 0, 0, 2.5], [1.2, 0, 0, 0], [0.1, 0.1, 0.1, 4]],   # norms 2.5, 1.2, 4.004
    ])
    return lstm


def test_lstm_removes_the_connections_with_the_smallest_gate_norms():
    lstm = hand_lstm()
    magnitude(lstm, 0.5, targets="ih", granularity="connection")  # 3 of 6: norms 1, 1.2, 2
    unit = [[False, True, False], [True, False, True]]
    assert lstm.mask_ih_l0.tolist() == unit * 4  # the same unit mask in the i, f, g, o blocks
    magnitude(lstm, 0.5, targets="ih", granularity="connection")  # round(1.5) = 2 of 3, 2.5, 4.004
    assert lstm.mask_ih_l0.tolist() == [[False, False, False], [False, False, True]] * 4
    assert lstm.mask_hh_l0.all()


def test_weight_granularity_on_the_same_lstm_splits_the_gates():
    lstm = hand_lstm()
    magnitude(lstm, 0.5, targets="ih")  # the zeros go first, gate by gate
    b = lstm.mask_ih_l0.view(4, 2, 3)
    assert any(not torch.equal(b[0], b[g]) for g in range(1, 4))


def test_gru_ties_between_equal_norms_are_broken_by_position():
    gru = MaskedGRU(2, 2)  # weight_ih (3 * 2, 2): 4 connections
    set_gate_weights(gru.weight_ih_l0, [
        [[1, -2, 2], [0, 0, 0.5]],   # norms 3, 0.5
        [[-4, 0, 0], [0, 3, 0]],     # norms 4, 3 (tied with (0, 0), which comes first)
    ])
    magnitude(gru, 0.75, targets="ih", granularity="connection")  # 3 of 4: 0.5, then 3 at (0, 0), 3 at (1, 1)
    assert gru.mask_ih_l0.tolist() == [[False, False], [True, False]] * 3


def test_partly_masked_connection_is_alive_and_scored_by_its_unmasked_gates():
    lstm = MaskedLSTM(2, 1)  # two connections
    set_gate_weights(lstm.weight_ih_l0, [[[5, 5, 5, 5], [3, 3, 3, 3]]])
    lstm.mask_ih_l0[0:3, 0] = False  # connection 0 lives on in gate o only: norm 5, not 10
    assert sparsity(lstm, targets="ih", granularity="connection")["overall"] == 0.0
    magnitude(lstm, 0.5, targets="ih", granularity="connection")  # round(0.5 * 2) = 1: norm 5 < 6
    assert lstm.mask_ih_l0.tolist() == [[False, True]] * 4


def test_threshold_removes_connections_whose_gate_norm_is_below_value():
    lstm = hand_lstm()
    threshold(lstm, 2.0, targets="ih", granularity="connection")  # norms 1 and 1.2 go; 2 stays (strict)
    assert lstm.mask_ih_l0.tolist() == [[True, True, False], [True, False, True]] * 4


# ---------------------------------------------------------------------------------------
# Counts over connections


def test_layer_scope_removes_round_amount_of_each_matrix_remaining_connections():
    lstm = seeded(num_layers=2)  # connections: ih_l0 5x3, hh_l0 5x5, ih_l1 5x5, hh_l1 5x5
    magnitude(lstm, 0.3, granularity="connection")  # round(4.5) = 4, round(7.5) = 8
    assert masked_connections(lstm) == {"weight_ih_l0": 4, "weight_hh_l0": 8, "weight_ih_l1": 8, "weight_hh_l1": 8}
    magnitude(lstm, 0.5, granularity="connection")  # of 11, 17, 17, 17: round(5.5) = 6, round(8.5) = 8
    assert masked_connections(lstm) == {"weight_ih_l0": 10, "weight_hh_l0": 16, "weight_ih_l1": 16,
                                        "weight_hh_l1": 16}
    assert {r.name: int((~r.mask).sum()) for r in masked_weights(lstm)} == {
        "weight_ih_l0": 40, "weight_hh_l0": 64, "weight_ih_l1": 64, "weight_hh_l1": 64}  # 4 gates each
    assert_gate_blocks_agree(lstm)


@pytest.mark.parametrize("cls", [MaskedLSTM, MaskedGRU])
def test_random_connection_counts_and_seeding(cls):
    a, b, c = (seeded(cls, num_layers=2) for _ in range(3))
    for model, seed in ((a, 7), (b, 7), (c, 8)):
        random(model, 0.4, seed=seed, granularity="connection")
    assert masked_connections(a) == {"weight_ih_l0": 6, "weight_hh_l0": 10, "weight_ih_l1": 10, "weight_hh_l1": 10}
    assert all(torch.equal(x, y) for x, y in zip(masks_of(a).values(), masks_of(b).values()))
    assert any(not torch.equal(x, y) for x, y in zip(masks_of(a).values(), masks_of(c).values()))
    random(a, 0.5, seed=np.random.default_rng(0), scope="global", granularity="connection")
    assert sum(masked_connections(a).values()) == 36 + 27  # round(0.5 * 54) more of the pool
    assert_gate_blocks_agree(a)


def test_random_draws_one_uniform_per_connection():
    # an (H, in) draw per matrix: with one gate it removes exactly what weight granularity removes,
    # and with four gates it removes the same connections as one gate would
    a, b = MaskedLSTM(3, 5), MaskedRNN(3, 5)
    random(a, 0.5, seed=3, granularity="connection")
    random(b, 0.5, seed=3)
    assert torch.equal(a.mask_ih_l0, b.mask_ih_l0.repeat(4, 1))
    assert torch.equal(a.mask_hh_l0, b.mask_hh_l0.repeat(4, 1))


def test_global_scope_is_one_ranking_over_pooled_connections():
    lstm = seeded(num_layers=2)
    magnitude(lstm, 0.2)  # weight-level first: uneven starting masks, partly masked connections
    records = masked_weights(lstm)
    keep = np.concatenate([alive(r).reshape(-1) for r in records])
    scores = np.concatenate([gate_norms(r).reshape(-1) for r in records])
    before = masks_of(lstm)
    magnitude(lstm, 0.4, scope="global", granularity="connection")

    living = np.flatnonzero(keep)
    k = round(0.4 * living.size)
    keep[living[np.argsort(scores[living], kind="stable")[:k]]] = False
    parts = np.split(keep, np.cumsum([alive(r).size for r in records])[:-1])
    for r, part in zip(records, parts):
        expected = torch.from_numpy(part.reshape(alive(r).shape)).repeat(gates(r), 1) & before[r.name]
        assert torch.equal(r.mask, expected), r.name
    assert len(set(sparsity(lstm, granularity="connection").values())) > 2  # uneven per matrix


def test_prune_to_sparsity_lands_on_exact_connection_counts():
    gru = seeded(MaskedGRU, num_layers=2)  # 15, 25, 25, 25 connections
    prune_to_sparsity(gru, 0.333, granularity="connection")  # round(4.995) = 5, round(8.325) = 8
    assert masked_connections(gru) == {"weight_ih_l0": 5, "weight_hh_l0": 8, "weight_ih_l1": 8, "weight_hh_l1": 8}
    magnitude(gru, 0.5, targets="ih", granularity="connection")  # ih_l0: 5 + 5, ih_l1: 8 + round(8.5) = 16
    before = masks_of(gru)
    prune_to_sparsity(gru, 0.4, granularity="connection")  # ih already sparser: untouched
    assert torch.equal(gru.mask_ih_l0, before["weight_ih_l0"])
    assert masked_connections(gru)["weight_hh_l0"] == 10
    prune_to_sparsity(gru, 0.75, scope="global", granularity="connection")
    assert sum(masked_connections(gru).values()) == round(0.75 * 90)  # 67.5 -> 68
    assert_gate_blocks_agree(gru)
    report = sparsity(gru, granularity="connection")
    assert report["overall"] == 68 / 90


def test_gradual_pruner_ends_at_the_final_connection_sparsity():
    lstm = seeded(num_layers=2)
    pruner = GradualPruner(lstm, final=0.8, start=1, duration=6, frequency=2, granularity="connection")
    for t in range(1, 10):
        with torch.no_grad():  # weights move between prunings, as under an optimizer
            for p in lstm.parameters():
                p.add_(0.05 * torch.randn(p.shape, generator=torch.Generator().manual_seed(t)))
        pruner.step()
        assert_gate_blocks_agree(lstm)
    assert masked_connections(lstm) == {n: round(0.8 * size) for n, size in connections(lstm).items()}
    assert sparsity(lstm, granularity="connection") == {
        "weight_ih_l0": 0.8, "weight_hh_l0": 0.8, "weight_ih_l1": 0.8, "weight_hh_l1": 0.8, "overall": 0.8}
    assert pruner.state_dict()["config"]["granularity"] == "connection"


def test_gradual_pruner_state_keeps_granularity_and_reads_older_states_as_weight():
    weight = GradualPruner(MaskedLSTM(2, 3), final=0.5, start=0, duration=4, frequency=1)
    state = json.loads(json.dumps(weight.state_dict()))
    assert state["config"]["granularity"] == "weight"
    del state["config"]["granularity"]  # a state saved before the option existed
    weight.load_state_dict(state)
    conn = GradualPruner(MaskedLSTM(2, 3), final=0.5, start=0, duration=4, frequency=1, granularity="connection")
    with pytest.raises(InputError, match=r"differs from this pruner's in \['granularity'\]"):
        conn.load_state_dict(state)


# ---------------------------------------------------------------------------------------
# One gate: connection is weight; weight granularity unchanged


SINGLE_GATE = {
    "rnn_and_linear": (lambda: nn.ModuleDict({"rnn": MaskedRNN(3, 4, num_layers=2), "out": MaskedLinear(4, 3)}),
                       ("ih", "hh", "ho")),
    "lstm_projection": (lambda: MaskedLSTM(3, 5, num_layers=2, proj_size=2), "hr"),
}


@pytest.mark.parametrize("name", sorted(SINGLE_GATE))
@pytest.mark.parametrize("criterion", ["magnitude", "random"])
@pytest.mark.parametrize("scope", ["layer", "global"])
def test_single_gate_matrices_prune_the_same_at_both_granularities(name, criterion, scope):
    build, targets = SINGLE_GATE[name]
    torch.manual_seed(4)
    a = build()
    torch.manual_seed(4)
    b = build()
    fn = magnitude if criterion == "magnitude" else random
    kwargs = dict(targets=targets, scope=scope, **({"seed": 5} if criterion == "random" else {}))
    for amount in (0.3, 0.5):
        fn(a, amount, **kwargs)
        fn(b, amount, granularity="connection", **kwargs)
    assert sparsity(a)["overall"] > 0
    assert all(torch.equal(x.mask, y.mask) for x, y in zip(masked_weights(a), masked_weights(b)))


def test_explicit_weight_granularity_is_the_default():
    a, b = seeded(num_layers=2), seeded(num_layers=2)
    magnitude(a, 0.3)
    magnitude(b, 0.3, granularity="weight")
    prune_to_sparsity(a, 0.6, scope="global")
    prune_to_sparsity(b, 0.6, scope="global", granularity="weight")
    assert all(torch.equal(x, y) for x, y in zip(masks_of(a).values(), masks_of(b).values()))
    assert sparsity(a) == sparsity(b, granularity="weight")


# ---------------------------------------------------------------------------------------
# Bad input and all-or-nothing


@pytest.mark.parametrize("call", [
    lambda m, g: magnitude(m, 0.5, granularity=g),
    lambda m, g: random(m, 0.5, seed=0, granularity=g),
    lambda m, g: threshold(m, 0.1, granularity=g),
    lambda m, g: prune_to_sparsity(m, 0.5, granularity=g),
    lambda m, g: GradualPruner(m, final=0.5, start=0, duration=2, frequency=1, granularity=g),
    lambda m, g: sparsity(m, granularity=g),
])
@pytest.mark.parametrize("granularity", ["gate", "Connection", None, 1])
def test_bad_granularity_is_refused_and_changes_nothing(call, granularity):
    model = seeded()
    with pytest.raises(InputError, match=r"'granularity' parameter of \w+ must be one of 'weight', 'connection'"):
        call(model, granularity)
    assert sparsity(model)["overall"] == 0.0


def test_nan_among_unmasked_weights_is_refused_but_a_masked_nan_is_not_ranked():
    lstm = seeded(num_layers=2)
    with torch.no_grad():
        lstm.weight_ih_l1[7, 2] = float("nan")  # gate f, unit 2, input 2
    with pytest.raises(InputError, match="'weight_ih_l1' holds 1 NaN"):
        magnitude(lstm, 0.5, granularity="connection")
    assert sparsity(lstm)["overall"] == 0.0
    lstm.mask_ih_l1[7, 2] = False  # masked: the connection lives on in its other gates, scored by them
    magnitude(lstm, 0.5, granularity="connection")
    assert masked_connections(lstm)["weight_ih_l1"] == round(0.5 * 25)


def test_failure_while_expanding_connections_leaves_every_mask_unchanged(monkeypatch):
    lstm = seeded(num_layers=2)
    before = masks_of(lstm)
    real, calls = _core.Connections.expand, []

    def failing(self, keep):
        calls.append(self.name)
        if len(calls) == 3:
            raise RuntimeError("injected failure")
        return real(self, keep)

    monkeypatch.setattr(_core.Connections, "expand", failing)
    with pytest.raises(RuntimeError, match="injected"):
        prune_to_sparsity(lstm, 0.5, criterion="random", seed=0, granularity="connection")
    assert all(torch.equal(m, before[k]) for k, m in masks_of(lstm).items())


# ---------------------------------------------------------------------------------------
# The acceptance test: a pruned GraphRNN never gains a connection outside its graph


def graphs():
    return {
        "barabasi_albert": to_dag(thesis_graph("barabasi_albert", seed=3, sizes=(12, 16))),
        "watts_strogatz": to_dag(thesis_graph("watts_strogatz", seed=4, sizes=(12, 16))),
        "erdos_renyi_random_order": to_dag(erdos_renyi(14, 0.3, seed=5), "random", seed=6),
    }


def train_a_few_steps(model: GraphRNN, seed: int, steps: int = 3) -> None:
    g = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05, weight_decay=0.01)
    for _ in range(steps):
        lengths = torch.randint(1, 6, (8,), generator=g)
        tokens = torch.randint(1, 6, (8, 5), generator=g)
        tokens[torch.arange(5) >= lengths[:, None]] = 0
        loss = F.cross_entropy(model(tokens, lengths), torch.randint(0, 2, (8,), generator=g))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


def edges_into_layers(model: GraphRNN) -> list[int]:
    return [int(layer.mask_ih_l0.view(gates(masked_weights(layer)[0]), len(vertices), -1).any(0).sum())
            for layer, vertices in zip(model.layers[1:], model.layer_vertices[1:])]


@pytest.mark.parametrize("name", sorted(graphs()))
@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn_tanh"])
def test_pruned_graph_rnn_never_gains_a_connection_outside_its_graph(name, cell):
    dag = graphs()[name]
    for targets, scope in (("ih", "layer"), ("hh", "global"), ("both", "layer"), ("both", "global")):
        torch.manual_seed(0)
        model = GraphRNN(dag, cell, vocab_size=6, embedding_dim=3)
        into = edges_into_layers(model)
        for step, amount in enumerate((0.2, 0.5, 0.9)):
            magnitude(model, amount, targets=targets, scope=scope, granularity="connection")
            if step == 1:
                random(model, 0.3, targets=targets, scope=scope, seed=step, granularity="connection")
            if targets == "ih" and scope == "layer" and step == 0:  # each layer's edges lose round(0.2 * E_l)
                assert edges_into_layers(model) == [e - round(0.2 * e) for e in into]
            train_a_few_steps(model, seed=step, steps=2)
            graph = to_graph(model)
            assert set(graph.edges()) <= set(dag.edges()), (targets, scope, amount)
            assert set(graph.nodes()) == set(dag.nodes())
            assert_gate_blocks_agree(model)
            assert all(count == gates(masked_weights(model.layers[0])[0])
                       for _, _, count in graph.edges(data="gates"))
            if targets == "hh":
                assert set(graph.edges()) == set(dag.edges())  # input masks untouched
        assert sparsity(model, targets=targets, granularity="connection")["overall"] > 0.9


def test_pruned_graph_rnn_computes_only_with_its_graph_after_training():
    dag = graphs()["barabasi_albert"]
    torch.manual_seed(1)
    model = GraphRNN(dag, "lstm", vocab_size=6, embedding_dim=3)
    magnitude(model, 0.6, targets="ih", granularity="connection")
    train_a_few_steps(model, seed=9, steps=5)
    order = model.hparams["vertices"]
    used = set()
    for layer, vertices in zip(model.layers[1:], model.layer_vertices[1:]):
        effective = (layer.weight_ih_l0 * layer.mask_ih_l0).detach().view(4, len(vertices), -1)
        for row, col in effective.abs().sum(0).nonzero().tolist():
            used.add((order[col], vertices[row]))
    assert used <= set(to_graph(model).edges()) <= set(dag.edges())
    assert nx.is_directed_acyclic_graph(to_graph(model))
