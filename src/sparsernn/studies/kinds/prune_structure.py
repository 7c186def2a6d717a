"""Pruning structurally sparse RNNs: train GraphRNNs, prune what is left, retrain.

Each GraphRNN is trained as a structure study trains it (its parent: a trial of that
kind, with the same id a structure study of the same name would give it). Every
(target, schedule, sparsity) is one trial that starts from the trained GraphRNN:

``one_shot``
    Remove ``sparsity`` of the targeted weights still there, by magnitude, at once
    (:func:`sparsernn.prune.magnitude`), then retrain for ``retrain_epochs`` with the
    masks fixed (``phase="retrain"``; epoch 0 is the accuracy right after pruning).
``gradual``
    Prune during retraining along Zhu & Gupta's cubic schedule to the same count (global
    scope only: the schedule runs from the GraphRNN's own sparsity to that plus
    ``sparsity`` of what is left).

The level is a fraction of what the graph left, not of a dense matrix: 0.5 of a
GraphRNN's input weights is half of its graph's edges. With ``granularity:
connection`` (the default) a removal takes a connection out of every gate at once, so
the network stays a graph: an input-to-hidden connection between layers is an edge,
and the pruned graph is read back from the masks (:func:`sparsernn.nn.to_graph`)
without the vertices that lost every edge to pruning. Its properties (null when no
vertex is left) are stored next to
the parent's (``properties`` artefacts ``dag``), so the analysis can ask whether the
properties before pruning predict the accuracy after. Recurrent (``hh``) weights and
the input weights of the first layer (from the embedding) are not edges of the graph:
pruning them leaves the graph as it was.

For the one-shot children of the targets in ``dense_targets``, a compare trial
(family ``pruned_one_shot``) prunes the study's dense model to the same number of
recurrent weights and retrains it as long: the pruned dense network at the same final
count (none where the dense model has fewer recurrent weights than that). One-shot
children of one GraphRNN and target retrain together as one
:class:`~sparsernn.nn.GraphRNNStack` (``batch_children``), each as it would alone up to
float rounding; by default (``"auto"``) all but LSTM children on a CPU, which run
faster alone in oneDNN's fused kernel.
"""

from __future__ import annotations

import copy
import time
from pathlib import Path
from typing import Literal

import networkx as nx
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ... import prune
from ...budgets import TOLERANCE, dense_weights, graph_connections, recurrent_weights
from ...checkpoint import load_checkpoint
from ...data import num_batches
from ...graphs import graph_properties, graph_to_json
from ...nn import GraphRNN, GraphRNNStack, masked_weights, to_graph, weight_histograms
from ...nn.graph_rnn import GATES
from ...registry import StudyKind, lazy, register
from ...seeding import derive_seed
from ...train import MAX_EPOCHS, BatchCallback, EpochCallback, fit, fit_pack
from ..config import StudyConfig, check_trials
from ..trial import SpecModel, Trial, TrialResult, checkpoint_path, prepare_data, save_trial_model
from .compare import NAME as COMPARE
from .compare import CompareSpec, FamilyRule
from .dense import expand_dense
from .pruning import GradualConfig, retrain_stacked
from .structure import StructureConfig, StructureSpec, graph_count, structure_trials, trial_graph
from .structure import describe as graph_label

NAME = "prune_structure"
TARGETS = {"ih": ("ih",), "hh": ("hh",), "both": ("ih", "hh")}


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PruneStructureConfig(_Config):
    """The GraphRNNs (``structure``, as a structure study's section) and how each is pruned."""

    structure: StructureConfig = Field(default_factory=lambda: StructureConfig(graphs=10))
    targets: list[Literal["ih", "hh", "both"]] = Field(default_factory=lambda: ["ih", "hh", "both"], min_length=1)
    sparsities: list[float] = Field(default_factory=lambda: [round(0.1 * i, 1) for i in range(1, 10)],
                                    min_length=1, description="Fractions of the targeted weights still there "
                                                              "to remove.")
    schedules: list[Literal["one_shot", "gradual"]] = Field(default_factory=lambda: ["one_shot"], min_length=1)
    granularity: Literal["connection", "weight"] = "connection"
    scope: Literal["global", "layer"] = "global"
    retrain_epochs: int = Field(10, ge=0, le=MAX_EPOCHS)
    gradual: GradualConfig = Field(default_factory=GradualConfig)
    dense_targets: list[Literal["ih", "hh", "both"]] = Field(
        default_factory=lambda: ["both"], description="Targets whose one-shot children get a pruned dense network "
                                                      "with the same final count of recurrent weights.")
    batch_children: bool | Literal["auto"] = Field(
        "auto", description="Retrain the one-shot children of a GraphRNN and target as one GraphRNNStack: true, "
                            "false, or auto (true but for LSTM GraphRNNs trained on a CPU). No part of a trial's id.")

    @field_validator("sparsities")
    @classmethod
    def _sparsities(cls, sparsities: list[float]) -> list[float]:
        if any(not 0 < s <= 1 for s in sparsities) or len(set(sparsities)) != len(sparsities):
            raise ValueError(f"sparsities must be distinct fractions in (0, 1]; got {sparsities}")
        return sparsities

    @model_validator(mode="after")
    def _fits(self) -> PruneStructureConfig:
        if "gradual" in self.schedules and self.scope != "global":
            raise ValueError("the gradual schedule prunes a GraphRNN with scope: global only (one schedule from the "
                             "graph's own sparsity); set scope: global or drop gradual")
        if "gradual" in self.schedules and self.gradual.start_epoch + self.gradual.prune_epochs > self.retrain_epochs:
            raise ValueError("gradual.start_epoch + gradual.prune_epochs must be <= retrain_epochs "
                             f"({self.gradual.start_epoch} + {self.gradual.prune_epochs} > {self.retrain_epochs})")
        return self


