"""Budget-matched comparisons: networks of several families with the same number of
recurrent weights (:mod:`sparsernn.budgets`), trained on the same data with the same
optimiser, epochs and seeds.

For every cell, budget ``B`` and seed, one trial per family:

``small_dense``
    A dense :class:`~sparsernn.nn.SequenceClassifier` with as many layers as the study's
    model, its widths chosen to meet ``B`` (:func:`~sparsernn.budgets.dense_widths`).
``pruned_one_shot``
    The study's (wider) dense model, trained (a dense trial, the parent: shared by the
    budgets), pruned to ``B`` at once by magnitude, and retrained for
    ``compare.retrain_epochs`` epochs. Its training cost is the parent's plus its own.
``pruned_gradual``
    The wide model trained from scratch while pruned along Zhu & Gupta's cubic schedule
    (``compare.gradual``), down to ``B`` by the end of the schedule.
``graph``
    A :class:`~sparsernn.nn.GraphRNN` on a graph of each of ``compare.generators``
    sized to meet ``B`` (:func:`~sparsernn.budgets.graph_for_budget`); the graph is
    drawn from the trial's seed, so every seed trains another graph.
``random_mask``
    The control of ``graph``: the same GraphRNN (layers, widths, initial weights) with
    every matrix's connections placed at random, as many as the graph gave it
    (:func:`~sparsernn.budgets.random_mask_like`): the same sparsity without the
    structure.
``set``, ``rigl``
    Dynamic sparse training from scratch: the wide model starts with random masks at
    ``B`` and, every ``compare.dynamic.frequency`` optimiser steps until
    ``end_fraction`` of training, drops the smallest weights of each matrix and regrows
    as many at random (SET) or where the dense gradient is largest (RigL)
    (:class:`~sparsernn.prune.DynamicSparsity`).

Pruning to the budget removes ``1 - B / W`` of the wide model's ``W`` recurrent weights
(``scope`` global: one ranking over all matrices; layer: each matrix alike). Every
trial stores its counts (``budget`` artefact: the kept recurrent weights, their total,
embedding and readout parameters, all nonzero and total parameters), its peak memory
(:mod:`sparsernn.memory`) and, for graph families, its graph and how it was found.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Literal

import torch
from pydantic import BaseModel, ConfigDict, Field, field_validator

from ... import prune
from ...budgets import (
    TOLERANCE,
    budget_counts,
    dense_weights,
    dense_widths,
    graph_for_budget,
    random_mask_like,
    recurrent_weights,
)
from ...checkpoint import load_checkpoint
from ...data import num_batches
from ...errors import InputError
from ...graphs import graph_to_json
from ...memory import PeakMemory
from ...nn import GraphRNN
from ...registry import StudyKind, lazy, register
from ...seeding import derive_seed
from ...train import MAX_EPOCHS, BatchCallback, EpochCallback, fit, make_optimizer
from ..config import StudyConfig, check_trials
from ..trial import SpecModel, Trial, TrialResult, checkpoint_path, prepare_data, save_trial_model
from .dense import ClassifierSpec, build_model, expand_dense
from .pruning import GradualConfig

NAME = "compare"
FAMILIES = ("small_dense", "pruned_one_shot", "pruned_gradual", "graph", "random_mask", "set", "rigl")
_GRAPH_FAMILIES = ("graph", "random_mask")


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DynamicConfig(_Config):
    """Dynamic sparse training (SET, RigL): how often and how much the masks change."""

    drop_fraction: float = Field(0.3, gt=0, le=1, description="Fraction of each matrix's kept weights dropped "
                                 "(and regrown) at the first update, decaying along a cosine to 0 at the end.")
    frequency: int = Field(50, ge=1, description="Optimiser steps between mask updates.")
    end_fraction: float = Field(0.75, gt=0, le=1, description="Fraction of the training steps after which "
                                                              "the masks stay fixed.")


class CompareConfig(_Config):
    """The comparison: budgets (recurrent weights kept), families, and their settings."""

    budgets: list[int] = Field(min_length=1, description="Recurrent (input-to-hidden plus hidden-to-hidden) "
                                                         "weights each network keeps.")
    families: list[Literal[FAMILIES]] = Field(default_factory=lambda: list(FAMILIES), min_length=1)
    generators: list[Literal["barabasi_albert", "barabasi_albert_star", "watts_strogatz", "erdos_renyi"]] = Field(
        default_factory=lambda: ["barabasi_albert", "watts_strogatz", "erdos_renyi"], min_length=1)
    erdos_renyi_p: float = Field(0.1, gt=0, le=1)
    orientation: Literal["index", "random"] = "index"
    recurrence: Literal["layer", "self", "none"] = "layer"
    scope: Literal["global", "layer"] = "global"
    retrain_epochs: int = Field(10, ge=0, le=MAX_EPOCHS, description="pruned_one_shot: epochs after pruning.")
    gradual: GradualConfig = Field(default_factory=GradualConfig)
    dynamic: DynamicConfig = Field(default_factory=DynamicConfig)
    tolerance: float = Field(TOLERANCE, gt=0, lt=1, description="Relative distance from a budget a network may be.")

    @field_validator("budgets")
    @classmethod
    def _budgets(cls, budgets: list[int]) -> list[int]:
        if any(b < 1 for b in budgets) or len(set(budgets)) != len(budgets):
            raise ValueError(f"budgets must be distinct ints >= 1; got {budgets}")
        return budgets

    @field_validator("families")
    @classmethod
    def _families(cls, families: list[str]) -> list[str]:
        if len(set(families)) != len(families):
            raise ValueError(f"every family may be listed once; got {families}")
        return families


class FamilyRule(SpecModel):
    """How a compare trial's network is built and trained (only its family's settings)."""

    omit_if_none = ("generator", "erdos_renyi_p", "orientation", "recurrence", "scope", "retrain_epochs",
                    "gradual", "dynamic")
    family: str
    tolerance: float
    generator: str | None = None
    erdos_renyi_p: float | None = None
    orientation: str | None = None
    recurrence: str | None = None
    scope: str | None = None
    retrain_epochs: int | None = None
    gradual: GradualConfig | None = None
    dynamic: DynamicConfig | None = None


class CompareSpec(ClassifierSpec):
    """A compare trial: the wide model's settings (``model``), the budget and the family."""

    budget: int
    compare: FamilyRule


