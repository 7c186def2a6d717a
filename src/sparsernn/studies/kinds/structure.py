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

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import networkx as nx
import torch
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator, model_validator

from ... import seeding
from ...data import Vocabulary
from ...errors import InputError
from ...graphs import (
    erdos_renyi,
    graph_from_json,
    graph_properties,
    graph_to_json,
    layers,
    read_graph,
    thesis_graph,
    to_dag,
)
from ...ids import content_id
from ...nn import GraphRNN, GraphRNNStack, to_graph
from ...registry import StudyKind, lazy, register
from ...seeding import derive_seed
from ...train import BatchCallback, EpochCallback, TrainingConfig, fit, fit_pack
from ..config import DataConfig, StudyConfig, check_trials
from ..trial import SpecModel, Trial, TrialResult, TrialSpec, prepare_data, save_trial_model

NAME = "structure"
_NETWORK = ("orientation", "recurrence", "readout")  # how any graph becomes a network
MAX_VERTICES = 1_000
"""Most vertices of a structure study's graph, drawn or read from a file: 20 times the
reference thesis's 50 (a network grows with its edges: a 10,000-vertex graph made a
GraphRNN of 173 M parameters)."""
MAX_GRAPHS = 10_000
"""Most graphs per generator (the reference thesis draws 100)."""


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StructureConfig(_Config):
    """Graph-structured RNNs: which graphs, how they become networks.

    For every generator, ``graphs`` graphs with seeds ``0 .. graphs-1`` are drawn; each
    has ``n`` vertices drawn uniformly from ``sizes``. Barabási–Albert graphs use
    ``m = max(n // 10, 1)`` and Watts–Strogatz graphs ``k = n // 5``, ``p = 1`` (the
    reference thesis's rules, :func:`sparsernn.graphs.thesis_graph`); ``barabasi_albert``
    grows from ``m`` unconnected vertices as the thesis's networkx 2.4 did,
    ``barabasi_albert_star`` from networkx 3's star. Erdős–Rényi graphs use
    ``erdos_renyi_p``. The same graphs are trained with every cell.

    Each of ``files`` is a graph file (GraphML or edge-list JSON, see
    :func:`sparsernn.graphs.read_graph`) holding one graph: an undirected graph is
    oriented by ``orientation``, a directed one must be acyclic and keeps its edges. A
    study may use generators, files or both (``generators: []`` for files only), but
    needs at least one graph. In a config file a relative path is read from the
    file's directory; given with ``--set`` (or in a dict), from the current directory.

    A graph has at most ``MAX_VERTICES`` (1,000) vertices, drawn (``sizes``) or read
    from a file; a generator draws at most ``MAX_GRAPHS`` (10,000) graphs.
    """

    generators: list[Literal["barabasi_albert", "barabasi_albert_star", "watts_strogatz", "erdos_renyi"]] = Field(
        default_factory=lambda: ["barabasi_albert", "watts_strogatz"])
    files: list[str] = Field(default_factory=list, description="Graph files (GraphML or edge-list JSON), "
                                                               "one graph each.")
    graphs: int = Field(100, ge=1, le=MAX_GRAPHS, description="Graphs per generator, at most 10,000.")
    sizes: tuple[int, int] = Field((10, 50), description="Vertices n, drawn uniformly from [low, high]; "
                                                         "high at most 1,000.")
    erdos_renyi_p: float = Field(0.1, ge=0, le=1)
    orientation: Literal["index", "random"] = "index"
    recurrence: Literal["layer", "self", "none"] = "layer"
    readout: Literal["sinks", "last_layer"] = "sinks"
    pack: int = Field(1, ge=1, description="Generator graphs trained together as one packed network "
                      "(sparsernn.nn.GraphRNNStack, cost linear in the pack size): graph seeds in blocks of "
                      "this size, per generator, cell and seed. Each graph trains as it would alone (to float "
                      "rounding) and several times faster; 1 trains each graph alone.")

    @field_validator("sizes")
    @classmethod
    def _sizes(cls, sizes: tuple[int, int]) -> tuple[int, int]:
        if not 1 <= sizes[0] <= sizes[1]:
            raise ValueError(f"sizes must be [low, high] with 1 <= low <= high; got {list(sizes)}")
        if sizes[1] > MAX_VERTICES:
            raise ValueError(f"a graph may have at most {MAX_VERTICES:,} vertices (MAX_VERTICES); got sizes "
                             f"{list(sizes)}")
        return sizes

    @field_validator("files")
    @classmethod
    def _files(cls, files: list[str]) -> list[str]:
        for i, name in enumerate(files):
            if not name.strip():
                raise ValueError(f"every file must be a non-empty path; entry {i} is {name!r}")
            if name in files[:i]:
                raise ValueError(f"{name!r} is listed twice")
        return files

    @model_validator(mode="after")
    def _some_graphs(self) -> StructureConfig:
        if not self.generators and not self.files:
            raise ValueError("no graphs to train on: give generators, files or both")
        return self


