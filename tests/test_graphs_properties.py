import math

import networkx as nx
import numpy as np
import pytest

from sparsernn.errors import InputError
from sparsernn.graphs import PROPERTIES, graph_properties, thesis_graph, to_dag
from sparsernn.graphs import properties as P


def _stats(values):
    a = np.asarray(list(values), dtype=float)
    return float(a.mean()), float(a.var())


def hand_dag():
    # layers: 0,1 | 2,3 | 4 | 5 ; edge 0 -> 5 skips 2 layers (length 3), 1 -> 4 skips 1 (length 2)
    return nx.DiGraph([(0, 2), (1, 2), (1, 3), (2, 4), (4, 5), (3, 5), (0, 5), (1, 4)])


DAGS = {
    "path": to_dag(nx.path_graph(5)),
    "star": to_dag(nx.star_graph(4)),            # centre 0 -> leaves
    "complete": to_dag(nx.complete_graph(5)),
    "hand": hand_dag(),
    "disconnected": to_dag(nx.Graph([(0, 1), (1, 2), (3, 4)])),
    "thesis": to_dag(thesis_graph("barabasi_albert", seed=1)),
}


@pytest.mark.parametrize("name", DAGS)
def test_each_property_equals_networkx(name):
    dag = DAGS[name]
    und = dag.to_undirected()
    lcc = und.subgraph(max(nx.connected_components(und), key=len))
    expect = {
        "dag_nodes": dag.number_of_nodes(),
        "dag_edges": dag.number_of_edges(),
        "dag_density": nx.density(dag),
        "dag_sources": sum(1 for v in dag if dag.in_degree(v) == 0),
        "dag_sinks": sum(1 for v in dag if dag.out_degree(v) == 0),
        "dag_layer_count": len(list(nx.topological_generations(dag))),
        "dag_layer_width_max": max(len(g) for g in nx.topological_generations(dag)),
        "undirected_diameter": nx.diameter(lcc),
        "undirected_average_shortest_path_length": nx.average_shortest_path_length(lcc),
        "dag_closeness_mean": _stats(nx.closeness_centrality(dag).values())[0],
        "dag_betweenness_var": _stats(nx.betweenness_centrality(dag).values())[1],
        "dag_edge_betweenness_var": _stats(nx.edge_betweenness_centrality(dag).values())[1],
        "undirected_clustering_mean": nx.average_clustering(und),
    }
    widths = [len(g) for g in nx.topological_generations(dag)]
    for stat, value in zip(("mean", "var"), _stats(widths)):
        expect[f"dag_layer_width_{stat}"] = value
    for key, fn in (("eccentricity", lambda: nx.eccentricity(lcc).values()),
                    ("clustering", lambda: nx.clustering(und).values())):
        for stat, value in zip(("mean", "var"), _stats(fn())):
            expect[f"undirected_{key}_{stat}"] = value
    for key, view in (("in_degree", dag.in_degree), ("out_degree", dag.out_degree), ("degree", dag.degree)):
        for stat, value in zip(("mean", "var"), _stats(d for _, d in view())):
            expect[f"dag_{key}_{stat}"] = value
    for key, fn in (("closeness", nx.closeness_centrality), ("betweenness", nx.betweenness_centrality),
                    ("edge_betweenness", nx.edge_betweenness_centrality)):
        for stat, value in zip(("mean", "var"), _stats(fn(dag).values())):
            expect[f"dag_{key}_{stat}"] = value
    checked = {key: value for key, value in expect.items() if key in PROPERTIES}
    assert len(checked) == len(PROPERTIES) - 3  # all but the skip-edge and edge-length ones, checked by hand
    for key, value in checked.items():
        assert getattr(P, key)(dag) == pytest.approx(value), key


def test_hand_drawn_dag_by_hand():
    dag = hand_dag()
    assert P.dag_layer_count(dag) == 4
    assert P.dag_layer_width_mean(dag) == 6 / 4
    assert P.dag_layer_width_var(dag) == pytest.approx(((2 - 1.5) ** 2 * 2 + (1 - 1.5) ** 2 * 2) / 4)
    assert P.dag_layer_width_max(dag) == 2
    assert P.dag_sources(dag) == 2 and P.dag_sinks(dag) == 1
    # lengths: 0-2:1 1-2:1 1-3:1 2-4:1 4-5:1 3-5:2 0-5:3 1-4:2
    assert P.dag_skip_edge_fraction(dag) == 3 / 8
    assert P.dag_skip_edge_mean_length(dag) == (2 + 3 + 2) / 3
    assert P.dag_edge_mean_length(dag) == 12 / 8
    assert P.dag_density(dag) == 8 / 30
    assert P.dag_in_degree_mean(dag) == 8 / 6


def test_known_values_on_path_star_complete():
    path, star, complete = DAGS["path"], DAGS["star"], DAGS["complete"]
    assert P.dag_layer_count(path) == 5 and P.dag_skip_edge_fraction(path) == 0.0
    assert P.dag_skip_edge_mean_length(path) == 0.0 and P.undirected_diameter(path) == 4
    assert P.dag_layer_count(star) == 2 and P.dag_sinks(star) == 4 and P.undirected_diameter(star) == 2
    # complete DAG on 5 nodes: one node per layer; edge i -> j has length j - i
    assert P.dag_layer_width_max(complete) == 1 and P.dag_density(complete) == 0.5
    assert P.dag_skip_edge_fraction(complete) == 6 / 10
    assert P.dag_skip_edge_mean_length(complete) == (3 * 2 + 2 * 3 + 1 * 4) / 6
    assert P.undirected_clustering_mean(complete) == 1.0


def test_disconnected_uses_largest_component():
    dag = DAGS["disconnected"]
    assert P.undirected_diameter(dag) == 2
    assert P.undirected_average_shortest_path_length(dag) == pytest.approx(4 / 3)
    assert P.undirected_eccentricity_mean(dag) == pytest.approx(5 / 3)


def test_graph_properties_is_flat_stable_and_finite():
    props = graph_properties(DAGS["thesis"])
    assert list(props) == list(PROPERTIES) and len(props) >= 23
    assert all(type(v) is float and math.isfinite(v) for v in props.values())
    single = graph_properties(to_dag(nx.empty_graph(1)))
    assert single["dag_nodes"] == 1.0 and single["dag_edges"] == 0.0
    assert all(math.isfinite(v) for v in single.values())


def test_properties_refuse_what_is_not_a_dag():
    with pytest.raises(InputError, match="must be a directed acyclic graph"):
        graph_properties(nx.path_graph(3))
    with pytest.raises(InputError, match="graph has a cycle"):
        P.dag_nodes(nx.DiGraph([(0, 1), (1, 0)]))


@pytest.mark.slow
def test_no_property_repeats_another():
    # Over varied thesis graphs no two properties rank the graphs identically
    # (a copy, a multiple or a square root of another would).
    dags = [to_dag(thesis_graph(kind, seed=s)) for kind in ("barabasi_albert", "watts_strogatz") for s in range(25)]
    table = np.array([[P.PROPERTIES[name](dag) for name in PROPERTIES] for dag in dags])
    from scipy import stats

    rho = stats.spearmanr(table).statistic
    names = list(PROPERTIES)
    for i in range(len(names)):
        for j in range(i):
            assert abs(rho[i, j]) < 1 - 1e-9, (names[i], names[j])
