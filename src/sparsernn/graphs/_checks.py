"""Parameter checks shared by the graph modules.

Each check raises :class:`~sparsernn.errors.InputError` with one line in the house
form: "The 'p' parameter of f must be ...; got ...".
"""

from __future__ import annotations

import math

import networkx as nx
import numpy as np

from ..errors import InputError
from ..seeding import derive_seed


def _is_int(value: object) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def check_int(value: object, name: str, func: str, *, minimum: int | None = None,
              maximum: int | None = None) -> int:
    """Return ``value`` as an int in [minimum, maximum] (either end optional), or raise."""
    if (not _is_int(value) or (minimum is not None and value < minimum)
            or (maximum is not None and value > maximum)):
        if minimum is not None and maximum is not None:
            expected = f"an int in [{minimum}, {maximum}]"
        elif minimum is not None:
            expected = f"an int >= {minimum}"
        elif maximum is not None:
            expected = f"an int <= {maximum}"
        else:
            expected = "an int"
        raise InputError(f"The {name!r} parameter of {func} must be {expected}; got {value!r}.")
    return int(value)


def check_probability(value: object, name: str, func: str) -> float:
    """Return ``value`` as a float in [0, 1], or raise."""
    ok = (isinstance(value, (int, float, np.integer, np.floating))
          and not isinstance(value, (bool, np.bool_)) and math.isfinite(value) and 0 <= value <= 1)
    if not ok:
        raise InputError(f"The {name!r} parameter of {func} must be a float in [0, 1]; got {value!r}.")
    return float(value)


def check_seed(seed: object, func: str) -> int | np.random.Generator:
    """Return ``seed`` if it is an int or a numpy Generator, or raise."""
    if _is_int(seed):
        return int(seed)
    if isinstance(seed, np.random.Generator):
        return seed
    raise InputError(
        f"The 'seed' parameter of {func} must be an int or a numpy.random.Generator; got {seed!r}."
    )


def networkx_seed(seed: object, func: str) -> int:
    """Turn ``seed`` into the int seed handed to a networkx generator.

    An int is mixed with ``func`` by :func:`~sparsernn.seeding.derive_seed` (so two
    generators given the same seed do not share a stream); a Generator gives one draw.
    """
    seed = check_seed(seed, func)
    if isinstance(seed, np.random.Generator):
        return int(seed.integers(0, 2**63 - 1))
    return derive_seed(seed, "sparsernn.graphs", func)


def check_graph(graph: object, func: str, name: str = "graph") -> nx.Graph:
    """Return ``graph`` if it is a simple, non-empty networkx graph, or raise."""
    if not isinstance(graph, nx.Graph):
        raise InputError(f"The {name!r} parameter of {func} must be a networkx graph; got {type(graph).__name__}.")
    if graph.is_multigraph():
        raise InputError(f"The {name!r} parameter of {func} must be a simple graph, not a multigraph; "
                         f"got {type(graph).__name__}.")
    if graph.number_of_nodes() == 0:
        raise InputError(f"The {name!r} parameter of {func} must have at least one node; got an empty graph.")
    return graph


def cycle_message(graph: nx.DiGraph) -> str | None:
    """Return "graph has a cycle: 3 -> 5 -> 3" for a cyclic digraph, or None if acyclic."""
    if nx.is_directed_acyclic_graph(graph):
        return None
    cycle = nx.find_cycle(graph)
    path = [cycle[0][0]] + [v for _, v, *_ in cycle]
    return "graph has a cycle: " + " -> ".join(str(v) for v in path) + "."


def check_dag(dag: object, func: str) -> nx.DiGraph:
    """Return ``dag`` if it is a non-empty simple directed acyclic graph, or raise."""
    check_graph(dag, func, "dag")
    if not dag.is_directed():
        raise InputError(f"The 'dag' parameter of {func} must be a directed acyclic graph; "
                         f"got an undirected {type(dag).__name__} (orient it with to_dag).")
    message = cycle_message(dag)
    if message is not None:
        raise InputError(f"The 'dag' parameter of {func} must be acyclic, but the {message}")
    return dag
