"""GraphRNN: the DAG in, the same DAG out of the masks, and a forward pass checked by hand."""

import networkx as nx
import pytest
import torch

from sparsernn.errors import InputError
from sparsernn.nn import count_parameters, masked_weights
from sparsernn.nn.graph_rnn import GraphRNN, longest_path_layers, to_graph

CELLS = ["rnn_tanh", "rnn_relu", "lstm", "gru"]


def index_dag(graph):
    """Orient every edge from the lower to the higher vertex id."""
    return nx.DiGraph([(min(u, v), max(u, v)) for u, v in graph.edges()])


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("seed", [0, 1])
def test_round_trip_recovers_the_dag_in_every_gate(cell, seed):
    for graph in (nx.watts_strogatz_graph(20, 4, 1.0, seed=seed), nx.barabasi_albert_graph(25, 2, seed=seed)):
        dag = index_dag(graph)
        model = GraphRNN(dag, cell, vocab_size=6, embedding_dim=3)
        for recovered in to_graph(model, per_gate=True):
            assert set(recovered.edges()) == set(dag.edges())
        recovered = to_graph(model)
        assert set(recovered.edges()) == set(dag.edges()) and set(recovered.nodes()) == set(dag.nodes())


def test_gate_masks_are_tiled_block_wise_not_interleaved():
    dag = nx.DiGraph([(0, 2), (1, 3), (0, 3)])  # layers [0, 1] -> [2, 3]
    model = GraphRNN(dag, "lstm", vocab_size=4, embedding_dim=2)
    unit = [[1, 0],   # vertex 2 reads vertex 0
            [1, 1]]   # vertex 3 reads vertices 0 and 1
    expected = torch.tensor(unit * 4, dtype=torch.bool)  # i, f, g, o blocks, each the unit mask
    assert torch.equal(model.layers[1].mask_ih_l0, expected)
    interleaved = torch.tensor(unit, dtype=torch.bool).repeat_interleave(4, dim=0)
    assert not torch.equal(model.layers[1].mask_ih_l0, interleaved)
    assert torch.equal(model.layers[1].mask_hh_l0, torch.ones(8, 2, dtype=torch.bool))


def test_three_vertex_gru_masks_by_hand():
    dag = nx.DiGraph([(0, 1), (0, 2)])  # layers [0] -> [1, 2]
    model = GraphRNN(dag, "gru", vocab_size=4, embedding_dim=3, recurrence="self")
    assert model.layer_vertices == [[0], [1, 2]]
    assert torch.equal(model.layers[0].mask_ih_l0, torch.ones(3, 3, dtype=torch.bool))  # r, z, n rows of vertex 0
    assert model.layers[1].mask_ih_l0.int().tolist() == [[1], [1]] * 3                  # 1 and 2 read 0, per gate
    # recurrence "self": block r = [[1, 0], [0, 1]], then z, then n -- not unit by unit
    assert model.layers[1].mask_hh_l0.int().tolist() == [[1, 0], [0, 1]] * 3
    assert model.layers[1].mask_hh_l0.int().tolist() != [[1, 0]] * 3 + [[0, 1]] * 3
    assert model.readout.mask.int().tolist() == [[0, 1, 1], [0, 1, 1]]                  # the two sinks


def test_layers_by_longest_path():
    dag = nx.DiGraph([(0, 1), (1, 2), (0, 2), (3, 2), (2, 4), (0, 4)])
    assert longest_path_layers(dag) == [[0, 3], [1], [2], [4]]


