"""Pruning studies: train a dense base per (cell, seed), then prune copies and retrain.

Every (criterion, target, scope, schedule, sparsity) of the sweep is one trial whose
``parent`` is the dense base trial; it starts from the base's checkpoint, prunes, and
retrains with the masks fixed (``phase="retrain"``; epoch 0 is the accuracy right after
pruning). Schedules:

``one_shot``
    Remove the fraction ``sparsity`` of the targeted weights at once, then retrain.
``iterative``
    Rounds that each remove ``per_round`` of what remains
    (:func:`~sparsernn.prune.iterative_sparsities`), training ``epochs_per_round``
    epochs after each (``phase="round<k>"``), optionally rewinding the surviving weights
    to their initial values (lottery ticket); the last round lands on ``sparsity`` and is
    followed by the retraining phase.
``gradual``
    Prune during retraining along Zhu & Gupta's cubic schedule
    (:class:`~sparsernn.prune.GradualPruner`), reaching ``sparsity`` after
    ``start_epoch + prune_epochs`` epochs.

The children of one base that prune once and then retrain (``one_shot``, and the
``threshold`` criterion) share the base's data, batch order and retraining settings: with
``batch_children`` those of one target (e.g. the ten levels of ``both``) retrain
together as one
:class:`~sparsernn.nn.ClassifierStack` (:func:`run_pruning_stack`), each with its own
clipping and divergence check, so each gives the numbers it gives alone up to float
rounding (about 1e-7 per step), in a fraction of the time. Models with dropout, and the
other schedules, always retrain alone; by default (``auto``) so do LSTM children on a
CPU, where one LSTM is as fast as its share of a stack (:func:`retrain_stacked`). The
setting is no part of a trial's id.
"""

from __future__ import annotations

import copy
import time
import warnings
from pathlib import Path
from typing import Literal

import torch
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ... import prune
from ...checkpoint import Checkpoint, load_checkpoint
from ...data import num_batches
from ...devices import on_cpu
from ...nn import ClassifierStack, weight_histograms
from ...registry import StudyKind, lazy, register
from ...seeding import derive_seed
from ...tasks import model_io, task_of
from ...train import MAX_EPOCHS, BatchCallback, EpochCallback, encode_splits, fit, fit_pack
from ..config import StudyConfig, check_trials
from ..trial import SpecModel, Trial, TrialResult, checkpoint_path, save_trial_model, trial_data
from .dense import ClassifierSpec, expand_dense, initial_model

NAME = "pruning"


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


TARGET_NAMES = ("ih", "hh", "hr", "ho", "both")


class IterativeConfig(_Config):
    """Iterative pruning: each round removes ``per_round`` of what remains, then trains."""

    per_round: float = Field(0.2, gt=0, le=1)
    epochs_per_round: int = Field(2, ge=0, le=MAX_EPOCHS, description="Training epochs after each round but the "
                                                                     "last, at most 100,000.")
    rewind: bool = Field(False, description="Reset surviving weights to their initial values each round "
                                            "(the lottery-ticket procedure).")


class GradualConfig(_Config):
    """Gradual pruning during retraining along Zhu & Gupta's cubic schedule."""

    initial: float = Field(0.0, ge=0, le=1, description="Sparsity at the first pruning step.")
    start_epoch: int = Field(0, ge=0, le=MAX_EPOCHS, description="Retraining epochs before pruning starts "
                                                                  "(at most 100,000).")
    prune_epochs: int = Field(5, ge=1, le=MAX_EPOCHS, description="Epochs over which sparsity rises to its target "
                                                                   "(at most 100,000).")
    frequency: int = Field(50, ge=1, description="Optimiser steps between pruning steps.")

    def schedule(self, steps_per_epoch: int) -> dict:
        """The step-counted ``start``, ``duration`` and ``frequency`` of a
        :class:`~sparsernn.prune.GradualPruner` for training of ``steps_per_epoch`` steps an
        epoch: pruning starts at the first step after ``start_epoch`` epochs and reaches its
        final sparsity at the last step of the ``prune_epochs``-th epoch after that."""
        return {"start": self.start_epoch * steps_per_epoch + 1,
                "duration": max(self.prune_epochs * steps_per_epoch - 1, 0), "frequency": self.frequency}