class StructurePruningPoint(SpecModel):
    """How a trial prunes its GraphRNN (the keys of a pruning trial's point, so the pruning
    metrics read it; ``amount`` is the level, ``threshold`` always None)."""

    omit_if_none = ("gradual",)
    criterion: str
    target: str
    scope: str
    schedule: str
    amount: float
    threshold: float | None
    granularity: str
    retrain_epochs: int
    gradual: GradualConfig | None = None


class PruneStructureSpec(StructureSpec):
    """A GraphRNN (its parent's settings) pruned at one point."""

    target: str
    sparsity: float
    prune_structure: StructurePruningPoint


def _points(section: PruneStructureConfig) -> list[StructurePruningPoint]:
    return [StructurePruningPoint(criterion="magnitude", target=target, scope=section.scope, schedule=schedule,
                                  amount=level, threshold=None, granularity=section.granularity,
                                  retrain_epochs=section.retrain_epochs,
                                  gradual=section.gradual if schedule == "gradual" else None)
            for target in section.targets for schedule in section.schedules for level in section.sparsities]


def expand_prune_structure(config: StudyConfig) -> list[Trial]:
    """The GraphRNNs (structure trials), the wide dense models (when a target has
    comparators), then per GraphRNN its pruning trials and their dense comparators."""
    section: PruneStructureConfig = config.section
    parents = structure_trials(config, section.structure)
    bases = expand_dense(config) if section.dense_targets else []
    base_of = {(b.spec.cell, b.seed): b.id for b in bases}
    children, comparators = [], {}
    wide = {cell: dense_weights(cell, config.model.embedding_dim, config.model.hidden_sizes) for cell in config.cells}
    for parent in parents:
        kept = _kept_counts(parent.spec, section) if section.dense_targets else {}
        wide_count = wide[parent.spec.cell]
        for point in _points(section):
            spec = PruneStructureSpec(**dict(parent.spec), target=point.target, sparsity=point.amount,
                                      prune_structure=point)
            children.append(Trial(study=config.name, kind=NAME, parent=parent.id, spec=spec,
                                  batched=retrain_stacked(section.batch_children, parent.spec.cell,
                                                          config.training.device)))
            if point.schedule == "one_shot" and kept.get((point.target, point.amount), wide_count + 1) <= wide_count:
                comparator = _comparator(config, section, parent.spec, kept[point.target, point.amount],
                                         base_of[parent.spec.cell, parent.seed])
                comparators.setdefault(comparator.id, comparator)
    return parents + bases + children + list(comparators.values())


