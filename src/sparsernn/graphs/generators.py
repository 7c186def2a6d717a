"""Random graph generators: the undirected graphs that structurally sparse RNNs start from.

Each generator looks like its networkx twin (the paper's symbols as parameter names,
nodes ``0..n-1``, ``seed`` keyword-only), checks its parameters itself, and then
delegates to networkx with a seed derived from ``seed`` (see
:func:`networkx_seed`), so an int seed gives the same graph
on every run. The parameters are recorded in ``graph.graph`` for provenance.

:func:`thesis_graph` draws a graph the way the reference thesis did.
"""

from __future__ import annotations

import networkx as nx
import numpy as np

from ..checks import check_choice, check_fraction, check_int
from ..seeding import check_seed, derive_seed, rng

THESIS_KINDS = ("barabasi_albert", "barabasi_albert_star", "watts_strogatz")
THESIS_N_RANGE = (10, 50)


def networkx_seed(seed: object, func: str) -> int:
    """Turn ``seed`` into the int seed handed to a networkx generator.

    An int is mixed with ``func`` by :func:`~sparsernn.seeding.derive_seed` (so two
    generators given the same seed do not share a stream); a Generator gives one draw.
    """
    seed = check_seed(seed, func)
    if isinstance(seed, np.random.Generator):
        return int(seed.integers(0, 2**63 - 1))
    return derive_seed(seed, "sparsernn.graphs", func)


def watts_strogatz(n: int, k: int, p: float, *, seed: int | np.random.Generator) -> nx.Graph:
    """Return a Watts–Strogatz small-world graph on nodes ``0..n-1``.

    Parameters
    ----------
    n : int
        Number of nodes, ``n >= 1``.
    k : int
        Each node is joined to its ``k // 2`` nearest neighbours on each side of a ring,
        ``0 <= k <= n - 1`` (an odd ``k`` acts as ``k - 1``, as in networkx).
    p : float
        Probability of rewiring each edge, in [0, 1].
    seed : int or numpy.random.Generator
        Source of randomness.

    Notes
    -----
    Delegates to :func:`networkx.watts_strogatz_graph`: start from the ring lattice
    with ``n * (k // 2)`` edges; for each edge ``(u, v)`` in turn, with probability
    ``p`` replace it by ``(u, w)`` with ``w`` uniform among the nodes that are neither
    ``u`` nor already adjacent to ``u`` (skipped when ``u`` is adjacent to every node).
    Rewiring never adds or removes edges, so the graph always has ``n * (k // 2)``
    edges. ``p = 1`` (the thesis setting) rewires every edge; ``p = 0`` keeps the ring.
    networkx also accepts ``k = n`` (a complete graph); here ``k <= n - 1``.

    References
    ----------
    .. [1] Duncan J. Watts and Steven H. Strogatz, "Collective dynamics of
       'small-world' networks", Nature 393, 440–442 (1998).

    Examples
    --------
    >>> g = watts_strogatz(10, 4, 0.5, seed=0)
    >>> sorted(g) == list(range(10)), g.number_of_edges()
    (True, 20)
    >>> nx.utils.edges_equal(g.edges, watts_strogatz(10, 4, 0.5, seed=0).edges)
    True
    """
    func = "watts_strogatz"
    n = check_int(n, "n", func, minimum=1)
    k = check_int(k, "k", func, minimum=0, maximum=n - 1)
    p = check_fraction(p, "p", func)
    graph = nx.watts_strogatz_graph(n, k, p, seed=networkx_seed(seed, func))
    graph.graph.update(generator=func, n=n, k=k, p=p)
    return graph


def _check_barabasi_albert(n: object, m: object, func: str) -> tuple[int, int]:
    n = check_int(n, "n", func, minimum=2)
    return n, check_int(m, "m", func, minimum=1, maximum=n - 1)