def _rules(section: CompareConfig) -> list[FamilyRule]:
    rules = []
    for family in section.families:
        common = {"family": family, "tolerance": section.tolerance}
        if family in _GRAPH_FAMILIES:
            rules += [FamilyRule(**common, generator=g, erdos_renyi_p=section.erdos_renyi_p if g == "erdos_renyi"
                                 else None, orientation=section.orientation, recurrence=section.recurrence)
                      for g in section.generators]
        elif family == "pruned_one_shot":
            rules.append(FamilyRule(**common, scope=section.scope, retrain_epochs=section.retrain_epochs))
        elif family == "pruned_gradual":
            rules.append(FamilyRule(**common, scope=section.scope, gradual=section.gradual))
        elif family in ("set", "rigl"):
            rules.append(FamilyRule(**common, dynamic=section.dynamic))
        else:
            rules.append(FamilyRule(**common))
    return rules


def expand_compare(config: StudyConfig) -> list[Trial]:
    """The wide dense trials (parents of ``pruned_one_shot``, and the dense reference),
    then one trial per (cell, budget, family rule, seed)."""
    section: CompareConfig = config.section
    bases = expand_dense(config)
    parent = {(b.spec.cell, b.seed): b.id for b in bases}
    trials = []
    for cell in config.cells:
        for budget in section.budgets:
            for rule in _rules(section):
                for seed in config.seeds:
                    spec = CompareSpec(cell=cell, seed=seed, data=config.data, model=config.model,
                                       training=config.training, budget=budget, compare=rule)
                    trials.append(Trial(study=config.name, kind=NAME, spec=spec, parent=parent[cell, seed]
                                        if rule.family == "pruned_one_shot" else None))
    return bases + trials