class PruningConfig(_Config):
    """The pruning sweep: every criterion x target x scope x schedule x sparsity.

    ``sparsities`` are target sparsities, the fractions of the targeted weights a trial
    removes (called ``amounts`` before 0.2; that name still works, with a warning).
    """

    criteria: list[Literal["magnitude", "random", "threshold"]] = Field(default_factory=lambda: ["magnitude"],
                                                                         min_length=1)
    targets: list[str] = Field(default_factory=lambda: ["both"], min_length=1,
                               description="Each an 'ih', 'hh', 'hr', 'ho', 'both' or a '+'-joined set.")
    scopes: list[Literal["layer", "global"]] = Field(default_factory=lambda: ["global"], min_length=1)
    sparsities: list[float] = Field(default_factory=lambda: [round(0.1 * i, 1) for i in range(1, 11)],
                                 min_length=1, description="Fractions of the targeted weights to remove.")
    thresholds: list[float] = Field(default_factory=lambda: [0.01], min_length=1,
                                    description="For the threshold criterion: remove |w| below each.")
    schedules: list[Literal["one_shot", "iterative", "gradual"]] = Field(default_factory=lambda: ["one_shot"],
                                                                         min_length=1)
    retrain_epochs: int = Field(10, ge=0, le=MAX_EPOCHS, description="At most 100,000 (MAX_EPOCHS).")
    iterative: IterativeConfig = Field(default_factory=IterativeConfig)
    gradual: GradualConfig = Field(default_factory=GradualConfig)
    delta: float = Field(0.01, ge=0, le=1, description="Accuracy within delta of the dense base counts "
                                                        "as recovered.")
    batch_children: bool | Literal["auto"] = Field(
        "auto", description="Retrain the one-shot and threshold children of each base and target together as one "
                            "ClassifierStack (the same numbers up to float rounding): true, false, or auto (true but "
                            "for LSTM children trained on a CPU). No part of a trial's id.")

    @field_validator("targets")
    @classmethod
    def _targets(cls, targets: list[str]) -> list[str]:
        for target in targets:
            parts = target.split("+")
            if not all(part in TARGET_NAMES for part in parts) or len(set(parts)) != len(parts):
                raise ValueError(f"each target must be one of {', '.join(map(repr, TARGET_NAMES))} "
                                 f"or a '+'-joined set of them; got {target!r}")
        return targets

    @model_validator(mode="before")
    @classmethod
    def _old_names(cls, data: object) -> object:
        if isinstance(data, dict) and "amounts" in data:
            if "sparsities" in data:
                raise ValueError("give sparsities, not amounts (its old name) as well")
            warnings.warn("pruning.amounts is now called pruning.sparsities (the fractions of the targeted "
                          "weights to remove); the old name will go", FutureWarning, stacklevel=2)
            data = {("sparsities" if k == "amounts" else k): v for k, v in data.items()}
        return data

    @field_validator("sparsities")
    @classmethod
    def _sparsities(cls, sparsities: list[float]) -> list[float]:
        if any(not 0 <= a <= 1 for a in sparsities):
            raise ValueError(f"every sparsity must be a fraction in [0, 1]; got {sparsities}")
        return sparsities

    @field_validator("thresholds")
    @classmethod
    def _thresholds(cls, thresholds: list[float]) -> list[float]:
        if any(not t >= 0 for t in thresholds):
            raise ValueError(f"every threshold must be >= 0; got {thresholds}")
        return thresholds

    @model_validator(mode="after")
    def _schedules_fit(self) -> PruningConfig:
        if "iterative" in self.schedules and self.iterative.per_round < 1 and 1.0 in self.sparsities:
            raise ValueError("iterative pruning removes a fraction of what remains and never reaches sparsity 1.0; "
                             "drop 1.0 from sparsities, set iterative.per_round: 1, or run it one_shot")
        if "iterative" in self.schedules:
            for sparsity in self.sparsities:
                try:  # too many rounds for a tiny per_round: refused here, not in every trial
                    prune.iterative_sparsities(sparsity, self.iterative.per_round)
                except ValueError as exc:
                    raise ValueError(f"iterative.per_round {self.iterative.per_round:g} with sparsity {sparsity:g}: "
                                     f"{str(exc)[:200]}") from None
        if "gradual" in self.schedules and self.gradual.start_epoch + self.gradual.prune_epochs > self.retrain_epochs:
            raise ValueError("gradual.start_epoch + gradual.prune_epochs must be <= retrain_epochs "
                             f"({self.gradual.start_epoch} + {self.gradual.prune_epochs} > {self.retrain_epochs})")
        return self