def _kept_counts(spec: StructureSpec, section: PruneStructureConfig) -> dict[tuple[str, float], int]:
    """The recurrent weights a one-shot child of ``spec``'s GraphRNN keeps, per (target,
    level) of ``dense_targets``, counted as :func:`sparsernn.prune.magnitude` prunes: a
    group (a matrix, or all targeted matrices for ``scope: global``) loses
    ``round(level * units)`` of its units (connections, or weights), whatever the weights."""
    gates = GATES[spec.cell]
    matrices = graph_connections(trial_graph(spec.graph), inputs=spec.model.embedding_dim,
                                 recurrence=spec.graph.recurrence)
    per_unit = gates if section.granularity == "connection" else 1
    total = gates * sum(count for _, count in matrices)
    kept = {}
    for target in section.dense_targets:
        units = [count * gates // per_unit for name, count in matrices if name in TARGETS[target]]
        for level in section.sparsities:
            groups = units if section.scope == "layer" else [sum(units)]
            kept[target, level] = total - per_unit * sum(round(level * n) for n in groups)
    return kept


def _comparator(config: StudyConfig, section: PruneStructureConfig, spec: StructureSpec, budget: int,
                base: str) -> Trial:
    rule = FamilyRule(family="pruned_one_shot", tolerance=TOLERANCE, scope=section.scope,
                      retrain_epochs=section.retrain_epochs)
    return Trial(study=config.name, kind=COMPARE, parent=base, spec=CompareSpec(
        cell=spec.cell, seed=spec.seed, data=config.data, model=config.model, training=config.training,
        budget=max(budget, 1), compare=rule))


def _validate(config: StudyConfig) -> None:
    section: PruneStructureConfig = config.section
    graphs = len(config.cells) * len(config.seeds) * graph_count(section.structure)
    check_trials(graphs * (1 + len(_points(section))) + len(config.cells) * len(config.seeds))


class _Pruned:
    """One child in progress: its copy of the trained GraphRNN, pruned once (or gradually)."""

    def __init__(self, trial: Trial, model: GraphRNN):
        self.trial, self.spec, self.model = trial, trial.spec, model
        self.point: StructurePruningPoint = self.spec.prune_structure
        self.targets = TARGETS[self.point.target]
        self.trained_graph = to_graph(model)
        self.alive = self._targeted_alive()
        self.seconds = 0.0

    def _targeted_alive(self) -> int:
        return sum(int(r.mask.sum()) for r in masked_weights(self.model) if r.target in self.targets)

    def actual_sparsity(self) -> float:
        """The fraction of the targeted weights the trained GraphRNN had that are pruned now."""
        return 1.0 - self._targeted_alive() / self.alive if self.alive else 0.0

    def prune_once(self) -> None:
        start = time.perf_counter()
        prune.magnitude(self.model, self.point.amount, targets=self.targets, scope=self.point.scope,
                        granularity=self.point.granularity)
        self.seconds += time.perf_counter() - start

    def gradual_pruner(self, steps_per_epoch: int) -> prune.GradualPruner:
        """A cubic schedule over the pooled targeted units, from the graph's own sparsity to
        that plus ``amount`` of what is left (so it lands on the one-shot count)."""
        g, granularity = self.point.gradual, self.point.granularity
        own = prune.sparsity(self.model, self.targets, granularity=granularity)["overall"]
        final = own + self.point.amount * (1.0 - own)
        return prune.GradualPruner(
            self.model, final=final, initial=own, **g.schedule(steps_per_epoch), criterion="magnitude",
            targets=self.targets, scope="global", granularity=granularity)

    def artefacts(self) -> list[dict]:
        graph = pruned_graph(self.model, self.trained_graph)
        properties = graph_properties(graph) if graph.number_of_nodes() else None  # none left: no properties
        return [
            {"kind": "graph", "name": "pruned", "data": graph_to_json(graph)},
            {"kind": "properties", "name": "pruned", "data": properties},
            {"kind": "gates", "name": "pruned", "data": {"edges_per_gate": graph.graph.get("gate_edges", [])}},
            {"kind": "budget", "name": "counts", "data": dict(zip(("recurrent", "recurrent_total"),
                                                                  recurrent_weights(self.model)))},
            {"kind": "sparsity", "name": "final", "data": prune.sparsity(self.model)},
            {"kind": "histogram", "name": "after", "data": weight_histograms(self.model)},
        ]


def pruned_graph(model: GraphRNN, trained: nx.DiGraph) -> nx.DiGraph:
    """The graph a pruned GraphRNN computes with (:func:`~sparsernn.nn.to_graph`: an edge
    while any gate keeps it) without the vertices that had edges in ``trained`` and lost
    all of them: a vertex whose every connection is pruned disappears."""
    graph = to_graph(model)
    gone = [v for v in graph if graph.degree(v) == 0 and trained.degree(v) > 0]
    graph.remove_nodes_from(gone)
    return graph


def _result(run: _Pruned, out: str | Path, data, status: str, epochs: list[dict], seconds: float) -> TrialResult:
    artefacts = run.artefacts()
    if status == "done":
        artefacts += save_trial_model(run.trial, out, run.model, data.vocab, data.splits)
    return TrialResult(status, epochs, artefacts, seconds=seconds)


def run_prune_structure_trial(trial: Trial, out: str | Path, *, on_epoch: EpochCallback | None = None,
                              on_batch: BatchCallback | None = None) -> TrialResult:
    """Prune a copy of the trained GraphRNN (the parent's checkpoint) and retrain it; return
    every epoch (with ``actual_sparsity``) and the pruned graph, its properties, its
    per-gate edge counts, the final sparsity and the model (never touches the database)."""
    start = time.perf_counter()
    spec: PruneStructureSpec = trial.spec
    data = prepare_data(spec)
    run = _Pruned(trial, load_checkpoint(Path(out) / checkpoint_path(trial.parent)).model)
    after_step = None
    if run.point.schedule == "gradual":
        after_step = run.gradual_pruner(num_batches(len(data.train.lengths), spec.training.batch_size)).step
    else:
        run.prune_once()

    def record(row: dict) -> None:
        row["actual_sparsity"] = run.actual_sparsity()
        if on_epoch is not None:
            on_epoch(row)

    training = spec.training.model_copy(update={"epochs": run.point.retrain_epochs})
    result = fit(run.model, data.train, data.test, training, seed=derive_seed(spec.seed, "order", "retrain"),
                 validation=data.validation, phase="retrain", after_step=after_step, on_epoch=record,
                 on_batch=on_batch, task=data.task)
    return _result(run, out, data, result.status, result.epochs, time.perf_counter() - start)


def stack_key(trial: Trial) -> str | None:
    """One-shot children of one GraphRNN and target (with the same retraining) retrain
    together, when their study batches children; None for the others."""
    point = getattr(trial.spec, NAME, None)
    if point is None or not trial.batched or point.schedule != "one_shot":
        return None
    return f"{trial.parent}/{point.target}/retrain{point.retrain_epochs}"


def run_prune_structure_stack(trials: list[Trial], out: str | Path, *, on_epoch=None,
                              on_batch: BatchCallback | None = None) -> list[TrialResult]:
    """Prune a copy of the trained GraphRNN for each of ``trials`` (equal :func:`stack_key`)
    and retrain them as one :class:`~sparsernn.nn.GraphRNNStack`, each as it would alone
    (:func:`~sparsernn.train.fit_pack`) up to float rounding; ``on_epoch(index, row)``
    gets member ``index``'s rows; a result's ``seconds`` is the stack's time divided
    among its members."""
    start = time.perf_counter()
    first: PruneStructureSpec = trials[0].spec
    data = prepare_data(first)
    base = load_checkpoint(Path(out) / checkpoint_path(trials[0].parent)).model
    runs = [_Pruned(trial, copy.deepcopy(base)) for trial in trials]
    for run in runs:
        run.prune_once()
    sparsities = [run.actual_sparsity() for run in runs]  # fixed while retraining

    def record(index: int, row: dict) -> None:
        row["actual_sparsity"] = sparsities[index]
        if on_epoch is not None:
            on_epoch(index, row)

    stack = GraphRNNStack([run.model for run in runs])
    training = first.training.model_copy(update={"epochs": first.prune_structure.retrain_epochs})
    results = fit_pack(stack, data.train, data.test, training, seed=derive_seed(first.seed, "order", "retrain"),
                       validation=data.validation, phase="retrain", on_epoch=record, on_batch=on_batch,
                       task=data.task)
    seconds = (time.perf_counter() - start) / len(trials)
    for run, model in zip(runs, stack.unpack()):
        run.model = model
    return [_result(run, out, data, result.status, result.epochs, seconds) for run, result in zip(runs, results)]


def describe(trial: Trial) -> str:
    """E.g. ``lstm seed=0 barabasi_albert graph=3 prune ih 0.5``."""
    point = trial.spec.prune_structure
    schedule = "" if point.schedule == "one_shot" else f" {point.schedule}"
    return f"{graph_label(trial)} prune {point.target}{schedule} {point.amount:g}"


def _columns(config: dict) -> dict:
    return {"target": config.get("target"), "target_sparsity": config.get("sparsity")}


KIND = register(StudyKind(
    name=NAME, spec=PruneStructureSpec, run=run_prune_structure_trial, expand=expand_prune_structure,
    section=PruneStructureConfig, validate=_validate, inputs=lambda trial: (checkpoint_path(trial.parent),),
    describe=describe, columns=_columns, pack_key=stack_key, run_pack=run_prune_structure_stack,
    swept=("seed", "cell", "target", "sparsity", "graph.generator", "graph.graph_seed", "graph.source",
           "graph.name", "graph.graph", "prune_structure.target", "prune_structure.schedule",
           "prune_structure.amount", "prune_structure.gradual"),
    summary=lazy("sparsernn.analysis.prune_structure:prune_structure_tables"),
    analyze=lazy("sparsernn.analysis.prune_structure:analyze_prune_structure"),
))
