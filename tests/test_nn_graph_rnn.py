"""GraphRNN: the DAG in, the same DAG out of the masks (also once pruned), and a forward
pass checked by hand."""

from collections import Counter

import networkx as nx
import numpy as np
import pytest
import torch

from sparsernn import prune
from sparsernn.errors import InputError
from sparsernn.graphs import PROPERTIES, graph_properties, graph_to_json, thesis_graph, to_dag
from sparsernn.nn import count_parameters, masked_weights
from sparsernn.nn.graph_rnn import GATES, GraphRNN, longest_path_layers, to_graph

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


# ---------------------------------------------------------------------------------------
# to_graph of pruned models


def gate_counts_from_masks(model):
    """{(u, v): number of gate blocks whose ih mask keeps u -> v}, read row by row."""
    order = model.hparams["vertices"]
    counts = Counter()
    for layer, vertices in zip(model.layers[1:], model.layer_vertices[1:]):
        for row, col in layer.mask_ih_l0.nonzero().tolist():  # row = gate * width + unit
            counts[(order[col], vertices[row % len(vertices)])] += 1
    return counts


def test_to_graph_of_an_unpruned_model_counts_every_gate_and_serialises_as_before():
    dag = index_dag(nx.barabasi_albert_graph(12, 2, seed=1))
    model = GraphRNN(dag, "lstm", vocab_size=5, embedding_dim=3)
    graph = to_graph(model)
    assert dict(graph.edges.items()) == {e: {"gates": 4} for e in dag.edges()}
    assert graph.graph == {"gate_edges": [dag.number_of_edges()] * 4}
    # what the structure kind stores: plain [u, v] pairs, no edge attributes, no gate counts
    data = graph_to_json(graph)
    assert data["graph"] == {} and all(len(edge) == 2 for edge in data["edges"])
    assert data == graph_to_json(to_graph(model, per_gate=True)[0])


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_to_graph_of_a_per_gate_pruned_model_is_the_union_with_gate_counts(cell):
    torch.manual_seed(0)
    dag = index_dag(nx.watts_strogatz_graph(16, 4, 1.0, seed=2))
    model = GraphRNN(dag, cell, vocab_size=6, embedding_dim=3)
    prune.magnitude(model, 0.5, targets="ih")  # weight level: each gate entry on its own
    gates = GATES[cell]
    blocks = [layer.mask_ih_l0.view(gates, len(v), -1) for layer, v in zip(model.layers[1:], model.layer_vertices[1:])]
    assert any(not torch.equal(b[0], b[g]) for b in blocks for g in range(1, gates))  # the gates disagree

    graph = to_graph(model)
    counts = gate_counts_from_masks(model)
    assert {(u, v): c for u, v, c in graph.edges(data="gates")} == dict(counts)
    assert set(counts.values()) - set(range(1, gates + 1)) == set() and len(set(counts.values())) > 1
    assert set(graph.edges()) <= set(dag.edges()) and set(graph.nodes()) == set(dag.nodes())
    per_gate = to_graph(model, per_gate=True)
    assert set(graph.edges()) == set().union(*(g.edges() for g in per_gate))
    assert graph.graph["gate_edges"] == [g.number_of_edges() for g in per_gate]
    assert graph.graph["gate_edges"] == [sum(int(b[g].sum()) for b in blocks) for g in range(gates)]


def _stats(values):
    array = np.asarray(list(values), dtype=float)
    return (float(array.mean()), float(array.var())) if array.size else (0.0, 0.0)


def networkx_properties(dag: nx.DiGraph) -> dict:
    """Every property of sparsernn.graphs.PROPERTIES, straight from networkx."""
    und = dag.to_undirected()
    lcc = und.subgraph(max(nx.connected_components(und), key=len))
    generations = list(nx.topological_generations(dag))  # longest path from the sources
    index = {v: i for i, layer in enumerate(generations) for v in layer}
    lengths = [index[v] - index[u] for u, v in dag.edges()]
    skips = [d for d in lengths if d > 1]
    expect = {
        "dag_nodes": dag.number_of_nodes(), "dag_edges": dag.number_of_edges(), "dag_density": nx.density(dag),
        "dag_sources": sum(1 for v in dag if dag.in_degree(v) == 0),
        "dag_sinks": sum(1 for v in dag if dag.out_degree(v) == 0),
        "dag_layer_count": len(generations), "dag_layer_width_max": max(len(g) for g in generations),
        "dag_skip_edge_fraction": len(skips) / len(lengths) if lengths else 0.0,
        "dag_skip_edge_mean_length": _stats(skips)[0], "dag_edge_mean_length": _stats(lengths)[0],
        "undirected_diameter": nx.diameter(lcc),
        "undirected_average_shortest_path_length": nx.average_shortest_path_length(lcc),
        "dag_in_degree_mean": _stats(d for _, d in dag.in_degree())[0],
        "dag_in_degree_var": _stats(d for _, d in dag.in_degree())[1],
        "dag_out_degree_var": _stats(d for _, d in dag.out_degree())[1],
        "dag_degree_var": _stats(d for _, d in dag.degree())[1],
    }
    for key, values in (("dag_layer_width", [len(g) for g in generations]),
                        ("undirected_eccentricity", nx.eccentricity(lcc).values()),
                        ("undirected_clustering", nx.clustering(und).values()),
                        ("dag_closeness", nx.closeness_centrality(dag).values()),
                        ("dag_betweenness", nx.betweenness_centrality(dag).values()),
                        ("dag_edge_betweenness", nx.edge_betweenness_centrality(dag).values())):
        expect[f"{key}_mean"], expect[f"{key}_var"] = _stats(values)
    return expect


@pytest.mark.parametrize("cell, criterion, amount", [("lstm", "magnitude", 0.5), ("gru", "random", 0.7),
                                                     ("rnn_tanh", "magnitude", 0.3)])
def test_properties_of_a_pruned_graph_equal_networkx_on_the_graph_read_from_the_masks(cell, criterion, amount):
    torch.manual_seed(3)
    dag = to_dag(thesis_graph("barabasi_albert", seed=5, sizes=(14, 18)))
    model = GraphRNN(dag, cell, vocab_size=6, embedding_dim=3)
    seed = {"seed": 1} if criterion == "random" else {}
    getattr(prune, criterion)(model, amount, targets="ih", granularity="connection", **seed)

    read = nx.DiGraph()  # built here, from the mask tensors alone
    read.add_nodes_from(model.hparams["vertices"])
    order = model.hparams["vertices"]
    for layer, vertices in zip(model.layers[1:], model.layer_vertices[1:]):
        gate_blocks = layer.mask_ih_l0.view(GATES[cell], len(vertices), -1)
        assert all(torch.equal(gate_blocks[0], b) for b in gate_blocks[1:])
        read.add_edges_from((order[col], vertices[row]) for row, col in gate_blocks[0].nonzero().tolist())
    assert read.number_of_edges() < dag.number_of_edges()

    recovered = to_graph(model)
    assert set(recovered.edges()) == set(read.edges())
    props, expect = graph_properties(recovered), networkx_properties(read)
    assert set(expect) == set(PROPERTIES)
    for key in PROPERTIES:
        assert props[key] == pytest.approx(expect[key]), key
