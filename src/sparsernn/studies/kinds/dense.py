"""Dense studies: train each cell with each seed, no pruning.

Also the trials every pruning study starts from: a pruning study's bases are dense
trials, and :class:`ClassifierSpec`, :func:`initial_model` serve both kinds.
"""

from __future__ import annotations

import time
from pathlib import Path

import torch

from ...nn import SequenceClassifier
from ...registry import StudyKind, register
from ...seeding import derive_seed
from ...train import BatchCallback, EpochCallback, TrainingConfig, fit
from ..config import DataConfig, ModelConfig, StudyConfig
from ..trial import Trial, TrialResult, TrialSpec, prepare_data, save_trial_model

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


def build_model(cell: str, io: dict, model: ModelConfig) -> SequenceClassifier:
    """The classifier a trial trains, from its model settings; ``io`` fits its input and
    output to the data (:func:`sparsernn.tasks.model_io`: ``vocab_size`` or
    ``input_features``, ``num_classes``, ``per_step``)."""
    return SequenceClassifier(
        cell, hidden_sizes=tuple(model.hidden_sizes), embedding_dim=model.embedding_dim, dropout=model.dropout,
        readout_mask=model.readout_mask, **io,
    )


def initial_model(spec: ClassifierSpec, io: dict) -> SequenceClassifier:
    """The trial's model before training, initialised from the trial's derived init seed.

    Seeds torch's global random state (initialisation and dropout draw from it).
    """
    torch.manual_seed(derive_seed(spec.seed, "init"))
    return build_model(spec.cell, io, spec.model)


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
    data = prepare_data(spec)
    model = initial_model(spec, data.io)
    result = fit(
        model, data.train, data.test, spec.training, seed=derive_seed(spec.seed, "order"),
        validation=data.validation, on_epoch=on_epoch, on_batch=on_batch, task=data.task,
    )
    artefacts = [{"kind": "dataset", "name": data.splits.name, "data": data.splits.summary()}]
    if result.status == "done":
        artefacts += save_trial_model(trial, out, model, data.vocab, data.splits)
    return TrialResult(result.status, result.epochs, artefacts, seconds=time.perf_counter() - start)


def _columns(config: dict) -> dict:
    return {"target": None, "target_sparsity": 0.0, "model_sparsity": 0.0}  # a dense trial prunes nothing


KIND = register(StudyKind(
    name=NAME, spec=ClassifierSpec, run=run_dense_trial, expand=expand_dense, columns=_columns,
    swept=("seed", "cell"), default=True,
))
