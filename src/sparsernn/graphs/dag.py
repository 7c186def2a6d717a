"""From an undirected graph to the DAG a structurally sparse RNN is built from, and its layers.

:func:`to_dag` orients every edge so that the result is acyclic; :func:`layer_index`
puts each vertex in the layer given by the longest path reaching it from a source, and
:func:`layers` lists the layers. Each DAG vertex becomes one recurrent unit; a unit
reads the units of its predecessors. :func:`check_dag` (and :func:`check_graph`,
:func:`cycle_message`) check a graph argument for every graph-taking function of
sparsernn, :mod:`sparsernn.nn` included.
"""

from __future__ import annotations

import networkx as nx
import numpy as np

from ..checks import check_choice
from ..errors import InputError
from ..seeding import rng

RULES = ("index", "random")


def check_graph(graph: object, func: str, name: str = "graph") -> nx.Graph:
    """Return ``graph`` if it is a simple, non-empty networkx graph, else raise InputError."""
    if not isinstance(graph, nx.Graph):
        raise InputError(f"The {name!r} parameter of {func} must be a networkx graph; got {type(graph).__name__}.")
    if graph.is_multigraph():
        raise InputError(f"The {name!r} parameter of {func} must be a simple graph, not a multigraph; "
                         f"got {type(graph).__name__}.")
    if graph.number_of_nodes() == 0:
        raise InputError(f"The {name!r} parameter of {func} must have at least one node; got an empty graph.")
    try:
        sorted(graph.nodes)  # vertices are ordered: within a layer, and by the "index" orientation
    except TypeError:
        first = next(iter(graph.nodes))
        other = next((v for v in graph.nodes if type(v) is not type(first)), first)
        raise InputError(f"The {name!r} parameter of {func} must have vertices that can be ordered (e.g. all ints or "
                         f"all strs); got {first!r} and {other!r}.") from None
    return graph


def cycle_message(graph: nx.DiGraph) -> str | None:
    """Return "graph has a cycle: 3 -> 5 -> 3." for a cyclic digraph, or None if it is acyclic."""
    if nx.is_directed_acyclic_graph(graph):
        return None
    cycle = nx.find_cycle(graph)
    path = [cycle[0][0]] + [v for _, v, *_ in cycle]
    return "graph has a cycle: " + " -> ".join(str(v) for v in path) + "."


def check_dag(dag: object, func: str, name: str = "dag") -> nx.DiGraph:
    """Return ``dag`` if it is a non-empty simple directed acyclic graph, else raise InputError.

    Examples
    --------
    >>> check_dag(nx.DiGraph([(0, 1), (1, 0)]), "layers")
    Traceback (most recent call last):
    ...
    sparsernn.errors.InputError: The 'dag' parameter of layers must be acyclic, but the graph has a cycle: 0 -> 1 -> 0.
    """
    check_graph(dag, func, name)
    if not dag.is_directed():
        raise InputError(f"The {name!r} parameter of {func} must be a directed acyclic graph "
                         f"(a networkx.DiGraph); got an undirected {type(dag).__name__} (orient it with to_dag).")
    message = cycle_message(dag)
    if message is not None:
        raise InputError(f"The {name!r} parameter of {func} must be acyclic, but the {message}")
    return dag


