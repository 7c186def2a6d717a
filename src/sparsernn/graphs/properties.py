"""Graph properties of the DAG a structurally sparse RNN is built from, one small function each.

Every function takes the DAG the model uses (from :func:`~sparsernn.graphs.to_dag`),
never the undirected generator graph (the reference thesis measured the latter). The
name says which view of it is measured:

* ``dag_*`` — the directed graph itself (in/out degrees, layers, directed paths);
* ``undirected_*`` — the DAG with directions forgotten (``dag.to_undirected()``),
  which has the same edges as the generator graph.

Distance-based properties (diameter, average shortest path length, eccentricity) are
undefined on a disconnected graph; they are computed on the largest connected
component of the undirected view (the first one in node order on a tie). A
``*_mean``/``*_var`` pair summarises a per-node (or per-edge) value by its mean and
population variance (``ddof=0``); over an empty set (no edges) both are 0.0.
Centralities use networkx's defaults (normalised).

No property repeats another: on a DAG the mean out-degree equals the mean in-degree
and the mean total degree is twice it, so only :func:`dag_in_degree_mean` is kept; a
standard deviation is the square root of its variance (the same ranking, the same
splits for a tree), so only the variances are kept. Duplicates would only inflate the
multiple-testing correction and split importances between copies.

:func:`graph_properties` returns them all as a flat dict of floats.

Examples
--------
>>> dag = nx.DiGraph([(0, 1), (1, 2), (0, 2)])
>>> dag_layer_count(dag), dag_skip_edge_fraction(dag)
(3, 0.3333333333333333)
>>> props = graph_properties(dag)
>>> props["dag_edges"], props["undirected_diameter"]
(3.0, 1.0)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import networkx as nx
import numpy as np

from .dag import check_dag, layer_index, layers


def _stats(values: Iterable[float]) -> tuple[float, float, float]:
    array = np.asarray(list(values), dtype=float)
    if array.size == 0:
        return 0.0, 0.0, 0.0
    return float(array.mean()), float(array.var()), float(array.std())


def _undirected(dag: nx.DiGraph) -> nx.Graph:
    return check_dag(dag, "graph_properties").to_undirected(as_view=True)


def _largest_component(dag: nx.DiGraph) -> nx.Graph:
    """The largest connected component of the undirected view (first in node order on a tie)."""
    view = _undirected(dag)
    component = max(nx.connected_components(view), key=len)
    return view.subgraph(component)


def _edge_lengths(dag: nx.DiGraph) -> list[int]:
    index = layer_index(dag)
    return [index[v] - index[u] for u, v in dag.edges()]


# --- size --------------------------------------------------------------------------------

def dag_nodes(dag: nx.DiGraph) -> int:
    """Number of nodes (recurrent units)."""
    return check_dag(dag, "dag_nodes").number_of_nodes()


def dag_edges(dag: nx.DiGraph) -> int:
    """Number of directed edges (connections between units)."""
    return check_dag(dag, "dag_edges").number_of_edges()


def dag_density(dag: nx.DiGraph) -> float:
    """Directed density ``m / (n (n - 1))`` (0 for one node), as :func:`networkx.density`."""
    return nx.density(check_dag(dag, "dag_density"))


def dag_sources(dag: nx.DiGraph) -> int:
    """Number of sources (in-degree 0): the units of layer 0."""
    return sum(1 for _, d in check_dag(dag, "dag_sources").in_degree() if d == 0)


def dag_sinks(dag: nx.DiGraph) -> int:
    """Number of sinks (out-degree 0)."""
    return sum(1 for _, d in check_dag(dag, "dag_sinks").out_degree() if d == 0)


# --- layers ------------------------------------------------------------------------------

def dag_layer_count(dag: nx.DiGraph) -> int:
    """Number of layers: 1 + the length of the longest directed path."""
    return len(layers(dag))


def dag_layer_width_mean(dag: nx.DiGraph) -> float:
    """Mean number of nodes per layer."""
    return _stats(len(layer) for layer in layers(dag))[0]


def dag_layer_width_var(dag: nx.DiGraph) -> float:
    """Variance of the number of nodes per layer."""
    return _stats(len(layer) for layer in layers(dag))[1]


def dag_layer_width_max(dag: nx.DiGraph) -> int:
    """Largest number of nodes in one layer."""
    return max(len(layer) for layer in layers(dag))


def dag_skip_edge_fraction(dag: nx.DiGraph) -> float:
    """Fraction of edges ``u -> v`` that skip layers, ``layer(v) - layer(u) > 1`` (0 with no edges)."""
    lengths = _edge_lengths(dag)
    return sum(1 for d in lengths if d > 1) / len(lengths) if lengths else 0.0


def dag_skip_edge_mean_length(dag: nx.DiGraph) -> float:
    """Mean ``layer(v) - layer(u)`` over the layer-skipping edges only; 0 if there are none.

    Every skipping edge has length >= 2, so 0 cannot be mistaken for a real mean.
    """
    skips = [d for d in _edge_lengths(dag) if d > 1]
    return sum(skips) / len(skips) if skips else 0.0


def dag_edge_mean_length(dag: nx.DiGraph) -> float:
    """Mean ``layer(v) - layer(u)`` over all edges (1 when none skips; 0 with no edges)."""
    return _stats(_edge_lengths(dag))[0]


# --- distances (undirected view, largest component) --------------------------------------

def undirected_diameter(dag: nx.DiGraph) -> int:
    """Diameter of the largest connected component of the undirected view."""
    return nx.diameter(_largest_component(dag))


def undirected_average_shortest_path_length(dag: nx.DiGraph) -> float:
    """Average shortest path length in the largest connected component of the undirected view."""
    return nx.average_shortest_path_length(_largest_component(dag))


def undirected_eccentricity_mean(dag: nx.DiGraph) -> float:
    """Mean eccentricity in the largest connected component of the undirected view."""
    return _stats(nx.eccentricity(_largest_component(dag)).values())[0]


def undirected_eccentricity_var(dag: nx.DiGraph) -> float:
    """Variance of the eccentricity in the largest connected component of the undirected view."""
    return _stats(nx.eccentricity(_largest_component(dag)).values())[1]


# --- degrees -----------------------------------------------------------------------------

def _in_degrees(dag: nx.DiGraph) -> list[int]:
    return [d for _, d in check_dag(dag, "graph_properties").in_degree()]


def _out_degrees(dag: nx.DiGraph) -> list[int]:
    return [d for _, d in check_dag(dag, "graph_properties").out_degree()]


def _degrees(dag: nx.DiGraph) -> list[int]:
    return [d for _, d in check_dag(dag, "graph_properties").degree()]


def dag_in_degree_mean(dag: nx.DiGraph) -> float:
    """Mean in-degree (inputs per unit), ``m / n``: also the mean out-degree, and half the mean total degree."""
    return _stats(_in_degrees(dag))[0]


def dag_in_degree_var(dag: nx.DiGraph) -> float:
    """Variance of the in-degree."""
    return _stats(_in_degrees(dag))[1]


def dag_out_degree_var(dag: nx.DiGraph) -> float:
    """Variance of the out-degree."""
    return _stats(_out_degrees(dag))[1]


def dag_degree_var(dag: nx.DiGraph) -> float:
    """Variance of the total degree."""
    return _stats(_degrees(dag))[1]


# --- centralities (directed) -------------------------------------------------------------

def _closeness(dag: nx.DiGraph) -> Iterable[float]:
    return nx.closeness_centrality(check_dag(dag, "graph_properties")).values()


def _betweenness(dag: nx.DiGraph) -> Iterable[float]:
    return nx.betweenness_centrality(check_dag(dag, "graph_properties")).values()


def _edge_betweenness(dag: nx.DiGraph) -> Iterable[float]:
    return nx.edge_betweenness_centrality(check_dag(dag, "graph_properties")).values()


def dag_closeness_mean(dag: nx.DiGraph) -> float:
    """Mean closeness centrality on the DAG (:func:`networkx.closeness_centrality`: incoming distances)."""
    return _stats(_closeness(dag))[0]


def dag_closeness_var(dag: nx.DiGraph) -> float:
    """Variance of the closeness centrality on the DAG."""
    return _stats(_closeness(dag))[1]


def dag_betweenness_mean(dag: nx.DiGraph) -> float:
    """Mean node betweenness centrality on the DAG (directed paths, normalised)."""
    return _stats(_betweenness(dag))[0]


def dag_betweenness_var(dag: nx.DiGraph) -> float:
    """Variance of the node betweenness centrality on the DAG."""
    return _stats(_betweenness(dag))[1]


def dag_edge_betweenness_mean(dag: nx.DiGraph) -> float:
    """Mean edge betweenness centrality on the DAG (directed paths, normalised; 0 with no edges)."""
    return _stats(_edge_betweenness(dag))[0]


def dag_edge_betweenness_var(dag: nx.DiGraph) -> float:
    """Variance of the edge betweenness centrality on the DAG."""
    return _stats(_edge_betweenness(dag))[1]


# --- clustering (undirected view) ----------------------------------------------------------

def undirected_clustering_mean(dag: nx.DiGraph) -> float:
    """Mean local clustering coefficient of the undirected view (:func:`networkx.average_clustering`)."""
    return _stats(nx.clustering(_undirected(dag)).values())[0]


def undirected_clustering_var(dag: nx.DiGraph) -> float:
    """Variance of the local clustering coefficient of the undirected view."""
    return _stats(nx.clustering(_undirected(dag)).values())[1]


PROPERTIES: dict[str, Callable[[nx.DiGraph], float]] = {
    f.__name__: f
    for f in (
        dag_nodes, dag_edges, dag_density, dag_sources, dag_sinks,
        dag_layer_count, dag_layer_width_mean, dag_layer_width_var, dag_layer_width_max,
        dag_skip_edge_fraction, dag_skip_edge_mean_length, dag_edge_mean_length,
        undirected_diameter, undirected_average_shortest_path_length,
        undirected_eccentricity_mean, undirected_eccentricity_var,
        dag_in_degree_mean, dag_in_degree_var, dag_out_degree_var, dag_degree_var,
        dag_closeness_mean, dag_closeness_var,
        dag_betweenness_mean, dag_betweenness_var,
        dag_edge_betweenness_mean, dag_edge_betweenness_var,
        undirected_clustering_mean, undirected_clustering_var,
    )
}
"""Every property function by name, in the key order of :func:`graph_properties`."""


def graph_properties(dag: nx.DiGraph) -> dict[str, float]:
    """Return every property in :data:`PROPERTIES` of ``dag`` as a flat dict of floats.

    Keys are the function names, in a fixed order. Raises
    :class:`~sparsernn.errors.InputError` if ``dag`` is not a non-empty DAG.

    Examples
    --------
    >>> props = graph_properties(nx.DiGraph([(0, 1), (1, 2)]))
    >>> len(props), props["dag_layer_count"], props["dag_sources"]
    (28, 3.0, 1.0)
    """
    check_dag(dag, "graph_properties")
    return {name: float(f(dag)) for name, f in PROPERTIES.items()}


__all__ = ["PROPERTIES", "graph_properties", *PROPERTIES]
