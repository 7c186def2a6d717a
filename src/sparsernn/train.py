"""Training and evaluation of sequence classifiers.

:func:`fit` trains a model for a number of epochs and returns one row of metrics per
epoch; epoch 0 is the model as it came in, evaluated before any update (for a pruned
model: the accuracy right after pruning). It is deterministic on CPU: the data order
comes from a :class:`torch.Generator` seeded by the caller, and nothing here touches
torch's global random state (dropout draws from it, so callers seed it once, as
:func:`sparsernn.studies.dense.run_dense_trial` does).

A loss that becomes NaN or infinite stops the run with status ``"diverged"`` instead of
raising; the epochs finished until then are kept.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable, Literal, NamedTuple

import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from .data import DatasetSplits, LabelledStrings, Vocabulary, iterate_batches, num_batches
from .nn import count_parameters


class TrainingConfig(BaseModel):
    """How to train: optimiser, learning rate, batch size, epochs, clipping.

    The defaults are the reference protocol: Adam, learning rate 1e-3, batch size 32,
    gradient norm clipped at 5.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    epochs: int = Field(10, ge=0, description="Passes over the training set.")
    batch_size: int = Field(32, gt=0)
    optimizer: Literal["adam", "sgd"] = "adam"
    lr: float = Field(1e-3, gt=0, description="Learning rate.")
    momentum: float = Field(0.0, ge=0, description="SGD momentum (ignored by Adam).")
    weight_decay: float = Field(0.0, ge=0)
    clip: float | None = Field(5.0, gt=0, description="Max gradient norm; null disables clipping.")
    eval_batch_size: int = Field(1024, gt=0)


class Split(NamedTuple):
    """One encoded split: padded inputs ``(N, T)``, lengths ``(N,)`` and labels ``(N,)``."""

    inputs: torch.Tensor
    lengths: torch.Tensor
    labels: torch.Tensor

    def __len__(self) -> int:
        return len(self.labels)


def encode_split(vocab: Vocabulary, data: LabelledStrings) -> Split:
    """Encode labelled strings with ``vocab`` into a :class:`Split`."""
    inputs, lengths = vocab.encode(data.strings)
    return Split(inputs, lengths, torch.as_tensor(data.labels, dtype=torch.long))


def encode_splits(vocab: Vocabulary, splits: DatasetSplits) -> tuple[Split, Split, Split | None]:
    """Encode a dataset's train, test and (optional) validation splits with ``vocab``."""
    validation = None if splits.validation is None else encode_split(vocab, splits.validation)
    return encode_split(vocab, splits.train), encode_split(vocab, splits.test), validation


@dataclass
class TrainResult:
    """What :func:`fit` returns: ``status`` is ``"done"`` or ``"diverged"``."""

    status: str
    epochs: list[dict] = field(default_factory=list)


EpochCallback = Callable[[dict], None]
BatchCallback = Callable[[int, int, int], None]  # (epoch, batches done, batches in epoch)


def make_optimizer(model: nn.Module, config: TrainingConfig) -> torch.optim.Optimizer:
    """Build the optimiser named by ``config`` over the model's parameters."""
    if config.optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    return torch.optim.SGD(
        model.parameters(), lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay
    )


@torch.no_grad()
def evaluate(model: nn.Module, split: Split, *, batch_size: int = 1024) -> tuple[float, float]:
    """Mean cross-entropy loss and accuracy of ``model`` on ``split``."""
    was_training = model.training
    model.eval()
    total_loss, correct = 0.0, 0
    for batch in iterate_batches(*split, batch_size):
        logits = model(batch.inputs, batch.lengths)  # (B, C)
        total_loss += nn.functional.cross_entropy(logits, batch.labels, reduction="sum").item()
        correct += (logits.argmax(dim=1) == batch.labels).sum().item()
    model.train(was_training)
    n = max(len(split), 1)
    return total_loss / n, correct / n


