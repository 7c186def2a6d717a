import networkx as nx
import numpy as np
import pytest

from sparsernn.errors import InputError
from sparsernn.graphs import layer_index, layers, to_dag


def test_index_rule_orients_lower_to_higher_and_keeps_attributes():
    g = nx.Graph()
    g.add_node(0, kind="in")
    g.add_edge(3, 1, w=2.0)
    g.add_edges_from([(2, 0), (1, 0)])
    dag = to_dag(g)
    assert type(dag) is nx.DiGraph
    assert sorted(dag.edges) == [(0, 1), (0, 2), (1, 3)]
    assert dag.edges[1, 3]["w"] == 2.0 and dag.nodes[0]["kind"] == "in"
    assert dag.graph["orientation"] == "index"
    assert list(dag) == list(g)


def test_random_rule_is_a_seeded_permutation_order():
    g = nx.complete_graph(7)
    dag = to_dag(g, "random", seed=0)
    assert nx.is_directed_acyclic_graph(dag) and dag.number_of_edges() == 21
    # a complete graph oriented along a permutation has that permutation as its only topological order
    order = list(nx.topological_sort(dag))
    expected = list(np.random.default_rng(0).permutation(7))
    assert order == expected
    assert sorted(to_dag(g, "random", seed=0).edges) == sorted(dag.edges)
    assert sorted(to_dag(g, "random", seed=np.random.default_rng(0)).edges) == sorted(dag.edges)
    assert any(sorted(to_dag(g, "random", seed=s).edges) != sorted(dag.edges) for s in range(1, 5))


def test_directed_acyclic_input_is_kept():
    d = nx.DiGraph([(2, 0), (0, 1)])
    dag = to_dag(d)
    assert sorted(dag.edges) == [(0, 1), (2, 0)] and dag is not d


@pytest.mark.parametrize("graph, rule, seed, message", [
    (nx.DiGraph([(3, 5), (5, 3)]), "index", None,
     "The 'graph' parameter of to_dag must be acyclic, but the graph has a cycle: 3 -> 5 -> 3."),
    (nx.Graph(), "index", None,
     "The 'graph' parameter of to_dag must have at least one node; got an empty graph."),
    (nx.Graph([(1, 1)]), "index", None,
     "The 'graph' parameter of to_dag must have no self-loops (they cannot be oriented acyclically); "
     "got one at node 1."),
    (nx.Graph([(0, 1)]), "topo", None,
     "The 'rule' parameter of to_dag must be one of 'index', 'random'; got 'topo'."),
    (nx.Graph([(0, 1)]), "random", None,
     "The 'seed' parameter of to_dag must be an int or a numpy.random.Generator when rule='random'; got None."),
    (nx.MultiGraph([(0, 1)]), "index", None,
     "The 'graph' parameter of to_dag must be a simple graph, not a multigraph; got MultiGraph."),
    ([(0, 1)], "index", None, "The 'graph' parameter of to_dag must be a networkx graph; got list."),
    (nx.Graph([(0, "a"), ("a", 2)]), "index", None,
     "The 'graph' parameter of to_dag must have vertices that can be ordered (e.g. all ints or all strs); "
     "got 0 and 'a'."),
])
def test_bad_input_raises(graph, rule, seed, message):
    with pytest.raises(InputError) as info:
        to_dag(graph, rule, seed=seed)
    assert str(info.value) == message
    assert "\n" not in str(info.value)


def test_layers_of_a_hand_drawn_dag():
    #   0 -> 2 -> 4 -> 5,  1 -> 2,  1 -> 3 -> 5,  0 -> 5 (skips)
    dag = nx.DiGraph([(0, 2), (1, 2), (2, 4), (4, 5), (1, 3), (3, 5), (0, 5)])
    assert layer_index(dag) == {0: 0, 2: 1, 1: 0, 4: 2, 5: 3, 3: 1}
    assert layers(dag) == [[0, 1], [2, 3], [4], [5]]
    assert layers(dag) == [sorted(g) for g in nx.topological_generations(dag)]


def test_layers_of_isolated_nodes_and_random_dags_match_topological_generations():
    assert layers(to_dag(nx.empty_graph(3))) == [[0, 1, 2]]
    for seed in range(5):
        dag = to_dag(nx.gnp_random_graph(15, 0.3, seed=seed), "random", seed=seed)
        index = layer_index(dag)
        assert all(index[v] > index[u] for u, v in dag.edges)
        assert [sorted(layer) for layer in layers(dag)] == [sorted(g) for g in nx.topological_generations(dag)]


def test_layer_index_rejects_undirected_and_cyclic():
    with pytest.raises(InputError, match="must be a directed acyclic graph"):
        layer_index(nx.path_graph(3))
    with pytest.raises(InputError, match=r"graph has a cycle: 0 -> 1 -> 0\.$"):
        layer_index(nx.DiGraph([(0, 1), (1, 0)]))


def test_a_graph_rnn_refuses_vertices_it_cannot_order_and_points_undirected_graphs_to_to_dag():
    from sparsernn.nn import GraphRNN

    with pytest.raises(InputError, match=r"vertices that can be ordered .*; got 0 and 'a'\.$"):
        GraphRNN(nx.DiGraph([(0, 2), ("a", 2)]), "gru", 5)
    with pytest.raises(InputError, match=r"got an undirected Graph \(orient it with to_dag\)\.$"):
        GraphRNN(nx.Graph([(0, 1)]), "gru", 5)
