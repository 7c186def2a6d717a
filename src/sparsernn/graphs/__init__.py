"""Random graphs for structurally sparse RNNs: generate, orient into a DAG, layer, measure.

* generators — :func:`watts_strogatz`, :func:`barabasi_albert` (networkx 2's, from ``m``
  unconnected vertices), :func:`barabasi_albert_star` (networkx 3's), :func:`erdos_renyi`,
  :func:`thesis_graph` (the reference thesis's draw);
* dag — :func:`to_dag` (orient an undirected graph), :func:`layer_index`, :func:`layers`;
* io — :func:`read_graph`, :func:`write_graph` (GraphML or edge-list JSON),
  :func:`graph_to_json`, :func:`graph_from_json`, :func:`normalize_nodes`;
* properties — one function per property of the DAG (``dag_*`` on the directed graph,
  ``undirected_*`` on its undirected view), and :func:`graph_properties` for all of them.

Examples
--------
>>> g = barabasi_albert(12, 2, seed=0)
>>> dag = to_dag(g, "index")
>>> dag.number_of_edges() == g.number_of_edges() == 2 * (12 - 2)
True
>>> layers(dag)[0]
[0, 1]
>>> graph_properties(dag)["dag_sources"]
2.0
"""

from .dag import RULES, layer_index, layers, to_dag
from .generators import THESIS_KINDS, barabasi_albert, barabasi_albert_star, erdos_renyi, thesis_graph, watts_strogatz
from .io import graph_from_json, graph_to_json, normalize_nodes, read_graph, write_graph
from .properties import *  # noqa: F401,F403  (every property function, listed in PROPERTIES)
from .properties import PROPERTIES, graph_properties

__all__ = [
    "PROPERTIES",
    "RULES",
    "THESIS_KINDS",
    "barabasi_albert",
    "barabasi_albert_star",
    "erdos_renyi",
    "graph_from_json",
    "graph_properties",
    "graph_to_json",
    "layer_index",
    "layers",
    "normalize_nodes",
    "read_graph",
    "thesis_graph",
    "to_dag",
    "watts_strogatz",
    "write_graph",
    *PROPERTIES,
]
