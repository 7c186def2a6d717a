"""Structure studies: train a GraphRNN for every (cell, graph, seed).

The graphs come from generators, from the user's graph files, or both. A generator
trial names its graph by generator and graph seed; a file trial carries the file's
graph itself (edge-list JSON, vertices and edges only), so it runs without the file and
its id changes exactly when the graph does. Either way every cell trains on the same
graphs. The graph's properties are measured on the DAG the trained model actually
uses, read back from its masks (:func:`sparsernn.nn.to_graph`), and stored with the
graph itself (edge-list JSON) as artefacts of the trial.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

import networkx as nx
import numpy as np
import torch

from ..data import Vocabulary
from ..errors import InputError
from ..graphs import (
    erdos_renyi, graph_from_json, graph_properties, graph_to_json, layers, read_graph, thesis_graph, to_dag,
)
from ..nn import GraphRNN, GraphRNNPack, to_graph
from ..seeding import derive_seed
from ..train import BatchCallback, EpochCallback, TrainingConfig, encode_splits, fit, fit_pack
from .config import StudyConfig
from .dense import TrialResult, load_trial_data
from .trial import Trial, content_id

_NETWORK = ("orientation", "recurrence", "readout")  # how any graph becomes a network


def expand_structure(config: StudyConfig) -> list[Trial]:
    """One trial per (cell, generator, graph seed, seed), then one per (cell, file, seed).

    Reads every graph file; raises :class:`~sparsernn.errors.InputError` naming the file
    if one cannot be used (see :func:`check_structure`).
    """
    spec = config.structure
    graph_settings = spec.model_dump(mode="json", exclude={"generators", "graphs", "files", "pack"})
    if spec.pack > 1:  # part of the trial: a packed graph's numbers differ from its lone run by rounding
        graph_settings["pack"] = spec.pack
    shared = {
        "data": config.data.model_dump(mode="json"),
        "model": {"embedding_dim": config.model.embedding_dim},
        "training": config.training.model_dump(mode="json"),
    }
    graphs = [{"generator": generator, "graph_seed": g, **graph_settings}
              for generator in spec.generators for g in range(spec.graphs)]
    graphs += _file_graphs(config)
    return [
        Trial(study=config.name, kind="structure", config={"cell": cell, "seed": seed, "graph": graph, **shared})
        for cell in config.cells
        for graph in graphs
        for seed in config.seeds
    ]


def check_structure(config: StudyConfig) -> None:
    """Raise :class:`~sparsernn.errors.InputError` (one line naming the file) unless every
    graph file of ``config`` can be trained on.

    A file must be readable, GraphML or edge-list JSON, and hold a graph with at least
    one vertex; a directed graph must be acyclic and an undirected one free of
    self-loops (no orientation makes those acyclic). With ``readout: last_layer`` every
    vertex of the oriented graph must reach the last layer. Two files may not hold the
    same graph under the same file name (they would be the same trials).
    """
    if config.structure is not None:
        _file_graphs(config)


def _file_graphs(config: StudyConfig) -> list[dict]:
    """The ``graph`` settings of the file trials, one per file, checked."""
    spec = config.structure
    settings = {key: getattr(spec, key) for key in _NETWORK}
    specs, seen = [], {}
    for path in spec.files:
        where = f"structure.files: graph file {path!r}"
        try:
            graph = read_graph(path)
        except InputError as exc:  # names the file and says what is wrong with it
            raise InputError(f"structure.files: {exc}") from None
        _check_graph(graph, where)
        graph_spec = {"source": "file", "name": Path(path).name, "graph": _canonical(graph), **settings}
        key = content_id(graph_spec)
        if key in seen:
            raise InputError(f"{where} holds the same graph, under the same file name, as {seen[key]!r}; "
                             "list it once.")
        seen[key] = path
        if spec.readout == "last_layer":
            _check_last_layer(trial_graph(graph_spec), graph, where)
        specs.append(graph_spec)
    return specs


def _canonical(graph: nx.Graph) -> dict:
    """Edge-list JSON of ``graph``'s vertices and edges, sorted, so equal graphs compare equal."""
    data = graph_to_json(graph)
    edges = data["edges"] if data["directed"] else [sorted(edge) for edge in data["edges"]]
    return {"directed": data["directed"], "nodes": sorted(data["nodes"]), "edges": sorted(edges)}


def _label(graph: nx.Graph, v: object) -> object:
    return graph.nodes[v].get("label", v)  # the file's own name for the vertex


def _check_graph(graph: nx.Graph, where: str) -> None:
    if graph.number_of_nodes() == 0:
        raise InputError(f"{where} holds an empty graph; a GraphRNN needs at least one vertex.")
    if graph.is_directed() and not nx.is_directed_acyclic_graph(graph):
        cycle = [_label(graph, u) for u, _ in nx.find_cycle(graph)]
        path = " -> ".join(map(str, [*cycle, cycle[0]]))
        raise InputError(f"{where} holds a directed graph with the cycle {path}; a directed graph must be "
                         "acyclic (store it undirected to have it oriented by structure.orientation).")
    loops = list(nx.selfloop_edges(graph))
    if loops:
        raise InputError(f"{where} has a self-loop at vertex {_label(graph, loops[0][0])!r}, which no orientation "
                         "makes acyclic; remove it.")


def _check_last_layer(dag: nx.DiGraph, graph: nx.Graph, where: str) -> None:
    """As :class:`~sparsernn.nn.GraphRNN` requires for ``readout="last_layer"``."""
    last = layers(dag)[-1]
    reach = set(last).union(*(nx.ancestors(dag, v) for v in last))
    dead = [_label(graph, v) for v in dag if v not in reach]
    if dead:
        shown = ", ".join(map(repr, dead[:5])) + (f" and {len(dead) - 5} more" if len(dead) > 5 else "")
        which = f"vertex {shown}" if len(dead) == 1 else f"vertices {shown}"
        raise InputError(f"{where}: with structure.readout: last_layer, {which} cannot reach the last layer "
                         "(the output); use readout: sinks or connect them.")