class PruningPoint(SpecModel):
    """One point of the sweep: how a trial prunes its copy of the base and retrains it.

    ``amount`` is the trial's target sparsity (one of the study's ``sparsities``; the
    name stored trials have, kept so that their ids stay), ``threshold`` the threshold
    criterion's ``|w|`` cut-off; ``iterative`` or ``gradual`` holds the settings of that
    schedule, for it only.
    """

    omit_if_none = ("iterative", "gradual")
    criterion: str
    target: str
    scope: str | None
    schedule: str
    amount: float | None
    threshold: float | None
    retrain_epochs: int
    iterative: IterativeConfig | None = None
    gradual: GradualConfig | None = None


class PruningSpec(ClassifierSpec):
    """A pruning trial: its base's settings, the pruning point, and (as flat columns of
    the results database) the targeted weights and the fraction of them removed."""

    target: str
    sparsity: float | None
    pruning: PruningPoint


def expand_pruning(config: StudyConfig) -> list[Trial]:
    """The dense base trials, then one pruning trial per sweep point and base."""
    section: PruningConfig = config.section
    bases = expand_dense(config)
    children = []
    for base in bases:
        for point in _points(section):
            children.append(Trial(study=config.name, kind=NAME, parent=base.id, spec=PruningSpec(
                **dict(base.spec), target=point.target, sparsity=point.amount, pruning=point),
                batched=retrain_stacked(section.batch_children, base.spec.cell, config.training.device)))
    return bases + children


def retrain_stacked(batch_children: bool | str, cell: str, device: str | None) -> bool:
    """Whether the children of a model of ``cell`` trained on ``device`` retrain as
    stacks: ``batch_children``, where ``"auto"`` stacks all but LSTM children on a CPU.

    There one LSTM runs each layer in oneDNN's fused kernel, as fast per child as a stack
    computes its recurrence step by step, and a child retrained alone is stored as soon as
    it finishes; GRU and RNN cells have no such kernel and gain from the stack
    (``benchmarks/pruning_children_speed.py``, the thesis's 3 x 50 layers, one thread:
    stacks of 10 LSTM children 0.96x the speed of one by one, of GRU children 2.5x;
    GraphRNNs of the recorded prune-structure runs: 26 s for an LSTM child alone against
    34 s for its share of a stack of 3 on Reber, 29 s for a GRU child alone against 13 s
    on JapaneseVowels).

    Examples
    --------
    >>> retrain_stacked("auto", "lstm", None), retrain_stacked("auto", "gru", "cpu")
    (False, True)
    >>> retrain_stacked(True, "lstm", None), retrain_stacked("auto", "lstm", "cuda")
    (True, True)
    """
    if batch_children != "auto":
        return bool(batch_children)
    return not (cell == "lstm" and on_cpu(device))