def to_dag(graph: nx.Graph, rule: str = "index", *,
           seed: int | np.random.Generator | None = None) -> nx.DiGraph:
    """Return the DAG obtained by orienting every edge of ``graph`` along a node order.

    Parameters
    ----------
    graph : networkx.Graph or networkx.DiGraph
        A simple graph with at least one node. A directed graph is accepted only if it
        is acyclic; it is then returned as a copy with its own orientation (``rule`` and
        ``seed`` are not used).
    rule : {"index", "random"}
        The order edges follow. ``"index"``: the edge ``u–v`` becomes ``u -> v`` if
        ``u < v`` (nodes must be mutually comparable, e.g. ints ``0..n-1``).
        ``"random"``: draw a uniformly random permutation of the nodes (taken in
        ``graph``'s node order) and orient each edge from the earlier node to the
        later one.
    seed : int or numpy.random.Generator, optional
        Required for ``rule="random"``; not used for ``"index"``.

    Returns
    -------
    networkx.DiGraph
        The same nodes (in ``graph``'s node order), edges and attributes; every
        undirected edge appears once, oriented. ``dag.graph["orientation"]`` records the
        rule (``"given"`` for a directed input).

    Notes
    -----
    Orienting all edges along one total order always yields a DAG, and every DAG
    arises this way (from a topological order). A self-loop cannot be oriented, so an
    undirected graph with one is refused.

    Examples
    --------
    >>> dag = to_dag(nx.Graph([(2, 0), (0, 1), (1, 2)]))
    >>> sorted(dag.edges)
    [(0, 1), (0, 2), (1, 2)]
    >>> to_dag(nx.DiGraph([(3, 5), (5, 3)]))
    Traceback (most recent call last):
    ...
    sparsernn.errors.InputError: The 'graph' parameter of to_dag must be acyclic, but the graph has a cycle: 3 -> 5 -> 3.
    """  # noqa: E501  (a doctest's one-line error message)
    func = "to_dag"
    check_graph(graph, func)
    check_choice(rule, "rule", func, RULES)
    if graph.is_directed():
        message = cycle_message(graph)
        if message is not None:
            raise InputError(f"The 'graph' parameter of {func} must be acyclic, but the {message}")
        dag = nx.DiGraph(graph)
        dag.graph["orientation"] = "given"
        return dag
    loops = list(nx.selfloop_edges(graph))
    if loops:
        raise InputError(f"The 'graph' parameter of {func} must have no self-loops (they cannot be "
                         f"oriented acyclically); got one at node {loops[0][0]!r}.")
    nodes = list(graph)
    if rule == "index":
        try:
            order = sorted(nodes)
        except TypeError:
            raise InputError(f"The nodes of the 'graph' parameter of {func} must be mutually comparable "
                             f"for rule='index' (e.g. ints 0..n-1); got {nodes[:5]!r}.") from None
    else:
        if seed is None:
            raise InputError(f"The 'seed' parameter of {func} must be an int or a numpy.random.Generator "
                             f"when rule='random'; got None.")
        order = [nodes[i] for i in rng(seed, func).permutation(len(nodes))]
    rank = {node: i for i, node in enumerate(order)}
    dag = nx.DiGraph()
    dag.graph.update(graph.graph)
    dag.graph["orientation"] = rule
    dag.add_nodes_from(graph.nodes(data=True))
    for u, v, data in graph.edges(data=True):
        if rank[u] > rank[v]:
            u, v = v, u
        dag.add_edge(u, v, **data)
    return dag


def layer_index(dag: nx.DiGraph) -> dict:
    """Return each node's layer: the length of the longest path reaching it from a source.

    ``layer(v) = 0`` if ``v`` has no predecessors, else ``1 + max(layer(u) for u -> v)``.
    Every edge therefore goes from a lower layer to a higher one; an edge ``u -> v``
    with ``layer(v) - layer(u) > 1`` skips layers.

    Notes
    -----
    Computed in one pass over a topological order, O(n + m). The layers equal
    :func:`networkx.topological_generations`. Keys follow ``dag``'s node order.

    Examples
    --------
    >>> dag = nx.DiGraph([(0, 1), (1, 2), (0, 2), (3, 2)])
    >>> layer_index(dag)
    {0: 0, 1: 1, 2: 2, 3: 0}
    """
    check_dag(dag, "layer_index")
    layer = {}
    for v in nx.topological_sort(dag):
        layer[v] = 1 + max((layer[u] for u in dag.predecessors(v)), default=-1)
    return {v: layer[v] for v in dag}


def layers(dag: nx.DiGraph) -> list[list]:
    """Return the layers of ``dag`` as lists of nodes, layer 0 (the sources) first.

    Nodes inside a layer follow ``dag``'s node order. See :func:`layer_index`.

    Examples
    --------
    >>> layers(nx.DiGraph([(0, 1), (1, 2), (0, 2), (3, 2)]))
    [[0, 3], [1], [2]]
    """
    index = layer_index(dag)
    result: list[list] = [[] for _ in range(max(index.values()) + 1)]
    for v, i in index.items():
        result[i].append(v)
    return result
