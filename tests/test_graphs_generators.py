import networkx as nx
import numpy as np
import pytest

from sparsernn.errors import InputError
from sparsernn.graphs import barabasi_albert, erdos_renyi, thesis_graph, to_dag, watts_strogatz

GENERATORS = [
    lambda seed: watts_strogatz(20, 4, 0.3, seed=seed),
    lambda seed: barabasi_albert(20, 2, seed=seed),
    lambda seed: erdos_renyi(20, 0.2, seed=seed),
]


@pytest.mark.parametrize("make", GENERATORS)
def test_nodes_are_0_to_n_minus_1_and_seed_reproducible(make):
    g = make(0)
    assert type(g) is nx.Graph
    assert sorted(g) == list(range(20))
    assert sorted(g.edges) == sorted(make(0).edges)
    assert sorted(g.edges) != sorted(make(1).edges)
    # a Generator seed is accepted and also reproducible
    assert sorted(make(np.random.default_rng(3)).edges) == sorted(make(np.random.default_rng(3)).edges)


def test_edge_counts_follow_the_formulas():
    for n in (10, 23, 50):
        k = n // 5
        assert watts_strogatz(n, k, 1.0, seed=n).number_of_edges() == n * (k // 2)
        m = max(1, n // 10)
        assert barabasi_albert(n, m, seed=n).number_of_edges() == m * (n - m)
    assert erdos_renyi(6, 1.0, seed=0).number_of_edges() == 15
    assert erdos_renyi(6, 0.0, seed=0).number_of_edges() == 0


def test_watts_strogatz_p0_is_the_ring_lattice():
    assert sorted(watts_strogatz(8, 4, 0.0, seed=0).edges) == sorted(nx.watts_strogatz_graph(8, 4, 0.0).edges)


@pytest.mark.parametrize("kind", ["barabasi_albert", "watts_strogatz"])
def test_thesis_graph_index_orientation_edge_counts(kind):
    sizes = set()
    for seed in range(40):
        g = thesis_graph(kind, seed=seed)
        n = g.number_of_nodes()
        sizes.add(n)
        assert 10 <= n <= 50 and sorted(g) == list(range(n))
        dag = to_dag(g, "index")
        if kind == "barabasi_albert":
            m = n // 10
            assert g.graph["m"] == m and dag.number_of_edges() == m * (n - m)
        else:
            k = n // 5
            assert g.graph["k"] == k and g.graph["p"] == 1.0
            assert dag.number_of_edges() == n * (k // 2)
        assert all(u < v for u, v in dag.edges)
    assert len(sizes) > 10  # n really is drawn
    assert sorted(thesis_graph(kind, seed=5).edges) == sorted(thesis_graph(kind, seed=5).edges)


@pytest.mark.parametrize("call, message", [
    (lambda: watts_strogatz(10, 4, 1.5, seed=0),
     "The 'p' parameter of watts_strogatz must be a float in [0, 1]; got 1.5."),
    (lambda: watts_strogatz(10, 10, 0.5, seed=0),
     "The 'k' parameter of watts_strogatz must be an int in [0, 9]; got 10."),
    (lambda: watts_strogatz(0, 0, 0.5, seed=0),
     "The 'n' parameter of watts_strogatz must be an int >= 1; got 0."),
    (lambda: barabasi_albert(10, 0, seed=0),
     "The 'm' parameter of barabasi_albert must be an int in [1, 9]; got 0."),
    (lambda: barabasi_albert(10.0, 2, seed=0),
     "The 'n' parameter of barabasi_albert must be an int >= 2; got 10.0."),
    (lambda: erdos_renyi(5, True, seed=0),
     "The 'p' parameter of erdos_renyi must be a float in [0, 1]; got True."),
    (lambda: erdos_renyi(5, 0.5, seed="x"),
     "The 'seed' parameter of erdos_renyi must be an int or a numpy.random.Generator; got 'x'."),
    (lambda: thesis_graph("er", seed=0),
     "The 'kind' parameter of thesis_graph must be one of 'barabasi_albert', 'watts_strogatz'; got 'er'."),
])
def test_bad_parameters_raise_one_line_input_errors(call, message):
    with pytest.raises(InputError) as info:
        call()
    assert str(info.value) == message