class GeneratorGraph(SpecModel):
    """A graph drawn by ``generator`` from ``graph_seed`` (``pack``: see :class:`StructureConfig`)."""

    omit_if_none = ("pack",)
    generator: str
    graph_seed: int
    sizes: tuple[int, int]
    erdos_renyi_p: float
    orientation: str
    recurrence: str
    readout: str
    pack: int | None = None


class FileGraph(SpecModel):
    """A graph read from the file ``name``: its vertices and edges (``graph``, edge-list JSON)."""

    source: Literal["file"]
    name: str
    graph: dict[str, Any]
    orientation: str
    recurrence: str
    readout: str


class EmbeddingSpec(SpecModel):
    embedding_dim: int


class StructureSpec(TrialSpec):
    """A GraphRNN of ``cell`` on one graph, trained on ``data``."""

    cell: str
    graph: GeneratorGraph | FileGraph
    data: DataConfig
    model: EmbeddingSpec
    training: TrainingConfig


def expand_structure(config: StudyConfig) -> list[Trial]:
    """One trial per (cell, generator, graph seed, seed), then one per (cell, file, seed).

    Reads every graph file; raises :class:`~sparsernn.errors.InputError` naming the file
    if one cannot be used (see :func:`check_structure`).
    """
    return structure_trials(config, config.section)


def structure_trials(config: StudyConfig, section: StructureConfig) -> list[Trial]:
    """The trials of :func:`expand_structure` for the graphs of ``section`` and the cells,
    seeds, data, embedding and training of ``config`` (a study of another kind may train
    GraphRNNs as a structure study would: the same trials, the same ids)."""
    settings = section.model_dump(include={"sizes", "erdos_renyi_p", *_NETWORK})
    # the pack is part of the trial: a packed graph's numbers differ from its lone run by rounding
    pack = section.pack if section.pack > 1 else None
    graphs = [GeneratorGraph(generator=generator, graph_seed=g, pack=pack, **settings)
              for generator in section.generators for g in range(section.graphs)]
    graphs += _file_graphs(section)
    model = EmbeddingSpec(embedding_dim=config.model.embedding_dim)
    return [
        Trial(study=config.name, kind=NAME, spec=StructureSpec(
            cell=cell, seed=seed, graph=graph, data=config.data, model=model, training=config.training))
        for cell in config.cells
        for graph in graphs
        for seed in config.seeds
    ]


def _validate(config: StudyConfig) -> None:
    check_trials(len(config.cells) * len(config.seeds) * graph_count(config.section))


def graph_count(section: StructureConfig) -> int:
    """The graphs of a structure section: generator graphs and files."""
    return len(section.generators) * section.graphs + len(section.files)


def check_structure(config: StudyConfig) -> None:
    """Raise :class:`~sparsernn.errors.InputError` (one line naming the file) unless every
    graph file of ``config`` can be trained on.

    A file must be readable, GraphML or edge-list JSON, and hold a graph with at least
    one vertex and at most ``MAX_VERTICES`` (1,000); a directed graph must be acyclic
    and an undirected one free of self-loops (no orientation makes those acyclic).
    With ``readout: last_layer`` every vertex of the oriented graph must reach the last
    layer. Two files may not hold the same graph under the same file name (they would
    be the same trials).
    """
    _file_graphs(config.section)


