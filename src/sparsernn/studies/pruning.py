"""Pruning studies: train a dense base per (cell, seed), then prune copies and retrain.

Every (criterion, target, scope, schedule, amount) of the sweep is one trial whose
``parent`` is the dense base trial; it starts from the base's checkpoint, prunes, and
retrains with the masks fixed (``phase="retrain"``; epoch 0 is the accuracy right after
pruning). Schedules:

``one_shot``
    Prune ``amount`` of the targeted weights at once, then retrain.
``iterative``
    Rounds that each remove ``per_round`` of what remains
    (:func:`~sparsernn.prune.iterative_sparsities`), training ``epochs_per_round``
    epochs after each (``phase="round<k>"``), optionally rewinding the surviving weights
    to their initial values (lottery ticket); the last round lands on ``amount`` and is
    followed by the retraining phase.
``gradual``
    Prune during retraining along Zhu & Gupta's cubic schedule
    (:class:`~sparsernn.prune.GradualPruner`), reaching ``amount`` after
    ``start_epoch + prune_epochs`` epochs.
"""

from __future__ import annotations

import time
from pathlib import Path

import torch

from .. import prune
from ..checkpoint import load_checkpoint
from ..data import num_batches
from ..nn import weight_histograms
from ..seeding import derive_seed
from ..train import BatchCallback, EpochCallback, TrainingConfig, encode_splits, fit
from .config import StudyConfig
from .dense import TrialResult, expand_dense, initial_model, load_trial_data
from .trial import Trial


def expand_pruning(config: StudyConfig) -> list[Trial]:
    """The dense base trials, then one pruning trial per sweep point and base."""
    spec = config.pruning
    bases = expand_dense(config)
    children = []
    for base in bases:
        for criterion in spec.criteria:
            if criterion == "threshold":
                points = [(t, None, "one_shot", None, v) for t in spec.targets for v in spec.thresholds]
            else:
                points = [(t, sc, sch, a, None) for t in spec.targets for sc in spec.scopes
                          for sch in spec.schedules for a in spec.amounts]
            for target, scope, schedule, amount, threshold in points:
                pruning = {"criterion": criterion, "target": target, "scope": scope, "schedule": schedule,
                           "amount": amount, "threshold": threshold, "retrain_epochs": spec.retrain_epochs}
                if schedule != "one_shot":
                    pruning[schedule] = getattr(spec, schedule).model_dump(mode="json")
                children.append(Trial(
                    study=config.name, kind="pruning", parent=base.id,
                    config={**base.config, "target": target, "sparsity": amount, "pruning": pruning},
                ))
    return bases + children


def _targets(target: str) -> tuple[str, ...]:
    return tuple(target.split("+"))


def parent_checkpoint(trial: Trial, out: str | Path) -> Path:
    """Where the dense base of ``trial`` left its trained model."""
    return Path(out) / "checkpoints" / f"{trial.parent}.pt"


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
    retraining, |w| histograms of the base and of the retrained model, and the wall
    time of the pruning and training phases.
    """
    start = time.perf_counter()
    spec, seed = trial.config["pruning"], trial.seed
    targets = _targets(spec["target"])
    model, vocab, _ = load_checkpoint(parent_checkpoint(trial, out))
    splits = load_trial_data(trial)  # the base's data: same data config, same seed
    train, test, validation = encode_splits(vocab, splits)
    training = TrainingConfig(**trial.config["training"])
    histogram_before = weight_histograms(model)
    prune_seconds = 0.0
    epochs: list[dict] = []

    def record(row: dict) -> None:
        row["actual_sparsity"] = prune.sparsity(model, targets)["overall"]
        if on_epoch is not None:
            on_epoch(row)

    def train_phase(phase: str, n_epochs: int, after_step=None):
        result = fit(model, train, test, training.model_copy(update={"epochs": n_epochs}),
                     seed=derive_seed(seed, "order", phase), validation=validation, phase=phase,
                     after_step=after_step, on_epoch=record, on_batch=on_batch)
        epochs.extend(result.epochs)
        return result.status

    def prune_to(sparsity: float, round_: int) -> None:
        nonlocal prune_seconds
        t = time.perf_counter()
        prune.prune_to_sparsity(model, sparsity, criterion=spec["criterion"], targets=targets,
                                scope=spec["scope"], seed=derive_seed(seed, "prune", round_))
        prune_seconds += time.perf_counter() - t

    status = "done"
    if spec["criterion"] == "threshold":
        t = time.perf_counter()
        prune.threshold(model, spec["threshold"], targets=targets)
        prune_seconds += time.perf_counter() - t
        status = train_phase("retrain", spec["retrain_epochs"])
    elif spec["schedule"] == "one_shot":
        prune_to(spec["amount"], 1)
        status = train_phase("retrain", spec["retrain_epochs"])
    elif spec["schedule"] == "iterative":
        it = spec["iterative"]
        initial = _initial_state(trial, len(vocab)) if it["rewind"] else None
        rounds = prune.iterative_sparsities(spec["amount"], it["per_round"])
        for k, sparsity in enumerate(rounds, start=1):
            prune_to(sparsity, k)
            if initial is not None:
                prune.rewind(model, initial)
            if k < len(rounds):
                status = train_phase(f"round{k}", it["epochs_per_round"])
                if status != "done":
                    break
        if status == "done":
            status = train_phase("retrain", spec["retrain_epochs"])
    else:  # gradual
        g = spec["gradual"]
        steps = num_batches(len(train), training.batch_size)
        pruner = prune.GradualPruner(
            model, final=spec["amount"], initial=g["initial"], start=g["start_epoch"] * steps + 1,
            duration=max(g["prune_epochs"] * steps - 1, 0), frequency=g["frequency"],
            criterion=spec["criterion"], targets=targets, scope=spec["scope"], seed=derive_seed(seed, "prune"),
        )
        status = train_phase("retrain", spec["retrain_epochs"], after_step=pruner.step)

    seconds = time.perf_counter() - start
    artefacts = [
        {"kind": "sparsity", "name": "final", "data": prune.sparsity(model)},
        {"kind": "histogram", "name": "before", "data": histogram_before},
        {"kind": "histogram", "name": "after", "data": weight_histograms(model)},
        {"kind": "timing", "name": "phases", "data": {
            "prune_seconds": prune_seconds,
            "train_seconds": sum(row["seconds"] for row in epochs if row["epoch"] > 0),
            "total_seconds": seconds}},
    ]
    return TrialResult(status, epochs, artefacts, seconds=seconds)


def _initial_state(trial: Trial, vocab_size: int) -> dict[str, torch.Tensor]:
    """The base model's weights before training, rebuilt from the same derived seed."""
    with torch.random.fork_rng(devices=[]):
        return initial_model(trial, vocab_size).state_dict()