def _points(section: PruningConfig) -> list[PruningPoint]:
    """The sweep's points: criteria, then targets, scopes, schedules and sparsities."""
    points = []
    for criterion in section.criteria:
        if criterion == "threshold":
            grid = [(t, None, "one_shot", None, v) for t in section.targets for v in section.thresholds]
        else:
            grid = [(t, sc, sch, a, None) for t in section.targets for sc in section.scopes
                    for sch in section.schedules for a in section.sparsities]
        for target, scope, schedule, amount, threshold in grid:
            points.append(PruningPoint(
                criterion=criterion, target=target, scope=scope, schedule=schedule, amount=amount,
                threshold=threshold, retrain_epochs=section.retrain_epochs,
                iterative=section.iterative if schedule == "iterative" else None,
                gradual=section.gradual if schedule == "gradual" else None))
    return points


def _targets(target: str) -> tuple[str, ...]:
    return tuple(target.split("+"))


def parent_checkpoint(trial: Trial) -> str:
    """Where (relative to the output directory) the dense base of ``trial`` left its trained model."""
    return checkpoint_path(trial.parent)


class _Retraining:
    """A pruning trial in progress: the model, its data, and the epochs and seconds so far.

    ``base`` is the trial's parent's checkpoint (loaded here if not given); the model is
    a copy of its model.
    """

    def __init__(self, trial: Trial, out: str | Path, on_epoch, on_batch, base: Checkpoint | None = None):
        self.spec: PruningSpec = trial.spec
        self.targets = _targets(self.spec.pruning.target)
        if base is None:
            base = load_checkpoint(Path(out) / parent_checkpoint(trial))
            self.model = base.model
        else:
            self.model = copy.deepcopy(base.model)
        self.vocab = base.vocab
        self.splits = trial_data(self.spec)  # the base's data: same data config, same seed
        self.task = task_of(self.splits)
        self.train, self.test, self.validation = encode_splits(self.vocab, self.splits)
        self.on_epoch, self.on_batch = on_epoch, on_batch
        self.epochs: list[dict] = []
        self.prune_seconds = 0.0

    def record(self, row: dict) -> None:
        row["actual_sparsity"] = prune.sparsity(self.model, self.targets)["overall"]
        if self.on_epoch is not None:
            self.on_epoch(row)

    def train_phase(self, phase: str, n_epochs: int, after_step=None) -> str:
        training = self.spec.training.model_copy(update={"epochs": n_epochs})
        result = fit(self.model, self.train, self.test, training, seed=derive_seed(self.spec.seed, "order", phase),
                     validation=self.validation, phase=phase, after_step=after_step, on_epoch=self.record,
                     on_batch=self.on_batch, task=self.task)
        self.epochs.extend(result.epochs)
        return result.status

    def prune_to(self, sparsity: float, round_: int) -> None:
        point, start = self.spec.pruning, time.perf_counter()
        prune.prune_to_sparsity(self.model, sparsity, criterion=point.criterion, targets=self.targets,
                                scope=point.scope, seed=derive_seed(self.spec.seed, "prune", round_))
        self.prune_seconds += time.perf_counter() - start

    def prune_once(self) -> None:
        """The pruning of a trial that prunes once before retraining (threshold or one-shot)."""
        if self.spec.pruning.criterion == "threshold":
            start = time.perf_counter()
            prune.threshold(self.model, self.spec.pruning.threshold, targets=self.targets)
            self.prune_seconds += time.perf_counter() - start
        else:
            self.prune_to(self.spec.pruning.amount, 1)

    def threshold(self) -> str:
        self.prune_once()
        return self.train_phase("retrain", self.spec.pruning.retrain_epochs)

    def one_shot(self) -> str:
        self.prune_once()
        return self.train_phase("retrain", self.spec.pruning.retrain_epochs)

    def result(self, trial: Trial, out: str | Path, status: str, before: dict, seconds: float) -> TrialResult:
        """The trial's result once retraining ended with ``status``: its epochs and
        artefacts (``before``: the |w| histograms of the base), its model saved if done."""
        artefacts = [
            {"kind": "sparsity", "name": "final", "data": prune.sparsity(self.model)},
            {"kind": "histogram", "name": "before", "data": before},
            {"kind": "histogram", "name": "after", "data": weight_histograms(self.model)},
            {"kind": "timing", "name": "phases", "data": {
                "prune_seconds": self.prune_seconds,
                "train_seconds": sum(row["seconds"] for row in self.epochs if row["epoch"] > 0),
                "total_seconds": seconds}},
        ]
        if status == "done":
            artefacts += save_trial_model(trial, out, self.model, self.vocab, self.splits)
        return TrialResult(status, self.epochs, artefacts, seconds=seconds)

    def iterative(self) -> str:
        point = self.spec.pruning
        initial = _initial_state(self.spec, model_io(self.splits, self.vocab)) if point.iterative.rewind else None
        rounds = prune.iterative_sparsities(point.amount, point.iterative.per_round)
        for k, sparsity in enumerate(rounds, start=1):
            self.prune_to(sparsity, k)
            if initial is not None:
                prune.rewind(self.model, initial)
            if k < len(rounds):
                status = self.train_phase(f"round{k}", point.iterative.epochs_per_round)
                if status != "done":
                    return status
        return self.train_phase("retrain", point.retrain_epochs)

    def gradual(self) -> str:
        point, g = self.spec.pruning, self.spec.pruning.gradual
        steps = num_batches(len(self.train), self.spec.training.batch_size)
        pruner = prune.GradualPruner(
            self.model, final=point.amount, initial=g.initial, **g.schedule(steps), criterion=point.criterion,
            targets=self.targets, scope=point.scope, seed=derive_seed(self.spec.seed, "prune"),
        )
        return self.train_phase("retrain", point.retrain_epochs, after_step=pruner.step)