def _validate(config: StudyConfig) -> None:
    section: CompareConfig = config.section
    check_trials(len(config.cells) * len(config.seeds) * (1 + len(section.budgets) * len(_rules(section))))
    for cell in config.cells:
        wide = dense_weights(cell, config.model.embedding_dim, config.model.hidden_sizes)
        for budget in section.budgets:
            if budget > wide and set(section.families) & {"pruned_one_shot", "pruned_gradual", "set", "rigl"}:
                raise ValueError(f"budget {budget:,} is more than the {wide:,} recurrent weights of the dense "
                                 f"{cell} model (model.hidden_sizes), which pruning and dynamic sparse training "
                                 "start from; lower it or widen the model")
            if "small_dense" in section.families:
                try:
                    dense_widths(cell, budget, inputs=config.model.embedding_dim,
                                 layers=len(config.model.hidden_sizes), tolerance=section.tolerance)
                except InputError as exc:
                    raise ValueError(str(exc)) from None


def _sparsity(spec: CompareSpec, model: torch.nn.Module) -> float:
    """The fraction of the wide model's recurrent weights that leaves ``spec.budget``."""
    return 1.0 - spec.budget / recurrent_weights(model)[1]


def _initial(spec: CompareSpec, io: dict, hidden_sizes: list[int] | None = None) -> torch.nn.Module:
    torch.manual_seed(derive_seed(spec.seed, "init"))
    model = spec.model if hidden_sizes is None else spec.model.model_copy(update={"hidden_sizes": hidden_sizes})
    return build_model(spec.cell, io, model)


def _graph_model(spec: CompareSpec, io: dict) -> tuple[GraphRNN, list[dict]]:
    rule = spec.compare
    dag, info = graph_for_budget(
        rule.generator, spec.cell, spec.budget, inputs=spec.model.embedding_dim,
        seed=derive_seed(spec.seed, "graph"), recurrence=rule.recurrence, orientation=rule.orientation,
        erdos_renyi_p=rule.erdos_renyi_p or 0.1, tolerance=rule.tolerance)
    torch.manual_seed(derive_seed(spec.seed, "init"))
    model = GraphRNN(dag, spec.cell, embedding_dim=spec.model.embedding_dim, recurrence=rule.recurrence, **io)
    if rule.family == "random_mask":
        model = random_mask_like(model, seed=derive_seed(spec.seed, "control"))
    return model, [{"kind": "graph", "name": "dag", "data": graph_to_json(dag)},
                   {"kind": "graph_search", "name": "dag", "data": info}]


def _loss_closure(model: torch.nn.Module, data, spec: CompareSpec):
    """RigL's dense-gradient loss: the task's loss on a batch drawn with its own seed."""
    generator = torch.Generator().manual_seed(derive_seed(spec.seed, "rigl"))
    train, size = data.train, spec.training.batch_size

    def loss() -> torch.Tensor:
        index = torch.randint(len(train.lengths), (min(size, len(train.lengths)),), generator=generator)
        return data.task.loss(model(train.inputs[index], train.lengths[index]), train.labels[index],
                              train.lengths[index])

    return loss


def _train_dynamic(spec: CompareSpec, data, model, on_epoch, on_batch):
    rule = spec.compare.dynamic
    steps = num_batches(len(data.train.lengths), spec.training.batch_size) * spec.training.epochs
    optimizer = make_optimizer(model, spec.training)
    updater = prune.DynamicSparsity(
        model, sparsity=_sparsity(spec, model), regrowth="random" if spec.compare.family == "set" else "gradient",
        drop_fraction=rule.drop_fraction, frequency=rule.frequency, end=max(int(rule.end_fraction * steps), 1),
        seed=derive_seed(spec.seed, "dynamic"), optimizer=optimizer,
        loss=_loss_closure(model, data, spec) if spec.compare.family == "rigl" else None)
    return fit(model, data.train, data.test, spec.training, seed=derive_seed(spec.seed, "order"),
               validation=data.validation, optimizer=optimizer, after_step=updater.step, on_epoch=on_epoch,
               on_batch=on_batch, task=data.task)


def _train_gradual(spec: CompareSpec, data, model, on_epoch, on_batch):
    g = spec.compare.gradual
    steps = num_batches(len(data.train.lengths), spec.training.batch_size)
    pruner = prune.GradualPruner(
        model, final=_sparsity(spec, model), initial=g.initial, **g.schedule(steps), criterion="magnitude",
        targets=("ih", "hh"), scope=spec.compare.scope)
    return fit(model, data.train, data.test, spec.training, seed=derive_seed(spec.seed, "order"),
               validation=data.validation, after_step=pruner.step, on_epoch=on_epoch, on_batch=on_batch,
               task=data.task)