def _file_graphs(section: StructureConfig) -> list[FileGraph]:
    """The graphs of the file trials, one per file, checked."""
    settings = {key: getattr(section, key) for key in _NETWORK}
    specs, seen = [], {}
    for path in section.files:
        where = f"structure.files: graph file {path!r}"
        try:
            graph = read_graph(path)
        except InputError as exc:  # names the file and says what is wrong with it
            raise InputError(f"structure.files: {exc}") from None
        _check_graph(graph, where)
        graph_spec = FileGraph(source="file", name=Path(path).name, graph=_canonical(graph), **settings)
        key = content_id(graph_spec.model_dump(mode="json"))
        if key in seen:
            raise InputError(f"{where} holds the same graph, under the same file name, as {seen[key]!r}; "
                             "list it once.")
        seen[key] = path
        if section.readout == "last_layer":
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
    if graph.number_of_nodes() > MAX_VERTICES:
        raise InputError(f"{where} has {graph.number_of_nodes():,} vertices; a graph may have at most "
                         f"{MAX_VERTICES:,} (MAX_VERTICES).")
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


_GRAPH = TypeAdapter(GeneratorGraph | FileGraph)


def trial_graph(spec: GeneratorGraph | FileGraph | dict) -> nx.DiGraph:
    """The DAG a structure trial builds from its graph settings (deterministic).

    A generator draws the graph from the graph seed; a file trial's graph is in
    ``spec.graph``. An undirected graph is oriented by ``spec.orientation`` (a file
    graph's random order is seeded by the graph itself); a directed one keeps its
    edges. ``spec`` may be given as its JSON.

    Examples
    --------
    >>> spec = {"source": "file", "name": "path.json", "orientation": "index", "recurrence": "layer",
    ...         "readout": "sinks", "graph": {"directed": False, "nodes": [0, 1, 2], "edges": [[2, 1], [0, 1]]}}
    >>> sorted(trial_graph(spec).edges)
    [(0, 1), (1, 2)]
    """
    if isinstance(spec, dict):
        spec = _GRAPH.validate_python(spec)
    if isinstance(spec, FileGraph):
        graph = graph_from_json(spec.graph, source=f"graph file {spec.name!r}")
        return to_dag(graph, spec.orientation, seed=derive_seed(0, "orientation", content_id(spec.graph)))
    seed = derive_seed(spec.graph_seed, "graph", spec.generator)
    rng = seeding.rng(seed, "trial_graph")
    low, high = spec.sizes
    if spec.generator == "erdos_renyi":
        graph = erdos_renyi(int(rng.integers(low, high + 1)), spec.erdos_renyi_p, seed=rng)
    else:  # the thesis's rules for any range of sizes
        graph = thesis_graph(spec.generator, seed=rng, sizes=(low, high))
    return to_dag(graph, spec.orientation, seed=derive_seed(seed, "orientation"))


