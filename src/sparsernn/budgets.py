"""Budgets: networks of different families sized to the same number of recurrent weights.

A **budget** is a number of recurrent weights: the input-to-hidden plus hidden-to-hidden
weights (``ih`` and ``hh``) of a network's recurrent layers whose mask entries are True.
Biases, the embedding and the readout are not part of it; they are counted separately
(:func:`budget_counts`). A weight counts while its mask keeps it, whatever its value (a
weight regrown at 0 by dynamic sparse training counts).

* :func:`dense_widths` -- layer widths of a dense network that meets a budget;
* :func:`graph_for_budget` -- a generator graph whose :class:`~sparsernn.nn.GraphRNN`
  meets a budget;
* :func:`random_mask_like` -- a network of the same shape as another with the same
  number of unmasked weights in every matrix, placed at random (a control that keeps
  "this much sparsity" and drops "this structure").

"Meets" means within a relative ``tolerance`` (default 2 %) of the budget.

Examples
--------
>>> from sparsernn.nn import SequenceClassifier
>>> widths = dense_widths("lstm", 10_000, inputs=50, layers=3)
>>> widths
[18, 18, 18]
>>> model = SequenceClassifier("lstm", vocab_size=8, hidden_sizes=widths, embedding_dim=50)
>>> budget_counts(model)["recurrent"]       # 4 * (50*18 + 18*18 + 18*18 + 18*18 + 18*18 + 18*18)
10080
"""

from __future__ import annotations

import copy
import itertools

import networkx as nx
import torch
from torch import nn

from . import seeding
from .errors import InputError
from .graphs import erdos_renyi, thesis_graph, to_dag
from .nn import count_parameters, masked_weights
from .nn.graph_rnn import GATES, longest_path_layers
from .seeding import derive_seed

__all__ = ["TOLERANCE", "budget_counts", "dense_weights", "dense_widths", "graph_connections", "graph_for_budget",
           "graph_weights",
           "random_mask_like", "recurrent_weights"]

TOLERANCE = 0.02
"""Default relative tolerance within which a network meets its budget."""
RECURRENT = ("ih", "hh")


def recurrent_weights(model: nn.Module) -> tuple[int, int]:
    """``(kept, total)``: the recurrent (``ih`` and ``hh``) weights of ``model`` whose mask
    entry is True, and all of them.

    >>> from sparsernn.nn import MaskedGRU
    >>> gru = MaskedGRU(2, 3)                        # 9x2 + 9x3 weights
    >>> gru.mask_hh_l0[0] = False
    >>> recurrent_weights(gru)
    (42, 45)
    """
    records = [r for r in masked_weights(model) if r.target in RECURRENT]
    return sum(int(r.mask.sum()) for r in records), sum(r.mask.numel() for r in records)


def budget_counts(model: nn.Module) -> dict[str, int]:
    """The weights of ``model`` by part: ``recurrent`` (kept ``ih`` + ``hh``, the budget's
    count), ``recurrent_total`` (all of them), ``embedding`` and ``readout`` (the elements
    of the ``embed`` and ``readout`` modules' parameters, biases included; masked readout
    entries excluded), and ``nonzero`` / ``total`` parameters of the whole model as
    :func:`~sparsernn.nn.count_parameters` counts them."""
    kept, total = recurrent_weights(model)
    counts = count_parameters(model)
    return {"recurrent": kept, "recurrent_total": total, "embedding": _elements(getattr(model, "embed", None)),
            "readout": _elements(getattr(model, "readout", None)), "nonzero": counts.nonzero, "total": counts.total}


def _elements(module: nn.Module | None) -> int:
    if module is None:
        return 0
    mask = getattr(module, "mask", None)
    return sum(p.numel() for p in module.parameters()) - (0 if mask is None else int((~mask).sum()))


def _check_budget(budget, func: str) -> int:
    if isinstance(budget, bool) or not isinstance(budget, int) or budget < 1:
        raise InputError(f"The 'budget' parameter of {func} must be an int >= 1; got {budget!r}.")
    return budget


def dense_weights(cell: str, inputs: int, widths) -> int:
    """The recurrent weights of dense stacked layers of ``cell`` with ``widths``, reading
    ``inputs`` features: ``Σ_l gates * (n_l * h_l + h_l²)``, ``n_0 = inputs``, ``n_l = h_(l-1)``.

    >>> dense_weights("lstm", 50, [50, 50, 50])     # the reference thesis's network
    60000
    """
    gates, count, n_in = GATES[cell], 0, inputs
    for h in widths:
        count += gates * (n_in * h + h * h)
        n_in = h
    return count