def run_pruning_trial(
    trial: Trial,
    out: str | Path,
    *,
    on_epoch: EpochCallback | None = None,
    on_batch: BatchCallback | None = None,
) -> TrialResult:
    """Prune a copy of the trial's trained dense base and retrain it (never touches the database).

    Returns every epoch row (with ``actual_sparsity``, the fraction of the targeted
    weights masked at that point) and artefacts: the per-matrix sparsity after
    retraining, |w| histograms of the base and of the retrained model, the wall
    time of the pruning and training phases, and (unless the study's ``save_models`` is
    ``none``) the checkpoint of the pruned, retrained model.
    """
    start = time.perf_counter()
    run = _Retraining(trial, out, on_epoch, on_batch)
    histogram_before = weight_histograms(run.model)
    point = trial.spec.pruning
    method = "threshold" if point.criterion == "threshold" else point.schedule
    status = getattr(run, method)()
    return run.result(trial, out, status, histogram_before, time.perf_counter() - start)


def stack_key(trial: Trial) -> str | None:
    """Children with equal keys retrain together (:func:`run_pruning_stack`): those of one
    base and one target that prune once (one-shot or threshold), with the same retraining
    epochs, when their study batches children and the model has no dropout; None for the
    others. One stack per target keeps stacks small enough to finish (and be stored) in
    minutes: a stopped run loses at most the stacks in progress."""
    point = getattr(trial.spec, "pruning", None)
    if point is None or not trial.batched or trial.spec.model.dropout > 0:
        return None
    if point.criterion != "threshold" and point.schedule != "one_shot":
        return None
    return f"{trial.parent}/{point.target}/retrain{point.retrain_epochs}"