def pack_key(trial: Trial) -> str | None:
    """Trials with equal keys train together as one :class:`~sparsernn.nn.GraphRNNStack`.

    A generator trial with ``pack = P > 1`` shares its key with the trials of the same
    cell, seed, data, training and generator whose graph seeds lie in the same block
    ``[kP, (k+1)P)``, so a pack's members do not depend on which trials are left to run
    or on how many graphs the study has. Other trials train alone (``None``).
    """
    graph = trial.spec.graph
    if isinstance(graph, FileGraph) or (graph.pack or 1) <= 1:
        return None
    block = graph.model_copy(update={"graph_seed": graph.graph_seed // graph.pack})
    return content_id(trial.spec.model_copy(update={"graph": block}).to_json())


def _trial_model(spec: StructureSpec, io: dict) -> GraphRNN:
    """The trial's GraphRNN before training, initialised from the trial's derived init seed;
    ``io`` fits its input and output to the data (:func:`sparsernn.tasks.model_io`)."""
    torch.manual_seed(derive_seed(spec.seed, "init"))
    return GraphRNN(trial_graph(spec.graph), spec.cell, embedding_dim=spec.model.embedding_dim,
                    recurrence=spec.graph.recurrence, readout=spec.graph.readout, **io)


def _structure_result(trial: Trial, out: str | Path, model: GraphRNN, vocab: Vocabulary | None, result, splits,
                      seconds: float) -> TrialResult:
    used = to_graph(model)  # the connectivity the network computed with
    artefacts = [
        {"kind": "graph", "name": "dag", "data": graph_to_json(used)},
        {"kind": "properties", "name": "dag", "data": graph_properties(used)},
        {"kind": "dataset", "name": splits.name, "data": splits.summary()},
    ]
    if result.status == "done":
        artefacts += save_trial_model(trial, out, model, vocab, splits)
    return TrialResult(result.status, result.epochs, artefacts, seconds=seconds)


def run_structure_pack(
    trials: list[Trial],
    out: str | Path,
    *,
    on_epoch: Callable[[int, dict], None] | None = None,
    on_batch: BatchCallback | None = None,
) -> list[TrialResult]:
    """Train the trials of one pack (equal :func:`pack_key`) as one GraphRNNStack.

    Each member starts from its own initialisation (as :func:`run_structure_trial`
    would build it) and trains as :func:`~sparsernn.train.fit` would train it alone, to
    float rounding; ``on_epoch(index, row)`` gets member ``index``'s rows. A result's
    ``seconds`` is the pack's time divided among its members.
    """
    start = time.perf_counter()
    first: StructureSpec = trials[0].spec
    data = prepare_data(first)  # equal keys: equal data, seed and training settings
    pack = GraphRNNStack([_trial_model(trial.spec, data.io) for trial in trials])
    results = fit_pack(pack, data.train, data.test, first.training, seed=derive_seed(first.seed, "order"),
                       validation=data.validation, on_epoch=on_epoch, on_batch=on_batch, task=data.task)
    seconds = (time.perf_counter() - start) / len(trials)
    return [_structure_result(trial, out, model, data.vocab, result, data.splits, seconds)
            for trial, model, result in zip(trials, pack.unpack(), results)]


def run_structure_trial(
    trial: Trial,
    out: str | Path,
    *,
    on_epoch: EpochCallback | None = None,
    on_batch: BatchCallback | None = None,
) -> TrialResult:
    """Build the trial's graph and GraphRNN, train it; return metrics, graph and properties
    (and, unless the study's ``save_models`` is ``none``, save the trained model)."""
    start = time.perf_counter()
    spec: StructureSpec = trial.spec
    data = prepare_data(spec)
    model = _trial_model(spec, data.io)
    result = fit(model, data.train, data.test, spec.training, seed=derive_seed(spec.seed, "order"),
                 validation=data.validation, on_epoch=on_epoch, on_batch=on_batch, task=data.task)
    return _structure_result(trial, out, model, data.vocab, result, data.splits, time.perf_counter() - start)


def describe(trial: Trial) -> str:
    """E.g. ``lstm seed=0 barabasi_albert graph=3`` or ``lstm seed=0 file=ring.graphml``."""
    graph = trial.spec.graph
    where = f"file={graph.name}" if isinstance(graph, FileGraph) else f"{graph.generator} graph={graph.graph_seed}"
    return f"{trial.spec.cell} seed={trial.seed} {where}"


def resolve_paths(section: dict, base: Path) -> dict:
    """``section`` with its relative graph ``files`` joined to ``base``; anything that is
    not a list of strings is left for validation to report."""
    files = section.get("files")
    if not isinstance(files, list):
        return section
    files = [os.path.abspath(base / f) if isinstance(f, str) and f.strip() and not Path(f).is_absolute() else f
             for f in files]
    return {**section, "files": files}


def _columns(config: dict) -> dict:
    return {"target": None, "target_sparsity": None}


KIND = register(StudyKind(
    name=NAME, spec=StructureSpec, run=run_structure_trial, expand=expand_structure, section=StructureConfig,
    check=check_structure, pack_key=pack_key, run_pack=run_structure_pack, describe=describe, columns=_columns,
    swept=("seed", "cell", "graph.generator", "graph.graph_seed", "graph.source", "graph.name", "graph.graph"),
    resolve_paths=resolve_paths, analyze=lazy("sparsernn.analysis.structure:analyze_structure"), validate=_validate,
))