def fit(
    model: nn.Module,
    train: Split,
    test: Split,
    config: TrainingConfig,
    *,
    seed: int,
    validation: Split | None = None,
    phase: str = "train",
    optimizer: torch.optim.Optimizer | None = None,
    after_step: Callable[[], None] | None = None,
    on_epoch: EpochCallback | None = None,
    on_batch: BatchCallback | None = None,
) -> TrainResult:
    """Train ``model`` on ``train`` for ``config.epochs`` epochs, evaluating after each.

    Parameters
    ----------
    model : nn.Module
        Maps ``(inputs, lengths)`` to logits ``(B, C)``.
    train, test : Split
        Encoded training and test data; ``validation`` is optional.
    config : TrainingConfig
    seed : int
        Seeds the shuffling of the training data (and nothing else).
    phase : str
        Label stored with every row (``"train"``, ``"retrain"``, ...).
    optimizer : torch.optim.Optimizer, optional
        Defaults to the one ``config`` names, fresh.
    after_step : callable, optional
        Called after every optimiser step (a pruning schedule hooks in here).
    on_epoch, on_batch : callable, optional
        Progress callbacks; ``on_epoch`` receives each metrics row as it is made.

    Returns
    -------
    TrainResult
        ``epochs`` holds one row per epoch, ``0..config.epochs``, with keys ``phase,
        epoch, train_loss, train_acc, test_loss, test_acc, val_loss, val_acc,
        nonzero_params, total_params, seconds``. Epoch 0 evaluates the model as given;
        for later epochs ``train_loss``/``train_acc`` are averages over the epoch's
        batches, taken while training.
    """
    optimizer = optimizer or make_optimizer(model, config)
    generator = torch.Generator().manual_seed(int(seed))
    result = TrainResult(status="done")

    def record(epoch: int, train_loss: float, train_acc: float, seconds: float) -> None:
        test_loss, test_acc = evaluate(model, test, batch_size=config.eval_batch_size)
        val_loss = val_acc = None
        if validation is not None:
            val_loss, val_acc = evaluate(model, validation, batch_size=config.eval_batch_size)
        count = count_parameters(model)
        row = dict(
            phase=phase, epoch=epoch, train_loss=train_loss, train_acc=train_acc,
            test_loss=test_loss, test_acc=test_acc, val_loss=val_loss, val_acc=val_acc,
            nonzero_params=count.nonzero, total_params=count.total, seconds=seconds,
        )
        result.epochs.append(row)
        if on_epoch is not None:
            on_epoch(row)

    start = time.perf_counter()
    train_loss, train_acc = evaluate(model, train, batch_size=config.eval_batch_size)
    record(0, train_loss, train_acc, time.perf_counter() - start)

    n_batches = num_batches(len(train), config.batch_size)
    for epoch in range(1, config.epochs + 1):
        start = time.perf_counter()
        model.train()
        loss_sum, correct, seen = 0.0, 0, 0
        batches = iterate_batches(*train, config.batch_size, shuffle=True, generator=generator)
        for i, batch in enumerate(batches, start=1):
            logits = model(batch.inputs, batch.lengths)  # (B, C)
            loss = nn.functional.cross_entropy(logits, batch.labels)
            if not torch.isfinite(loss):
                result.status = "diverged"
                return result
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if config.clip is not None:
                nn.utils.clip_grad_norm_(model.parameters(), config.clip)
            optimizer.step()
            if after_step is not None:
                after_step()
            loss_sum += loss.item() * len(batch.labels)
            correct += (logits.argmax(dim=1) == batch.labels).sum().item()
            seen += len(batch.labels)
            if on_batch is not None:
                on_batch(epoch, i, n_batches)
        train_loss = loss_sum / max(seen, 1)
        if not math.isfinite(train_loss):
            result.status = "diverged"
            return result
        record(epoch, train_loss, correct / max(seen, 1), time.perf_counter() - start)
    return result