def _train_one_shot(trial: Trial, out: str | Path, data, on_epoch, on_batch):
    spec: CompareSpec = trial.spec
    model = load_checkpoint(Path(out) / checkpoint_path(trial.parent)).model
    prune.prune_to_sparsity(model, _sparsity(spec, model), criterion="magnitude", targets=("ih", "hh"),
                            scope=spec.compare.scope)
    training = spec.training.model_copy(update={"epochs": spec.compare.retrain_epochs})
    result = fit(model, data.train, data.test, training, seed=derive_seed(spec.seed, "order", "retrain"),
                 validation=data.validation, phase="retrain", on_epoch=on_epoch, on_batch=on_batch, task=data.task)
    return model, result


def _train(trial: Trial, out: str | Path, data, on_epoch, on_batch):
    """Build the trial's network and train it: ``(model, TrainResult, extra artefacts)``."""
    spec: CompareSpec = trial.spec
    family = spec.compare.family
    if family == "pruned_one_shot":
        return (*_train_one_shot(trial, out, data, on_epoch, on_batch), [])
    if family in _GRAPH_FAMILIES:
        model, extra = _graph_model(spec, data.io)
    elif family == "small_dense":
        widths = dense_widths(spec.cell, spec.budget, inputs=spec.model.embedding_dim,
                              layers=len(spec.model.hidden_sizes), tolerance=spec.compare.tolerance)
        model, extra = _initial(spec, data.io, widths), [{"kind": "widths", "name": "hidden_sizes", "data": widths}]
    else:
        model, extra = _initial(spec, data.io), []
    if family == "pruned_gradual":
        return model, _train_gradual(spec, data, model, on_epoch, on_batch), extra
    if family in ("set", "rigl"):
        return model, _train_dynamic(spec, data, model, on_epoch, on_batch), extra
    result = fit(model, data.train, data.test, spec.training, seed=derive_seed(spec.seed, "order"),
                 validation=data.validation, on_epoch=on_epoch, on_batch=on_batch, task=data.task)
    return model, result, extra


def run_compare_trial(
    trial: Trial,
    out: str | Path,
    *,
    on_epoch: EpochCallback | None = None,
    on_batch: BatchCallback | None = None,
) -> TrialResult:
    """Build the trial's network for its budget and family, train it; return its epochs and
    artefacts (counts, peak memory, graph and how it was found, the model unless
    ``save_models`` is ``none``). Never touches the database."""
    start = time.perf_counter()
    with PeakMemory() as memory:
        data = prepare_data(trial.spec)
        model, result, extra = _train(trial, out, data, on_epoch, on_batch)
    counts = {**budget_counts(model), "budget": trial.spec.budget}
    artefacts = [*extra, {"kind": "budget", "name": "counts", "data": counts},
                 {"kind": "memory", "name": "peak", "data": {"peak_rss_mib": memory.peak_mib}},
                 {"kind": "dataset", "name": data.splits.name, "data": data.splits.summary()}]
    if result.status == "done":
        artefacts += save_trial_model(trial, out, model, data.vocab, data.splits)
    return TrialResult(result.status, result.epochs, artefacts, seconds=time.perf_counter() - start)


def describe(trial: Trial) -> str:
    """E.g. ``lstm seed=0 budget=10000 graph watts_strogatz``."""
    rule = trial.spec.compare
    return " ".join([f"{trial.spec.cell} seed={trial.seed} budget={trial.spec.budget} {rule.family}",
                     *([rule.generator] if rule.generator else [])])


def _columns(config: dict) -> dict:
    return {"target": None, "target_sparsity": None}


KIND = register(StudyKind(
    name=NAME, spec=CompareSpec, run=run_compare_trial, expand=expand_compare, section=CompareConfig,
    validate=_validate, describe=describe, columns=_columns,
    inputs=lambda trial: (checkpoint_path(trial.parent),) if trial.parent else (),
    swept=("seed", "cell", "budget", "compare.family", "compare.generator", "compare.erdos_renyi_p",
           "compare.orientation", "compare.recurrence", "compare.scope", "compare.retrain_epochs",
           "compare.gradual", "compare.dynamic", "compare.tolerance"),
    summary=lazy("sparsernn.analysis.compare:compare_tables"),
    markdown_summary=lazy("sparsernn.analysis.compare:compare_markdown"),
))