def barabasi_albert(n: int, m: int, *, seed: int | np.random.Generator) -> nx.Graph:
    """Return a Barabási–Albert preferential-attachment graph on nodes ``0..n-1``,
    grown from ``m`` unconnected vertices (networkx 2.x's algorithm).

    Parameters
    ----------
    n : int
        Number of nodes, ``n >= 2``.
    m : int
        Edges from each new node to existing nodes, ``1 <= m <= n - 1``.
    seed : int or numpy.random.Generator
        Source of randomness.

    Notes
    -----
    Start from the ``m`` isolated nodes ``0..m-1``. Node ``m`` is joined to all of
    them. Each later node ``s = m+1, ..., n-1`` is joined to ``m`` distinct earlier
    nodes, drawn by repeatedly picking uniformly from a list in which every node
    appears once per edge it has (preferential attachment), until ``m`` distinct
    nodes are picked. The graph has ``m * (n - m)`` edges and is connected; oriented
    lower → higher id it has exactly ``m`` sources, the seed nodes ``0..m-1``.

    This is :func:`networkx.barabasi_albert_graph` as networkx 2.x (up to 2.8) had it,
    and as the reference thesis drew its graphs (networkx 2.4: all of its stored BA
    graphs have ``m`` sources), implemented here so that it does not depend on the
    networkx version. networkx 3 starts from a star instead
    (:func:`barabasi_albert_star`), whose index orientation has one source whatever
    ``m`` is.

    References
    ----------
    .. [1] Albert-László Barabási and Réka Albert, "Emergence of scaling in random
       networks", Science 286, 509–512 (1999).

    Examples
    --------
    >>> g = barabasi_albert(20, 2, seed=0)
    >>> g.number_of_nodes(), g.number_of_edges() == 2 * (20 - 2)
    (20, True)
    >>> sorted(g[2]) == [0, 1] + sorted(v for v in g[2] if v > 2)   # node m joins every seed node
    True
    """
    func = "barabasi_albert"
    n, m = _check_barabasi_albert(n, m, func)
    draws = rng(networkx_seed(seed, func), func)
    graph = nx.empty_graph(n)
    targets = list(range(m))
    repeated: list[int] = []  # node v appears deg(v) times
    for source in range(m, n):
        graph.add_edges_from((source, t) for t in targets)
        repeated.extend(targets)
        repeated.extend([source] * m)
        chosen: dict[int, None] = {}  # insertion-ordered set
        while len(chosen) < m:
            chosen[repeated[int(draws.integers(len(repeated)))]] = None
        targets = list(chosen)
    graph.graph.update(generator=func, n=n, m=m)
    return graph


def barabasi_albert_star(n: int, m: int, *, seed: int | np.random.Generator) -> nx.Graph:
    """Return a Barabási–Albert graph on nodes ``0..n-1`` grown from a star (networkx 3).

    Parameters
    ----------
    n : int
        Number of nodes, ``n >= 2``.
    m : int
        Edges from each new node to existing nodes, ``1 <= m <= n - 1``.
    seed : int or numpy.random.Generator
        Source of randomness.

    Notes
    -----
    Delegates to :func:`networkx.barabasi_albert_graph` of networkx >= 3: start from
    the star on nodes ``0..m`` (``m`` edges, node 0 the centre), then add nodes
    ``m+1, ..., n-1`` one at a time, each joined to ``m`` distinct existing nodes drawn
    with probability proportional to their degree. The graph has
    ``m + m * (n - m - 1) = m * (n - m)`` edges, like :func:`barabasi_albert`, but
    oriented lower → higher id it has a single source (node 0) whatever ``m`` is.

    References
    ----------
    .. [1] Albert-László Barabási and Réka Albert, "Emergence of scaling in random
       networks", Science 286, 509–512 (1999).

    Examples
    --------
    >>> g = barabasi_albert_star(20, 2, seed=0)
    >>> g.number_of_edges() == 2 * (20 - 2), sorted(g[0])[:2]
    (True, [1, 2])
    """
    func = "barabasi_albert_star"
    n, m = _check_barabasi_albert(n, m, func)
    graph = nx.barabasi_albert_graph(n, m, seed=networkx_seed(seed, func), initial_graph=nx.star_graph(m))
    graph.graph.update(generator=func, n=n, m=m)
    return graph