def trial_graph(spec: dict) -> nx.DiGraph:
    """The DAG a structure trial builds from its graph settings (deterministic).

    A generator draws the graph from the graph seed; a file trial's graph is in
    ``spec["graph"]``. An undirected graph is oriented by ``spec["orientation"]`` (a
    file graph's random order is seeded by the graph itself); a directed one keeps its
    edges.

    Examples
    --------
    >>> spec = {"source": "file", "name": "path.json", "orientation": "index", "recurrence": "layer",
    ...         "readout": "sinks", "graph": {"directed": False, "nodes": [0, 1, 2], "edges": [[2, 1], [0, 1]]}}
    >>> sorted(trial_graph(spec).edges)
    [(0, 1), (1, 2)]
    """
    if spec.get("source") == "file":
        graph = graph_from_json(spec["graph"], source=f"graph file {spec['name']!r}")
        return to_dag(graph, spec["orientation"], seed=derive_seed(0, "orientation", content_id(spec["graph"])))
    seed = derive_seed(spec["graph_seed"], "graph", spec["generator"])
    rng = np.random.default_rng(seed)
    low, high = spec["sizes"]
    if spec["generator"] == "erdos_renyi":
        graph = erdos_renyi(int(rng.integers(low, high + 1)), spec["erdos_renyi_p"], seed=rng)
    else:  # the thesis's rules for any range of sizes
        graph = thesis_graph(spec["generator"], seed=rng, sizes=(low, high))
    return to_dag(graph, spec["orientation"], seed=derive_seed(seed, "orientation"))


def pack_key(trial: Trial) -> str | None:
    """Trials with equal keys train together as one :class:`~sparsernn.nn.GraphRNNPack`.

    A generator trial with ``pack = P > 1`` shares its key with the trials of the same
    cell, seed, data, training and generator whose graph seeds lie in the same block
    ``[kP, (k+1)P)``, so a pack's members do not depend on which trials are left to run
    or on how many graphs the study has. Other trials train alone (``None``).
    """
    spec = trial.config["graph"]
    size = spec.get("pack", 1)
    if size <= 1 or spec.get("source") == "file":
        return None
    return content_id({**trial.config, "graph": {**spec, "graph_seed": spec["graph_seed"] // size}})


def _trial_model(trial: Trial, vocab_size: int) -> GraphRNN:
    """The trial's GraphRNN before training, initialised from the trial's derived init seed."""
    spec = trial.config["graph"]
    torch.manual_seed(derive_seed(trial.seed, "init"))
    return GraphRNN(trial_graph(spec), trial.config["cell"], vocab_size,
                    embedding_dim=trial.config["model"]["embedding_dim"], recurrence=spec["recurrence"],
                    readout=spec["readout"])


def _structure_result(model: GraphRNN, result, splits, seconds: float) -> TrialResult:
    used = to_graph(model)  # the connectivity the network computed with
    artefacts = [
        {"kind": "graph", "name": "dag", "data": graph_to_json(used)},
        {"kind": "properties", "name": "dag", "data": graph_properties(used)},
        {"kind": "dataset", "name": splits.name, "data": splits.summary()},
    ]
    return TrialResult(result.status, result.epochs, artefacts, seconds=seconds)


def run_structure_pack(
    trials: list[Trial],
    out: str | Path,
    *,
    on_epoch: Callable[[int, dict], None] | None = None,
    on_batch: BatchCallback | None = None,
) -> list[TrialResult]:
    """Train the trials of one pack (equal :func:`pack_key`) as one GraphRNNPack.

    Each member starts from its own initialisation (as :func:`run_structure_trial`
    would build it) and trains as :func:`~sparsernn.train.fit` would train it alone, to
    float rounding; ``on_epoch(index, row)`` gets member ``index``'s rows. A result's
    ``seconds`` is the pack's time divided among its members.
    """
    start = time.perf_counter()
    first = trials[0]
    splits = load_trial_data(first)  # equal keys: equal data, seed and training settings
    vocab = Vocabulary.from_strings(splits.train.strings)
    train, test, validation = encode_splits(vocab, splits)
    pack = GraphRNNPack([_trial_model(trial, len(vocab)) for trial in trials])
    results = fit_pack(pack, train, test, TrainingConfig(**first.config["training"]),
                       seed=derive_seed(first.seed, "order"), validation=validation,
                       on_epoch=on_epoch, on_batch=on_batch)
    seconds = (time.perf_counter() - start) / len(trials)
    return [_structure_result(model, result, splits, seconds) for model, result in zip(pack.unpack(), results)]


def run_structure_trial(
    trial: Trial,
    out: str | Path,
    *,
    on_epoch: EpochCallback | None = None,
    on_batch: BatchCallback | None = None,
) -> TrialResult:
    """Build the trial's graph and GraphRNN, train it; return metrics, graph and properties."""
    start = time.perf_counter()
    splits = load_trial_data(trial)
    vocab = Vocabulary.from_strings(splits.train.strings)
    train, test, validation = encode_splits(vocab, splits)
    model = _trial_model(trial, len(vocab))
    result = fit(model, train, test, TrainingConfig(**trial.config["training"]),
                 seed=derive_seed(trial.seed, "order"), validation=validation, on_epoch=on_epoch, on_batch=on_batch)
    return _structure_result(model, result, splits, time.perf_counter() - start)
