"""Dense studies: train each cell with each seed, no pruning.

Also the trials every pruning study starts from: a pruning study's bases are dense
trials, and :class:`ClassifierSpec`, :func:`initial_model` serve both kinds.
"""

from __future__ import annotations

import time
from pathlib import Path

import torch

from ...data import Vocabulary
from ...nn import SequenceClassifier
from ...registry import StudyKind, register
from ...seeding import derive_seed
from ...train import BatchCallback, EpochCallback, TrainingConfig, encode_splits, fit
from ..config import DataConfig, ModelConfig, StudyConfig
from ..trial import Trial, TrialResult, TrialSpec, save_trial_model, trial_data

NAME = "dense"


class ClassifierSpec(TrialSpec):
    """A :class:`~sparsernn.nn.SequenceClassifier` of ``cell`` trained on ``data``."""

    cell: str
    data: DataConfig
    model: ModelConfig
    training: TrainingConfig


def expand_dense(config: StudyConfig) -> list[Trial]:
    """One trial per (cell, seed), cells varying slowest."""
    return [
        Trial(study=config.name, kind=NAME, spec=ClassifierSpec(
            cell=cell, seed=seed, data=config.data, model=config.model, training=config.training))
        for cell in config.cells
        for seed in config.seeds
    ]


def build_model(cell: str, vocab_size: int, model: ModelConfig) -> SequenceClassifier:
    """The classifier a trial trains, from its model settings."""
    return SequenceClassifier(
        cell, vocab_size, hidden_sizes=tuple(model.hidden_sizes), num_classes=2,
        embedding_dim=model.embedding_dim, dropout=model.dropout, readout_mask=model.readout_mask,
    )


def initial_model(spec: ClassifierSpec, vocab_size: int) -> SequenceClassifier:
    """The trial's model before training, initialised from the trial's derived init seed.

    Seeds torch's global random state (initialisation and dropout draw from it).
    """
    torch.manual_seed(derive_seed(spec.seed, "init"))
    return build_model(spec.cell, vocab_size, spec.model)


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
    spec: ClassifierSpec = trial.spec
    splits = trial_data(spec)
    vocab = Vocabulary.from_strings(splits.train.strings)
    train, test, validation = encode_splits(vocab, splits)

    model = initial_model(spec, len(vocab))
    result = fit(
        model, train, test, spec.training,
        seed=derive_seed(spec.seed, "order"), validation=validation, on_epoch=on_epoch, on_batch=on_batch,
    )
    artefacts = [{"kind": "dataset", "name": splits.name, "data": splits.summary()}]
    if result.status == "done":
        artefacts += save_trial_model(trial, out, model, vocab, splits)
    return TrialResult(result.status, result.epochs, artefacts, seconds=time.perf_counter() - start)


def _columns(config: dict) -> dict:
    return {"target": None, "target_sparsity": 0.0, "model_sparsity": 0.0}  # a dense trial prunes nothing


KIND = register(StudyKind(
    name=NAME, spec=ClassifierSpec, run=run_dense_trial, expand=expand_dense, columns=_columns,
    swept=("seed", "cell"), default=True,
))
