"""Dense studies: train each cell with each seed, no pruning."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ..checkpoint import save_checkpoint
from ..data import DatasetSplits, Vocabulary
from ..nn import SequenceClassifier
from ..seeding import derive_seed
from ..train import BatchCallback, EpochCallback, TrainingConfig, encode_splits, fit
from .config import DataConfig, ModelConfig, StudyConfig
from .trial import Trial


@dataclass
class TrialResult:
    """What running a trial produced; the driver stores it."""

    status: str
    epochs: list[dict] = field(default_factory=list)
    artefacts: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    error: str | None = None
    environment: dict | None = None  # where it ran, if not in the driver's process


def expand_dense(config: StudyConfig) -> list[Trial]:
    """One trial per (cell, seed), cells varying slowest."""
    shared = {
        "data": config.data.model_dump(mode="json"),
        "model": config.model.model_dump(mode="json"),
        "training": config.training.model_dump(mode="json"),
    }
    return [
        Trial(study=config.name, kind="dense", config={"cell": cell, "seed": seed, **shared})
        for cell in config.cells
        for seed in config.seeds
    ]


def build_model(cell: str, vocab_size: int, model: ModelConfig) -> SequenceClassifier:
    """The classifier a trial trains, from its model settings."""
    return SequenceClassifier(
        cell, vocab_size, hidden_sizes=tuple(model.hidden_sizes), num_classes=2,
        embedding_dim=model.embedding_dim, dropout=model.dropout, readout_mask=model.readout_mask,
    )


def initial_model(trial: Trial, vocab_size: int) -> SequenceClassifier:
    """The trial's model before training, initialised from the trial's derived init seed.

    Seeds torch's global random state (initialisation and dropout draw from it).
    """
    torch.manual_seed(derive_seed(trial.seed, "init"))
    return build_model(trial.config["cell"], vocab_size, ModelConfig(**trial.config["model"]))


def load_trial_data(trial: Trial) -> DatasetSplits:
    """The trial's dataset: its data config, seeded by ``data.seed`` or else the trial's seed."""
    config = DataConfig(**trial.config["data"])
    return config.load(seed=config.seed if config.seed is not None else derive_seed(trial.seed, "data"))


def run_dense_trial(
    trial: Trial,
    out: str | Path,
    *,
    on_epoch: EpochCallback | None = None,
    on_batch: BatchCallback | None = None,
) -> TrialResult:
    """Train one dense model; return its metrics and artefacts (never touches the database).

    The trial's seed is split with :func:`~sparsernn.seeding.derive_seed` into
    independent seeds for the data (unless the data config fixes one), the weight
    initialisation and the data order.
    """
    start = time.perf_counter()
    seed = trial.seed
    splits = load_trial_data(trial)
    vocab = Vocabulary.from_strings(splits.train.strings)
    train, test, validation = encode_splits(vocab, splits)

    model = initial_model(trial, len(vocab))
    result = fit(
        model, train, test, TrainingConfig(**trial.config["training"]),
        seed=derive_seed(seed, "order"), validation=validation, on_epoch=on_epoch, on_batch=on_batch,
    )
    artefacts = [{"kind": "dataset", "name": splits.name, "data": splits.summary()}]
    if result.status == "done":
        path = save_checkpoint(Path(out) / "checkpoints" / f"{trial.id}.pt", model, vocab, run_id=trial.id)
        artefacts.append({"kind": "checkpoint", "name": "final", "path": str(path.relative_to(out))})
    return TrialResult(result.status, result.epochs, artefacts, seconds=time.perf_counter() - start)