def dense_widths(cell: str, budget: int, *, inputs: int, layers: int,
                 tolerance: float = TOLERANCE) -> list[int]:
    """Widths of ``layers`` stacked dense layers of ``cell`` reading ``inputs`` features whose
    recurrent weights come closest to ``budget``.

    Layer ``l`` of width ``h_l`` reading ``n`` features holds ``gates * (n * h_l + h_l²)``
    weights (gates: 1 for RNNs, 4 for LSTM, 3 for GRU). The widths start from the widest
    uniform width ``u`` at or under the budget (and ``u + 1``); the last
    ``min(layers, 3)`` widths then vary within ±4 of it. Of the widths within
    ``tolerance`` the most uniform win (smallest ``max - min``), then the closest count,
    then the first in lexicographic order; so a small dense network is a scaled-down
    dense network wherever the budget allows.

    Raises :class:`~sparsernn.errors.InputError` when even the closest count is further
    than ``tolerance`` (relative) from ``budget``, e.g. a budget under one unit per layer.
    """
    func = "dense_widths"
    budget = _check_budget(budget, func)
    uniform = 1
    while dense_weights(cell, inputs, [uniform + 1] * layers) <= budget:
        uniform += 1
    free = min(layers, 3)
    best = None
    for base in (uniform, uniform + 1):
        ranges = [range(max(base - 4, 1), base + 5)] * free
        for tail in itertools.product(*ranges):
            widths = [base] * (layers - free) + list(tail)
            error = abs(dense_weights(cell, inputs, widths) - budget)
            key = (error > tolerance * budget, max(widths) - min(widths), error, widths)
            best = key if best is None or key < best else best
    _, _, error, widths = best
    if error > tolerance * budget:
        raise InputError(f"{func}: no {layers}-layer dense {cell} reading {inputs} features has {budget:,} recurrent "
                         f"weights within {tolerance:.0%}; the closest has {dense_weights(cell, inputs, widths):,}.")
    return widths


def graph_connections(dag: nx.DiGraph, *, inputs: int, recurrence: str = "layer") -> list[tuple[str, int]]:
    """The connections of each recurrent matrix of the :class:`~sparsernn.nn.GraphRNN` of
    ``dag``, in module order: ``(target, count)`` for every layer's ``ih`` then ``hh``
    matrix. Layer 0 reads every input feature (``inputs * w_0``), layer ``l > 0`` one
    connection per edge into it; ``hh`` holds ``w_l²`` (``recurrence="layer"``), ``w_l``
    (``"self"``) or 0 (``"none"``). A connection holds one weight per gate.

    >>> graph_connections(nx.DiGraph([(0, 2), (1, 2), (2, 3), (0, 3)]), inputs=5)
    [('ih', 10), ('hh', 4), ('ih', 2), ('hh', 1), ('ih', 2), ('hh', 1)]
    """
    layers = longest_path_layers(dag)
    counts = []
    for index, layer in enumerate(layers):
        into = inputs * len(layer) if index == 0 else sum(dag.in_degree(v) for v in layer)
        recurrent = {"layer": len(layer) ** 2, "self": len(layer), "none": 0}[recurrence]
        counts += [("ih", into), ("hh", recurrent)]
    return counts


def graph_weights(dag: nx.DiGraph, cell: str, *, inputs: int, recurrence: str = "layer") -> int:
    """The recurrent weights of the :class:`~sparsernn.nn.GraphRNN` of ``dag``, counted
    without building it: ``gates * (inputs * w_0 + E_in + R)`` where ``w_0`` is the number of
    sources (layer 0 reads every input feature), ``E_in`` the number of edges (one input
    weight per edge and gate) and ``R`` the recurrent connections, ``Σ_l w_l²`` for
    ``recurrence="layer"``, the number of vertices for ``"self"``, 0 for ``"none"``.

    >>> graph_weights(nx.DiGraph([(0, 2), (1, 2), (2, 3), (0, 3)]), "gru", inputs=5)   # 3 * (5*2 + 4 + 4+1+1)
    60
    """
    return GATES[cell] * sum(count for _, count in graph_connections(dag, inputs=inputs, recurrence=recurrence))


def _draw(generator: str, n: int, seed: int, erdos_renyi_p: float, orientation: str) -> nx.DiGraph:
    rng = seeding.rng(seed, "graph_for_budget")
    if generator == "erdos_renyi":
        graph = erdos_renyi(n, erdos_renyi_p, seed=rng)
    else:
        graph = thesis_graph(generator, seed=rng, sizes=(n, n))
    return to_dag(graph, orientation, seed=derive_seed(seed, "orientation"))