def erdos_renyi(n: int, p: float, *, seed: int | np.random.Generator) -> nx.Graph:
    """Return an Erdős–Rényi G(n, p) graph on nodes ``0..n-1``.

    Parameters
    ----------
    n : int
        Number of nodes, ``n >= 1``.
    p : float
        Probability of each of the ``n * (n - 1) / 2`` possible edges, in [0, 1].
    seed : int or numpy.random.Generator
        Source of randomness.

    Notes
    -----
    Delegates to :func:`networkx.gnp_random_graph` (each pair joined independently
    with probability ``p``; O(n²)). ``p = 0`` gives ``n`` isolated nodes, ``p = 1`` the
    complete graph. The graph may be disconnected.

    References
    ----------
    .. [1] Paul Erdős and Alfréd Rényi, "On random graphs I", Publicationes
       Mathematicae 6, 290–297 (1959).
    .. [2] Edgar N. Gilbert, "Random graphs", Annals of Mathematical Statistics 30,
       1141–1144 (1959).

    Examples
    --------
    >>> erdos_renyi(5, 1.0, seed=0).number_of_edges()
    10
    >>> erdos_renyi(5, 0.0, seed=0).number_of_edges()
    0
    """
    func = "erdos_renyi"
    n = check_int(n, "n", func, minimum=1)
    p = check_fraction(p, "p", func)
    graph = nx.gnp_random_graph(n, p, seed=networkx_seed(seed, func))
    graph.graph.update(generator=func, n=n, p=p)
    return graph


def thesis_graph(kind: str, *, seed: int | np.random.Generator, sizes: tuple[int, int] = THESIS_N_RANGE) -> nx.Graph:
    """Return a random graph drawn as in the reference thesis.

    ``n`` is drawn uniformly from the integers in ``sizes`` (the thesis: [10, 50]); then

    * ``kind="barabasi_albert"``: :func:`barabasi_albert` (grown from ``m`` unconnected
      vertices, as networkx 2.4 drew the thesis's graphs) with ``m = max(n // 10, 1)``,
      so ``m * (n - m)`` edges and, oriented by index, ``m`` sources;
    * ``kind="barabasi_albert_star"``: the same with networkx 3's star-seeded
      :func:`barabasi_albert_star` (one source by index; not what the thesis trained);
    * ``kind="watts_strogatz"``: :func:`watts_strogatz` with ``k = n // 5`` and
      ``p = 1`` (so ``n * (k // 2)`` edges).

    Parameters
    ----------
    kind : {"barabasi_albert", "barabasi_albert_star", "watts_strogatz"}
        Which generator.
    seed : int or numpy.random.Generator
        Source of randomness for both ``n`` and the graph.
    sizes : (int, int)
        The range of ``n``, both ends included.

    Notes
    -----
    The thesis oriented these graphs lower → higher node id (``to_dag(g, "index")``)
    and indexed the DAG's vertices into layers by longest path from the sources. It
    measured graph properties on the undirected generator graph; measure them on the
    DAG instead (:func:`~sparsernn.graphs.graph_properties`).

    Examples
    --------
    >>> g = thesis_graph("barabasi_albert", seed=0)
    >>> n, m = g.graph["n"], g.graph["m"]
    >>> 10 <= n <= 50, m == n // 10, g.number_of_edges() == m * (n - m)
    (True, True, True)
    >>> g = thesis_graph("watts_strogatz", seed=0)
    >>> n, k = g.graph["n"], g.graph["k"]
    >>> k == n // 5, g.graph["p"], g.number_of_edges() == n * (k // 2)
    (True, 1.0, True)
    """
    func = "thesis_graph"
    check_choice(kind, "kind", func, THESIS_KINDS)
    draws = rng(seed, func, derive=(func, kind))
    low, high = sizes
    low = check_int(low, "sizes", func, minimum=1)
    high = check_int(high, "sizes", func, minimum=low)
    n = int(draws.integers(low, high + 1))
    if kind == "watts_strogatz":
        return watts_strogatz(n, n // 5, 1.0, seed=draws)
    generate = barabasi_albert if kind == "barabasi_albert" else barabasi_albert_star
    return generate(n, max(n // 10, 1), seed=draws)