def test_forward_matches_a_hand_computed_tanh_network():
    torch.manual_seed(0)
    dag = nx.DiGraph([(0, 1), (0, 2), (1, 2)])  # 0 -> 2 skips layer 1
    model = GraphRNN(dag, "rnn_tanh", vocab_size=5, embedding_dim=3, recurrence="self")
    tokens, T = torch.tensor([[1, 4, 2, 3]]), 4
    x = model.embed(tokens)[0]
    l0, l1, l2 = model.layers
    h = torch.zeros(3)
    for t in range(T):
        h0 = torch.tanh(l0.weight_ih_l0[0] @ x[t] + l0.bias_ih_l0[0] + l0.weight_hh_l0[0, 0] * h[0] + l0.bias_hh_l0[0])
        h1 = torch.tanh(l1.weight_ih_l0[0, 0] * h0 + l1.bias_ih_l0[0] + l1.weight_hh_l0[0, 0] * h[1] + l1.bias_hh_l0[0])
        h2 = torch.tanh(l2.weight_ih_l0[0, 0] * h0 + l2.weight_ih_l0[0, 1] * h1 + l2.bias_ih_l0[0]
                        + l2.weight_hh_l0[0, 0] * h[2] + l2.bias_hh_l0[0])
        h = torch.stack([h0, h1, h2])
    expected = model.readout.weight[:, 2] * h[2] + model.readout.bias  # only the sink (2) feeds the output
    torch.testing.assert_close(model(tokens, torch.tensor([T]))[0], expected)


def test_non_edges_get_zero_gradient_and_padding_is_never_read():
    dag = index_dag(nx.watts_strogatz_graph(12, 4, 1.0, seed=3))
    model = GraphRNN(dag, "gru", vocab_size=6, embedding_dim=4)
    tokens = torch.tensor([[1, 2, 3, 4, 5], [2, 3, 1, 0, 0]])
    logits = model(tokens, torch.tensor([5, 3]))
    logits.sum().backward()
    for record in masked_weights(model):
        assert (record.weight.grad[~record.mask] == 0).all()
    alone = model(tokens[1:, :3], torch.tensor([3]))
    torch.testing.assert_close(logits[1:], alone)


def test_recurrence_rules_and_readout_rules():
    dag = nx.DiGraph([(0, 2), (1, 2), (1, 3)])  # layers [0, 1] -> [2, 3]
    none = GraphRNN(dag, "gru", vocab_size=3, embedding_dim=2, recurrence="none")
    assert not none.layers[0].mask_hh_l0.any()
    own = GraphRNN(dag, "gru", vocab_size=3, embedding_dim=2, recurrence="self")
    assert torch.equal(own.layers[1].mask_hh_l0, torch.eye(2, dtype=torch.bool).repeat(3, 1))
    dead_end = nx.DiGraph([(0, 1), (1, 2), (0, 3)])  # 3 is a sink in layer 1, the last layer is [2]
    sinks = GraphRNN(dead_end, "rnn_tanh", vocab_size=3, embedding_dim=2)
    assert sinks.readout.mask.any(dim=0).tolist() == [False, False, True, True]  # columns: 0 | 1, 3 | 2
    with pytest.raises(InputError, match=r"Vertices \[3\] cannot reach the output"):
        GraphRNN(dead_end, "rnn_tanh", vocab_size=3, embedding_dim=2, readout="last_layer")


def test_hparams_rebuild_and_state_dict_carries_masks():
    dag = index_dag(nx.barabasi_albert_graph(15, 2, seed=0))
    model = GraphRNN(dag, "lstm", vocab_size=7, embedding_dim=5)
    clone = GraphRNN.from_hparams(model.hparams)
    clone.load_state_dict(model.state_dict())
    tokens = torch.tensor([[1, 2, 3, 4]])
    torch.testing.assert_close(clone(tokens, torch.tensor([4])), model(tokens, torch.tensor([4])))
    assert any(k.startswith("layers.1.mask_ih") for k in model.state_dict())
    nonzero = count_parameters(model).nonzero
    assert nonzero < count_parameters(model).total  # non-edges are masked out


@pytest.mark.parametrize(
    "dag, message",
    [(nx.DiGraph([(0, 1), (1, 0)]), "cycle"), (nx.DiGraph(), "at least one node"), (nx.Graph([(0, 1)]), "DiGraph")],
)
def test_bad_graphs(dag, message):
    with pytest.raises(InputError, match=message):
        GraphRNN(dag, "gru", vocab_size=3)


def test_bad_options():
    dag = nx.DiGraph([(0, 1)])
    with pytest.raises(InputError, match="recurrence"):
        GraphRNN(dag, "gru", vocab_size=3, recurrence="dense")
    with pytest.raises(InputError, match="readout"):
        GraphRNN(dag, "gru", vocab_size=3, readout="all")
    with pytest.raises(InputError, match="cell"):
        GraphRNN(dag, "transformer", vocab_size=3)
