import networkx as nx
import numpy as np
import pytest
from scipy import stats

from sparsernn.errors import InputError
from sparsernn.graphs import barabasi_albert, barabasi_albert_star, erdos_renyi, thesis_graph, to_dag, watts_strogatz

GENERATORS = [
    lambda seed: watts_strogatz(20, 4, 0.3, seed=seed),
    lambda seed: barabasi_albert(20, 2, seed=seed),
    lambda seed: barabasi_albert_star(20, 2, seed=seed),
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
        assert barabasi_albert_star(n, m, seed=n).number_of_edges() == m * (n - m)
    assert erdos_renyi(6, 1.0, seed=0).number_of_edges() == 15
    assert erdos_renyi(6, 0.0, seed=0).number_of_edges() == 0


def test_watts_strogatz_p0_is_the_ring_lattice():
    assert sorted(watts_strogatz(8, 4, 0.0, seed=0).edges) == sorted(nx.watts_strogatz_graph(8, 4, 0.0).edges)


def _sources(dag):
    return sorted(v for v in dag if dag.in_degree(v) == 0)


def test_thesis_ba_graphs_have_n_div_10_sources_like_the_thesis_graphs():
    # All 400 BA graphs the thesis stored (networkx 2.4) have n // 10 sources by index.
    for seed in range(50):
        g = thesis_graph("barabasi_albert", seed=seed)
        n = g.number_of_nodes()
        assert 10 <= n <= 50
        assert _sources(to_dag(g, "index")) == list(range(n // 10))


def test_star_seeded_ba_graphs_have_one_source():
    for seed in range(20):
        g = thesis_graph("barabasi_albert_star", seed=seed)
        assert _sources(to_dag(g, "index")) == [0]
        assert g.number_of_edges() == g.graph["m"] * (g.number_of_nodes() - g.graph["m"])


def test_barabasi_albert_structure_by_hand():
    # Nodes 0..m-1 start unconnected, node m joins all of them, and every later node
    # joins exactly m distinct earlier nodes.
    for seed in range(10):
        g = barabasi_albert(30, 3, seed=seed)
        assert not any(g.has_edge(u, v) for u in range(3) for v in range(3))
        assert sorted(v for v in g[3] if v < 3) == [0, 1, 2]
        assert all(sum(1 for v in g[s] if v < s) == 3 for s in range(3, 30))


def test_barabasi_albert_attachment_probabilities_by_hand():
    # n = 4, m = 2: node 2 joins 0 and 1, so node 3 draws from [0, 1, 2, 2] until two
    # distinct nodes are drawn: P({0,1}) = 2 * (1/4 * 1/3) = 1/6,
    # P({0,2}) = P({1,2}) = 1/4 * 2/3 + 1/2 * 1/2 = 5/12.
    draws = 6000
    counts = {}
    for seed in range(draws):
        pair = tuple(sorted(barabasi_albert(4, 2, seed=seed)[3]))
        counts[pair] = counts.get(pair, 0) + 1
    expected = {(0, 1): 1 / 6, (0, 2): 5 / 12, (1, 2): 5 / 12}
    assert set(counts) == set(expected)
    observed = [counts[k] for k in expected]
    assert stats.chisquare(observed, [draws * p for p in expected.values()]).pvalue > 1e-3
    # n = 3, m = 1: node 2 joins 0 or 1 with probability 1/2 each (both have degree 1).
    ones = sum(barabasi_albert(3, 1, seed=seed).has_edge(2, 1) for seed in range(2000))
    assert stats.binomtest(ones, 2000, 0.5).pvalue > 1e-3


@pytest.mark.parametrize("kind", ["barabasi_albert", "barabasi_albert_star", "watts_strogatz"])
def test_thesis_graph_index_orientation_edge_counts(kind):
    sizes = set()
    for seed in range(40):
        g = thesis_graph(kind, seed=seed)
        n = g.number_of_nodes()
        sizes.add(n)
        assert 10 <= n <= 50 and sorted(g) == list(range(n))
        dag = to_dag(g, "index")
        if kind.startswith("barabasi_albert"):
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
     "The 'kind' parameter of thesis_graph must be one of 'barabasi_albert', 'barabasi_albert_star', "
     "'watts_strogatz'; got 'er'."),
])
def test_bad_parameters_raise_one_line_input_errors(call, message):
    with pytest.raises(InputError) as info:
        call()
    assert str(info.value) == message
