"""Read and write graphs: GraphML files, edge-list JSON files, and JSON dicts for the results DB.

Two file formats are read:

* GraphML, through :func:`networkx.read_graphml` (plain XML parsed by the standard
  library; nothing is unpickled or executed);
* edge-list JSON: ``{"directed": bool, "nodes": [...], "edges": [[u, v], ...]}``,
  optionally with ``"graph": {...}`` holding graph attributes (strings, numbers, bools).

The format is told by the file's first non-blank character (``<`` or ``{``), not by
its name. Nodes are normalised to ``0..n-1``: if they are not already exactly the ints
``0..n-1``, they are relabelled in sorted order (GraphML ids made only of digits are
read as ints first, so ``"10"`` sorts after ``"9"``; mixed types sort by type name,
then value), and each node keeps its old label in the node attribute ``"label"``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import networkx as nx

from ..errors import InputError

_SCALARS = (str, int, float, bool)


def _sort_key(node: object) -> tuple:
    return (type(node).__name__, node)


def normalize_nodes(graph: nx.Graph) -> nx.Graph:
    """Return ``graph`` with nodes ``0..n-1`` (itself if they already are), old labels in ``"label"``.

    Examples
    --------
    >>> g = normalize_nodes(nx.Graph([("b", "a"), ("b", "c")]))
    >>> sorted(g.edges), g.nodes[0]["label"]
    ([(0, 1), (1, 2)], 'a')
    """
    nodes = list(graph)
    if all(type(v) is int for v in nodes) and set(nodes) == set(range(len(nodes))):
        return graph
    try:
        order = sorted(nodes, key=_sort_key)
    except TypeError:
        raise InputError(f"graph nodes must be sortable to be relabelled 0..n-1; got {nodes[:5]!r}.") from None
    mapping = {v: i for i, v in enumerate(order)}
    relabelled = graph.__class__()
    relabelled.graph.update(graph.graph)
    relabelled.add_nodes_from((mapping[v], {**data, "label": v}) for v, data in
                              sorted(graph.nodes(data=True), key=lambda item: mapping[item[0]]))
    relabelled.add_edges_from((mapping[u], mapping[v], data) for u, v, data in graph.edges(data=True))
    return relabelled


def graph_to_json(graph: nx.Graph) -> dict:
    """Return ``graph`` as a JSON-ready dict ``{"directed", "nodes", "edges", "graph"}``.

    Node and edge attributes are dropped; graph attributes are kept if their values
    are strings, numbers or bools.

    Examples
    --------
    >>> graph_to_json(nx.DiGraph([(0, 1), (0, 2)]))
    {'directed': True, 'nodes': [0, 1, 2], 'edges': [[0, 1], [0, 2]], 'graph': {}}
    """
    if not isinstance(graph, nx.Graph):
        raise InputError(f"The 'graph' parameter of graph_to_json must be a networkx graph; "
                         f"got {type(graph).__name__}.")
    return {
        "directed": graph.is_directed(),
        "nodes": list(graph),
        "edges": [[u, v] for u, v in graph.edges()],
        "graph": {k: v for k, v in graph.graph.items() if isinstance(k, str) and isinstance(v, _SCALARS)},
    }


def graph_from_json(data: dict, *, source: str = "graph_from_json") -> nx.Graph:
    """Return the graph stored by :func:`graph_to_json`, with nodes normalised to ``0..n-1``.

    ``source`` names the input in error messages (a file name, a DB row).

    Examples
    --------
    >>> d = graph_to_json(nx.DiGraph([(0, 1), (0, 2)]))
    >>> sorted(graph_from_json(d).edges)
    [(0, 1), (0, 2)]
    """
    where = f"{source}: "
    if not isinstance(data, dict):
        raise InputError(f"{where}an edge-list JSON must be an object; got {type(data).__name__}.")
    unknown = set(data) - {"directed", "nodes", "edges", "graph"}
    if unknown or not {"directed", "nodes", "edges"} <= set(data):
        raise InputError(f"{where}an edge-list JSON must have keys 'directed', 'nodes', 'edges' "
                         f"(and optionally 'graph'); got {sorted(data)!r}.")
    directed, nodes, edges = data["directed"], data["nodes"], data["edges"]
    if not isinstance(directed, bool):
        raise InputError(f"{where}'directed' must be true or false; got {directed!r}.")
    if not isinstance(nodes, list) or not all(isinstance(v, (int, str)) and not isinstance(v, bool)
                                              for v in nodes):
        raise InputError(f"{where}'nodes' must be a list of ints or strings.")
    if len(set(nodes)) != len(nodes):
        raise InputError(f"{where}'nodes' must not repeat a node.")
    known = set(nodes)
    if not isinstance(edges, list):
        raise InputError(f"{where}'edges' must be a list of [u, v] pairs.")
    for edge in edges:
        if not (isinstance(edge, list) and len(edge) == 2):
            raise InputError(f"{where}'edges' must be a list of [u, v] pairs; got {edge!r}.")
        if edge[0] not in known or edge[1] not in known:
            raise InputError(f"{where}edge {edge!r} names a node that is not in 'nodes'.")
    graph = nx.DiGraph() if directed else nx.Graph()
    attrs = data.get("graph", {})
    if not isinstance(attrs, dict):
        raise InputError(f"{where}'graph' must be an object of graph attributes.")
    graph.graph.update(attrs)
    graph.add_nodes_from(nodes)
    graph.add_edges_from(tuple(e) for e in edges)
    return normalize_nodes(graph)


def _int_ids(graph: nx.Graph) -> nx.Graph:
    """GraphML ids are strings; read ids made only of digits as ints."""
    if all(isinstance(v, str) and v.isdigit() and v.isascii() for v in graph):
        return nx.relabel_nodes(graph, {v: int(v) for v in graph})
    return graph


def read_graph(path: str | os.PathLike) -> nx.Graph:
    """Return the graph in a GraphML or edge-list JSON file, nodes normalised to ``0..n-1``.

    Raises :class:`~sparsernn.errors.InputError` naming the file if it is neither, or
    if it holds a multigraph (parallel edges).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "g.graphml"
    >>> write_graph(nx.DiGraph([(0, 1), (1, 2)]), path)
    >>> sorted(read_graph(path).edges)
    [(0, 1), (1, 2)]
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, ValueError) as error:  # ValueError: not UTF-8, or a NUL in the path
        raise InputError(f"cannot read graph file {str(path)!r}: {error}") from None
    head = text.lstrip()[:1]
    if head == "{":
        try:
            data = json.loads(text)
        except RecursionError:
            raise InputError(f"graph file {str(path)!r} is nested too deeply to be a graph.") from None
        except ValueError as error:  # JSONDecodeError, or an integer of over 4,300 digits
            raise InputError(f"graph file {str(path)!r} is not valid JSON: {error}") from None
        return graph_from_json(data, source=f"graph file {str(path)!r}")
    if head == "<":
        try:
            graph = nx.read_graphml(path)
        except Exception as error:  # ParseError, NetworkXError, KeyError, ... from a bad file
            message = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise InputError(f"graph file {str(path)!r} is not valid GraphML: {message}") from None
        if graph.is_multigraph():
            raise InputError(f"graph file {str(path)!r} has parallel edges; sparsernn graphs are simple.")
        return normalize_nodes(_int_ids(graph))
    raise InputError(f"graph file {str(path)!r} is neither GraphML nor edge-list JSON "
                     f"(expected it to start with '<' or '{{').")


def write_graph(graph: nx.Graph, path: str | os.PathLike) -> None:
    """Write ``graph`` to ``path``: GraphML if it ends in ``.graphml``, edge-list JSON if ``.json``.

    GraphML keeps node, edge and graph attributes (scalars only); JSON keeps the
    structure and scalar graph attributes (see :func:`graph_to_json`).
    """
    path = Path(path)
    if not isinstance(graph, nx.Graph):
        raise InputError(f"The 'graph' parameter of write_graph must be a networkx graph; "
                         f"got {type(graph).__name__}.")
    suffix = path.suffix.lower()
    if suffix == ".graphml":
        nx.write_graphml(graph, path)
    elif suffix == ".json":
        path.write_text(json.dumps(graph_to_json(graph)), encoding="utf-8")
    else:
        raise InputError(f"The 'path' parameter of write_graph must end in '.graphml' or '.json'; "
                         f"got {str(path)!r}.")