def run_pruning_stack(
    trials: list[Trial],
    out: str | Path,
    *,
    on_epoch=None,
    on_batch: BatchCallback | None = None,
) -> list[TrialResult]:
    """Prune a copy of the base for each of ``trials`` (equal :func:`stack_key`) and retrain
    them together as one :class:`~sparsernn.nn.ClassifierStack`.

    Each member is pruned as :func:`run_pruning_trial` prunes it and retrains as it would
    alone (:func:`~sparsernn.train.fit_pack`: its own gradient, clipping and divergence),
    to float rounding; ``on_epoch(index, row)`` gets member ``index``'s rows. Its rows'
    ``seconds`` and its ``train_seconds`` are the stack's; its ``seconds`` and
    ``total_seconds`` are the stack's time divided among its members.
    """
    start = time.perf_counter()
    base = load_checkpoint(Path(out) / parent_checkpoint(trials[0]))
    histogram_before = weight_histograms(base.model)
    runs = [_Retraining(trial, out, None, None, base=base) for trial in trials]
    for run in runs:
        run.prune_once()
    sparsities = [prune.sparsity(run.model, run.targets)["overall"] for run in runs]  # fixed while retraining

    def record(index: int, row: dict) -> None:
        row["actual_sparsity"] = sparsities[index]
        if on_epoch is not None:
            on_epoch(index, row)

    first, stack = runs[0], ClassifierStack([run.model for run in runs])
    training = first.spec.training.model_copy(update={"epochs": first.spec.pruning.retrain_epochs})
    results = fit_pack(stack, first.train, first.test, training, seed=derive_seed(first.spec.seed, "order", "retrain"),
                       validation=first.validation, phase="retrain", on_epoch=record, on_batch=on_batch,
                       task=first.task)
    seconds = (time.perf_counter() - start) / len(trials)
    out_results = []
    for g, (trial, run, result) in enumerate(zip(trials, runs, results)):
        run.model, run.epochs = stack.member(g), result.epochs
        out_results.append(run.result(trial, out, result.status, histogram_before, seconds))
    return out_results


def _initial_state(spec: PruningSpec, io: dict) -> dict[str, torch.Tensor]:
    """The base model's weights before training, rebuilt from the same derived seed."""
    with torch.random.fork_rng(devices=[]):
        return initial_model(spec, io).state_dict()


def _validate(study: StudyConfig) -> None:
    check_trials(len(study.cells) * len(study.seeds) * (1 + len(_points(study.section))))
    for target in study.section.targets:
        parts = target.split("+")
        if "hr" in parts:
            raise ValueError(f"pruning target {target!r}: the classifier's layers have no 'hr' "
                             "(LSTM projection) weights")
        if "ho" in parts and not study.model.readout_mask:
            raise ValueError(f"pruning target {target!r}: 'ho' needs model.readout_mask: true")


def describe(trial: Trial) -> str:
    """E.g. ``lstm seed=0 magnitude both global 0.5``."""
    point = trial.spec.pruning
    level = point.threshold if point.criterion == "threshold" else point.amount
    parts = [point.criterion, point.target, point.scope, point.schedule, level]
    return f"{trial.spec.cell} seed={trial.seed} " + " ".join(
        str(p) for p in parts if p is not None and p != "one_shot")


def _columns(config: dict) -> dict:
    return {"target": config.get("target"), "target_sparsity": config.get("sparsity")}


KIND = register(StudyKind(
    name=NAME, spec=PruningSpec, run=run_pruning_trial, expand=expand_pruning, section=PruningConfig,
    validate=_validate, inputs=lambda trial: (parent_checkpoint(trial),), describe=describe, columns=_columns,
    pack_key=stack_key, run_pack=run_pruning_stack,
    swept=("seed", "cell", "target", "sparsity", "pruning.criterion", "pruning.target", "pruning.scope",
           "pruning.schedule", "pruning.amount", "pruning.threshold", "pruning.iterative", "pruning.gradual"),
    summary=lazy("sparsernn.analysis.pruning:summary_tables"),
    markdown_summary=lazy("sparsernn.analysis.pruning:markdown_tables"),
))
