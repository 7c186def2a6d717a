"""Budgets: dense widths, graph sizing and the random-mask control, checked against counts
made independently (torch's own modules, the masks themselves, networkx)."""

import networkx as nx
import pytest
import torch

from sparsernn.budgets import (
    budget_counts,
    dense_weights,
    dense_widths,
    graph_for_budget,
    graph_weights,
    random_mask_like,
    recurrent_weights,
)
from sparsernn.errors import InputError
from sparsernn.graphs import erdos_renyi, to_dag
from sparsernn.nn import GraphRNN, SequenceClassifier, masked_weights

CELLS = ["rnn_tanh", "lstm", "gru"]


def _torch_recurrent(cell: str, inputs: int, widths: list[int]) -> int:
    """The ih + hh weights of torch's own modules of these sizes."""
    total, n_in = 0, inputs
    for h in widths:
        module = torch.nn.LSTM(n_in, h) if cell == "lstm" else torch.nn.GRU(n_in, h) if cell == "gru" \
            else torch.nn.RNN(n_in, h)
        total += module.weight_ih_l0.numel() + module.weight_hh_l0.numel()
        n_in = h
    return total


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("budget", [800, 5_000, 30_000])
def test_dense_widths_meet_the_budget_counted_by_torch(cell, budget):
    widths = dense_widths(cell, budget, inputs=20, layers=3)
    counted = _torch_recurrent(cell, 20, widths)
    assert counted == dense_weights(cell, 20, widths)
    assert abs(counted - budget) <= 0.02 * budget
    model = SequenceClassifier(cell, vocab_size=5, hidden_sizes=widths, embedding_dim=20)
    assert recurrent_weights(model) == (counted, counted)


def test_dense_widths_prefer_uniform_widths_and_refuse_impossible_budgets():
    assert dense_widths("gru", 30_000, inputs=50, layers=3) == [40, 40, 40]  # 3*(2000+1600+3200+3200) = 30000
    with pytest.raises(InputError, match="no 3-layer dense lstm .* 10 recurrent weights within 2%"):
        dense_widths("lstm", 10, inputs=50, layers=3)
    with pytest.raises(InputError, match="'budget' parameter of dense_widths must be an int >= 1"):
        dense_widths("lstm", 0, inputs=5, layers=1)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("recurrence", ["layer", "self", "none"])
def test_graph_weights_equal_the_masks_of_the_built_graph_rnn(cell, recurrence):
    for seed in range(3):
        dag = to_dag(erdos_renyi(15, 0.3, seed=seed))
        model = GraphRNN(dag, cell, vocab_size=6, embedding_dim=7, recurrence=recurrence)
        assert graph_weights(dag, cell, inputs=7, recurrence=recurrence) == recurrent_weights(model)[0]


@pytest.mark.parametrize("generator", ["barabasi_albert", "watts_strogatz", "erdos_renyi"])
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_graph_for_budget_meets_the_budget_in_the_built_network(generator, cell):
    for budget in (1_500, 4_000):
        dag, info = graph_for_budget(generator, cell, budget, inputs=10, seed=4)
        kept, _ = recurrent_weights(GraphRNN(dag, cell, vocab_size=5, embedding_dim=10))
        assert kept == info["weights"] and abs(kept - budget) <= 0.02 * budget
        assert info["vertices"] == dag.number_of_nodes() and nx.is_directed_acyclic_graph(dag)
    again, info_again = graph_for_budget(generator, cell, 4_000, inputs=10, seed=4)
    assert sorted(again.edges) == sorted(dag.edges) and info_again == info  # seeded


def test_graph_for_budget_says_when_no_graph_is_close_enough():
    with pytest.raises(InputError, match="no erdos_renyi graph gives a lstm GraphRNN with 7 recurrent weights"):
        graph_for_budget("erdos_renyi", "lstm", 7, inputs=10, seed=0)


def test_random_mask_control_has_exactly_the_per_matrix_counts_of_its_graph_rnn():
    dag, _ = graph_for_budget("watts_strogatz", "lstm", 4_000, inputs=8, seed=1)
    model = GraphRNN(dag, "lstm", vocab_size=5, embedding_dim=8)
    control = random_mask_like(model, seed=3)
    pairs = list(zip(masked_weights(model), masked_weights(control)))
    for mine, theirs in pairs:
        assert mine.name == theirs.name and int(mine.mask.sum()) == int(theirs.mask.sum())
        if mine.target == "ho":  # the readout is not a recurrent matrix: copied as it is
            assert torch.equal(mine.mask, theirs.mask)
    moved = [name for name, (a, b) in ((m.name, (m.mask, c.mask)) for m, c in pairs) if not torch.equal(a, b)]
    assert moved  # the sparse inter-layer masks are placed anew
    for (name, a), (_, b) in zip(model.state_dict().items(), control.state_dict().items()):
        if not name.split(".")[-1].startswith("mask"):
            assert torch.equal(a, b), name  # the same weights
    assert budget_counts(control)["recurrent"] == budget_counts(model)["recurrent"]
    assert torch.equal(random_mask_like(model, seed=3).layers[2].mask_ih_l0, control.layers[2].mask_ih_l0)


def test_budget_counts_separate_embedding_and_readout():
    model = SequenceClassifier("gru", vocab_size=6, hidden_sizes=[4], embedding_dim=3, num_classes=2)
    model.readout.mask[0, 0] = False
    counts = budget_counts(model)
    assert counts["recurrent"] == 3 * (3 * 4 + 4 * 4)
    assert counts["embedding"] == 6 * 3
    assert counts["readout"] == 4 * 2 + 2 - 1