def graph_for_budget(generator: str, cell: str, budget: int, *, inputs: int, seed: int,
                     recurrence: str = "layer", orientation: str = "index", erdos_renyi_p: float = 0.1,
                     attempts: int = 3, max_attempts: int = 30, window: int = 10,
                     max_vertices: int = 1_000,
                     tolerance: float = TOLERANCE) -> tuple[nx.DiGraph, dict]:
    """A DAG drawn by ``generator`` whose GraphRNN of ``cell`` has about ``budget`` recurrent
    weights (:func:`graph_weights`), and how it was found.

    Draw ``a`` of a graph on ``n`` vertices uses ``derive_seed(seed, generator, n, a)``,
    the reference thesis's rules (:func:`~sparsernn.graphs.thesis_graph`:
    Barabási–Albert ``m = max(n // 10, 1)``, Watts–Strogatz ``k = n // 5``, ``p = 1``) or
    G(n, ``erdos_renyi_p``), and is oriented by ``orientation``. The count grows with
    ``n`` (not strictly: each ``n`` is a new draw), so a doubling-and-bisection search
    on draw 0 finds an ``n*`` where it reaches the budget; then ``attempts`` draws of
    every ``n`` within ``window`` of ``n*`` are weighed, and the one closest to the
    budget wins (the first, in order of ``n`` and draw, on ties). While none is within
    ``tolerance``, the next ``attempts`` draws of every such ``n`` are weighed too, up
    to ``max_attempts`` draws each. Returns ``(dag, info)`` with ``info`` = ``{"vertices", "attempt",
    "weights"}``. Raises :class:`~sparsernn.errors.InputError` if no draw is within
    ``tolerance``.
    """
    func = "graph_for_budget"
    budget = _check_budget(budget, func)

    def draw(n: int, attempt: int) -> tuple[nx.DiGraph, int]:
        dag = _draw(generator, n, derive_seed(seed, generator, n, attempt), erdos_renyi_p, orientation)
        return dag, graph_weights(dag, cell, inputs=inputs, recurrence=recurrence)

    low, high = 2, 2  # the first n whose draw 0 reaches the budget lies in (low, high]
    while high < max_vertices and draw(high, 0)[1] < budget:
        low, high = high, min(2 * high, max_vertices)
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if draw(middle, 0)[1] < budget else (low, middle)
    best = None
    for first in range(0, max_attempts, attempts):  # more draws only while none is close enough
        for n in range(max(high - window, 2), min(high + window, max_vertices) + 1):
            for attempt in range(first, min(first + attempts, max_attempts)):
                dag, weights = draw(n, attempt)
                if best is None or abs(weights - budget) < abs(best[1]["weights"] - budget):
                    best = (dag, {"vertices": n, "attempt": attempt, "weights": weights})
        if abs(best[1]["weights"] - budget) <= tolerance * budget:
            break
    dag, info = best
    if abs(info["weights"] - budget) > tolerance * budget:
        raise InputError(f"{func}: no {generator} graph gives a {cell} GraphRNN with {budget:,} recurrent weights "
                         f"within {tolerance:.0%}; the closest ({info['vertices']} vertices) has "
                         f"{info['weights']:,}.")
    return dag, info


@torch.no_grad()
def random_mask_like(model: nn.Module, *, seed: int, targets: tuple[str, ...] = RECURRENT) -> nn.Module:
    """A copy of ``model`` whose every targeted mask keeps as many entries as ``model``'s,
    at positions drawn uniformly at random (the weights are copied unchanged).

    Matrices are drawn in module order from one generator seeded with ``seed``; masks of
    other targets (e.g. the readout's) are copied as they are. For a
    :class:`~sparsernn.nn.GraphRNN` this keeps the layer widths and every matrix's count
    of connections but not the graph: the random-mask control of a graph-structured
    network. ``model`` itself is not changed.

    >>> from sparsernn.nn import MaskedLSTM
    >>> lstm = MaskedLSTM(3, 2)
    >>> _ = lstm.mask_ih_l0[:, 0].fill_(False)
    >>> control = random_mask_like(lstm, seed=0)
    >>> int(control.mask_ih_l0.sum()), int(control.mask_hh_l0.sum())
    (16, 16)
    """
    control = copy.deepcopy(model)
    generator = torch.Generator().manual_seed(derive_seed(seed, "random_mask_like"))
    for record in masked_weights(control):
        if record.target not in targets:
            continue
        mask = record.mask
        order = torch.randperm(mask.numel(), generator=generator)
        fresh = torch.zeros(mask.numel(), dtype=torch.bool)
        fresh[order[: int(mask.sum())]] = True
        mask.copy_(fresh.view_as(mask))
    return control

