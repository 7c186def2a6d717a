"""Training and evaluation of sequence classifiers.

:func:`fit` trains a model for a number of epochs and returns one row of metrics per
epoch; epoch 0 is the model as it came in, evaluated before any update (for a pruned
model: the accuracy right after pruning). It is deterministic on CPU: the data order
comes from a :class:`torch.Generator` seeded by the caller, and nothing here touches
torch's global random state (dropout draws from it, so callers seed it once, as
:func:`sparsernn.studies.kinds.dense.run_dense_trial` does).

A run *diverges* when a batch's training loss is NaN or infinite, or explodes: exceeds
``DIVERGENCE_FACTOR`` (10^4) times the run's reference loss, the training loss of the
model as it came in (epoch 0's ``train_loss``, over the whole training set), or ln 2 if
that is smaller or not finite (:func:`divergence_limit`). ln 2 is the loss of a uniform
guess between two classes, so a model that came in nearly perfect (a base about to be
retrained) is not judged by its tiny loss; a cross-entropy above 10^4 ln 2 ~ 6,900
means logits tens of thousands apart, which no sane run reaches. Divergence stops the
run with status ``"diverged"`` instead of raising (the batch's step is not taken); the
epochs finished until then are kept.

:func:`fit_pack` trains the members of a :class:`~sparsernn.nn.GraphRNNPack` or
:class:`~sparsernn.nn.GraphRNNStack` (many small GraphRNNs computed as one network) or of a
:class:`~sparsernn.nn.ClassifierStack` (pruned children of one base) as :func:`fit` would
train each alone with the same seed and config, with clipping and divergence handled
member by member.

Devices: with ``config.device`` set (:mod:`sparsernn.devices`) :func:`fit`,
:func:`fit_pack` and :func:`evaluate` first move the model there (``model.to``: masks
are buffers and follow); without it the model trains where it is. The data always goes
to the device of the model's first parameter (inputs and labels, once per split;
lengths stay on the CPU, where ``pack_padded_sequence`` wants them), and the data order
is drawn on the CPU, so a device changes the numbers only by float rounding (and, with
dropout, by the device's own random stream for the dropout masks). On the CPU nothing
is moved: results are bit-identical with or without ``device="cpu"``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

import torch
from pydantic import BaseModel, ConfigDict, Field, field_validator
from torch import nn

from .data import DatasetSplits, LabelledStrings, Vocabulary, iterate_batches, num_batches
from .devices import DEVICE_NAMES, check_device_name, resolve_device
from .errors import InputError
from .nn import ClassifierStack, GraphRNNPack, GraphRNNStack, ParameterCount, count_parameters
from .tasks import TASKS, Score, Task, encode_examples

MAX_EPOCHS = 100_000
"""Most epochs a training config (or a study's other epoch counts) may ask for."""
MAX_BATCH_SIZE = 10_000_000
"""Largest batch, training or evaluation, in strings (as many as a built-in dataset may have)."""
DIVERGENCE_FACTOR = 1e4
"""A batch loss above this multiple of the run's reference loss is divergence (see :func:`divergence_limit`)."""
_CHANCE_LOSS = math.log(2)  # the cross-entropy of a uniform guess between two classes


def divergence_limit(initial_loss: float) -> float:
    """The batch loss above which a run counts as diverged, from its ``initial_loss``
    (the training loss of the model as it came in, epoch 0's ``train_loss``).

    ``DIVERGENCE_FACTOR * max(initial_loss, ln 2)``, with ln 2 in place of a
    non-finite ``initial_loss``.

    Examples
    --------
    >>> divergence_limit(3.0), round(divergence_limit(1e-5), 1), round(divergence_limit(float("nan")), 1)
    (30000.0, 6931.5, 6931.5)
    """
    reference = initial_loss if math.isfinite(initial_loss) and initial_loss > _CHANCE_LOSS else _CHANCE_LOSS
    return DIVERGENCE_FACTOR * reference


class TrainingConfig(BaseModel):
    """How to train: optimiser, learning rate, batch size, epochs, clipping, device.

    The defaults are the reference protocol: Adam, learning rate 1e-3, batch size 32,
    gradient norm clipped at 5. Numbers must be finite; ``epochs`` is at most
    ``MAX_EPOCHS`` (100,000) and the batch sizes at most ``MAX_BATCH_SIZE`` (10,000,000).

    ``device`` says where to train, not what is trained: it is left out of
    :meth:`model_dump` (``exclude=True``), so a trial's JSON, its id and the configs stored
    with results are the same on every device. A dump leaves it out
    (:meth:`~sparsernn.studies.StudyConfig.to_dict` puts it back for a study).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    epochs: int = Field(10, ge=0, le=MAX_EPOCHS, description="Passes over the training set, at most 100,000.")
    batch_size: int = Field(32, gt=0, le=MAX_BATCH_SIZE, description="Strings per step, at most 10,000,000.")
    optimizer: Literal["adam", "sgd"] = "adam"
    lr: float = Field(1e-3, gt=0, description="Learning rate.")
    momentum: float = Field(0.0, ge=0, description="SGD momentum (ignored by Adam).")
    weight_decay: float = Field(0.0, ge=0)
    clip: float | None = Field(5.0, gt=0, description="Max gradient norm; null disables clipping.")
    eval_batch_size: int = Field(1024, gt=0, le=MAX_BATCH_SIZE, description="Strings per evaluation batch, "
                                                                             "at most 10,000,000.")
    device: str | None = Field(None, exclude=True, description=f"Where to train: {DEVICE_NAMES}; null: where "
                               "the model is (the CPU). Not part of a trial's identity.")

    @field_validator("device")
    @classmethod
    def _device(cls, device: str | None) -> str | None:
        return check_device_name(device)


class Split(NamedTuple):
    """One encoded split: padded inputs ``(N, T)`` (or ``(N, T, C)`` real vectors), lengths
    ``(N,)`` and targets ``labels``: ``(N,)`` class labels or per-step targets
    (:func:`sparsernn.tasks.encode_examples`)."""

    inputs: torch.Tensor
    lengths: torch.Tensor
    labels: torch.Tensor

    def __len__(self) -> int:
        return len(self.labels)


def encode_split(vocab: Vocabulary | None, data: LabelledStrings, *, task: str = "classify",
                 classes: tuple[str, ...] = ()) -> Split:
    """Encode one split (labelled strings with ``vocab``; real vectors with ``vocab`` None; per-step
    targets against ``classes``) into a :class:`Split` (:func:`sparsernn.tasks.encode_examples`)."""
    return Split(*encode_examples(vocab, data, task=task, classes=classes))


def encode_splits(vocab: Vocabulary | None, splits: DatasetSplits) -> tuple[Split, Split, Split | None]:
    """Encode a dataset's train, test and (optional) validation splits with ``vocab`` (None for
    real-valued inputs), as its task wants them."""
    encode = lambda data: encode_split(vocab, data, task=splits.task, classes=splits.classes)  # noqa: E731
    validation = None if splits.validation is None else encode(splits.validation)
    return encode(splits.train), encode(splits.test), validation


def model_device(model: nn.Module) -> torch.device:
    """The device of ``model``'s first parameter (or buffer); the CPU for a model with neither."""
    for tensor in (*model.parameters(), *model.buffers()):
        return tensor.device
    return torch.device("cpu")


def _place(model: nn.Module, device: str | None, *splits: Split | None) -> list[Split | None]:
    """Move ``model`` to ``device`` (if given), then ``splits`` to the model's device;
    lengths stay on the CPU. Nothing is copied for data already there."""
    where = resolve_device(device)
    if where is not None:
        model.to(where)
    where = model_device(model)
    return [None if s is None else Split(s.inputs.to(where), s.lengths, s.labels.to(where)) for s in splits]


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
def evaluate(model: nn.Module, split: Split, *, batch_size: int = 1024, device: str | None = None,
             task: Task | None = None) -> tuple[float, float]:
    """Mean loss and accuracy of ``model`` on ``split`` under ``task`` (default: classification,
    cross-entropy), computed on the model's device (moved to ``device`` first, if given; see
    the module docstring)."""
    return score(model, split, batch_size=batch_size, device=device, task=task).metrics()


@torch.no_grad()
def score(model: nn.Module, split: Split, *, batch_size: int = 1024, device: str | None = None,
          task: Task | None = None) -> Score:
    """The :class:`~sparsernn.tasks.Score` of ``model`` on ``split`` (see :func:`evaluate`)."""
    task = task or TASKS["classify"]
    (split,) = _place(model, device, split)
    was_training = model.training
    model.eval()
    total = Score()
    for batch in iterate_batches(*split, batch_size):
        total.add(task.score(model(batch.inputs, batch.lengths), batch.labels, batch.lengths))
    model.train(was_training)
    return total


def _epoch_row(phase: str, epoch: int, train: tuple, test: tuple, validation: tuple, count: ParameterCount,
               seconds: float, extra: dict | None = None) -> dict:
    """One metrics row of :func:`fit` and :func:`fit_pack`; ``train``, ``test``, ``validation`` are
    ``(loss, accuracy)`` pairs (``(None, None)`` without a validation split); ``extra`` adds a
    task's further accuracies (``test_long_range_acc``, ...)."""
    return dict(
        phase=phase, epoch=epoch, train_loss=train[0], train_acc=train[1],
        test_loss=test[0], test_acc=test[1], val_loss=validation[0], val_acc=validation[1],
        nonzero_params=count.nonzero, total_params=count.total, seconds=seconds, **(extra or {}),
    )


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
    task: Task | None = None,
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
        Defaults to the one ``config`` names, fresh (built after the model has moved to
        ``config.device``).
    after_step : callable, optional
        Called after every optimiser step (a pruning schedule hooks in here).
    on_epoch, on_batch : callable, optional
        Progress callbacks; ``on_epoch`` receives each metrics row as it is made.
    task : Task, optional
        What the model is trained for and scored on (:mod:`sparsernn.tasks`); default
        classification, one label per sequence.

    Returns
    -------
    TrainResult
        ``epochs`` holds one row per epoch, ``0..config.epochs``, with keys ``phase,
        epoch, train_loss, train_acc, test_loss, test_acc, val_loss, val_acc,
        nonzero_params, total_params, seconds`` (and the task's further accuracies, e.g.
        ``test_long_range_acc``). Epoch 0 evaluates the model as given;
        for later epochs ``train_loss``/``train_acc`` are averages over the epoch's
        batches, taken while training. ``status`` is ``"diverged"``, and the rows stop
        at the last finished epoch, if a batch's loss is non-finite or above
        ``divergence_limit(epoch 0's train_loss)`` (see the module docstring).
    """
    task = task or TASKS["classify"]
    train, test, validation = _place(model, config.device, train, test, validation)
    optimizer = optimizer or make_optimizer(model, config)
    generator = torch.Generator().manual_seed(int(seed))
    result = TrainResult(status="done")

    def record(epoch: int, train_loss: float, train_acc: float, seconds: float) -> None:
        test_score = score(model, test, batch_size=config.eval_batch_size, task=task)
        val_metrics, extra = (None, None), test_score.extras("test")
        if validation is not None:
            val_score = score(model, validation, batch_size=config.eval_batch_size, task=task)
            val_metrics, extra = val_score.metrics(), {**extra, **val_score.extras("val")}
        row = _epoch_row(phase, epoch, (train_loss, train_acc), test_score.metrics(), val_metrics,
                         count_parameters(model), seconds, extra)
        result.epochs.append(row)
        if on_epoch is not None:
            on_epoch(row)

    start = time.perf_counter()
    train_loss, train_acc = evaluate(model, train, batch_size=config.eval_batch_size, task=task)
    record(0, train_loss, train_acc, time.perf_counter() - start)

    limit = divergence_limit(train_loss)
    n_batches = num_batches(len(train), config.batch_size)
    for epoch in range(1, config.epochs + 1):
        start = time.perf_counter()
        batches = iterate_batches(*train, config.batch_size, shuffle=True, generator=generator)
        metrics = _train_epoch(model, batches, optimizer, config.clip, limit=limit, after_step=after_step,
                               on_batch=on_batch, epoch=epoch, n_batches=n_batches, task=task)
        if metrics is None:
            result.status = "diverged"
            return result
        record(epoch, *metrics, time.perf_counter() - start)
    return result


def _train_epoch(model: nn.Module, batches, optimizer: torch.optim.Optimizer, clip: float | None, *,
                 limit: float, after_step: Callable[[], None] | None, on_batch: BatchCallback | None, epoch: int,
                 n_batches: int, task: Task) -> tuple[float, float] | None:
    """Epoch ``epoch`` of :func:`fit` over ``batches``: ``(mean loss, accuracy)`` taken while
    training, or None as soon as a loss is non-finite or above ``limit`` (the run diverged)."""
    model.train()
    loss_sum, loss_count, correct, seen = 0.0, 0, 0, 0
    for i, batch in enumerate(batches, start=1):
        logits = model(batch.inputs, batch.lengths)  # (B, C) or (B, T, C)
        loss = task.loss(logits, batch.labels, batch.lengths)
        if not torch.isfinite(loss) or loss.item() > limit:
            return None
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if clip is not None:
            nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimizer.step()
        if after_step is not None:
            after_step()
        if task.per_step:
            batch_score = task.score(logits.detach(), batch.labels, batch.lengths)
            loss_sum += loss.item() * batch_score.loss_count
            loss_count += batch_score.loss_count
            correct += batch_score.correct
            seen += batch_score.count
        else:  # classification, as it always was (bit for bit)
            loss_sum += loss.item() * len(batch.labels)
            loss_count += len(batch.labels)
            correct += (logits.argmax(dim=1) == batch.labels).sum().item()
            seen += len(batch.labels)
        if on_batch is not None:
            on_batch(epoch, i, n_batches)
    train_loss = loss_sum / max(loss_count, 1)
    if not math.isfinite(train_loss):
        return None
    return train_loss, correct / max(seen, 1)


# ---------------------------------------------------------------------------------------
# Many GraphRNNs at once


@torch.no_grad()
def _evaluate_pack(pack: GraphRNNPack, split: Split, members: list[int], *, batch_size: int,
                   task: Task) -> dict[int, Score]:
    """The :class:`~sparsernn.tasks.Score` of each listed member (:func:`score`), computed by
    the pack in one pass.

    A member whose loss comes out non-finite is evaluated again on its own: the
    non-finite values of one member turn the others' into NaN through the pack's zero
    entries, and only the member alone tells whose they were.
    """
    was_training = pack.training
    pack.eval()
    totals = [Score() for _ in range(pack.num_members)]
    for batch in iterate_batches(*split, batch_size):
        logits = pack(batch.inputs, batch.lengths)  # (B, G, C) or (B, T, G, C)
        for total, member in zip(totals, task.member_scores(logits, batch.labels, batch.lengths)):
            total.add(member)
    pack.train(was_training)
    scores = {g: totals[g] for g in members}
    for g in members:
        if not math.isfinite(scores[g].metrics()[0]):
            scores[g] = score(pack.member(g), split, batch_size=batch_size, task=task)
    return scores


class _PackTrainer:
    """Optimiser steps of a :class:`GraphRNNPack` with :func:`fit`'s rules applied member by member.

    Each step sums the live members' mean losses (so each member's gradient is its own),
    clips each member's gradient by its own norm, and retires members that turn
    non-finite: their entries (parameters, gradients, optimiser state) are set to zero
    and stay zero, so they compute finite zeros and get zero gradients ever after.
    """

    def __init__(self, pack: GraphRNNPack, optimizer: torch.optim.Optimizer, clip: float | None,
                 task: Task) -> None:
        self.pack, self.optimizer, self.clip, self.task = pack, optimizer, clip, task
        G = pack.num_members
        self.alive = torch.ones(G, dtype=torch.bool)
        # (parameter, flat owner index with "no member" mapped to bin G)
        self.params = [
            (p, torch.where(pack.owners[name] < 0, G, pack.owners[name]).flatten().to(p.device))
            for name, p in pack.named_parameters()
        ]

    def _member_losses(self, batch) -> tuple[torch.Tensor, torch.Tensor]:
        logits = self.pack(batch.inputs, batch.lengths)  # (B, G, C) or (B, T, G, C)
        return self.task.member_losses(logits, batch.labels, batch.lengths), logits  # (G,), logits

    def _squared_norms(self) -> torch.Tensor:
        """Σ grad² over each member's entries (G + 1,), float64; bin G sums the unowned entries."""
        G = self.pack.num_members
        sq = torch.zeros(G + 1, dtype=torch.float64, device=self.params[0][0].device)
        for p, index in self.params:
            if p.grad is not None:
                sq.index_add_(0, index, p.grad.flatten().double().square())
        return sq.cpu()

    @torch.no_grad()
    def _scale_gradients(self, sq: torch.Tensor) -> None:
        """Per member what ``clip_grad_norm_`` does to one model; retired members' gradients to 0."""
        G = self.pack.num_members
        coef = torch.ones(G + 1)
        if self.clip is not None:
            coef[:G] = (self.clip / (sq[:G].sqrt().float() + 1e-6)).clamp(max=1.0)
        coef[:G][~self.alive] = 0.0
        unowned_bad = not math.isfinite(sq[G])  # NaN can reach masked-out entries; never let it into a weight
        if bool((coef == 1.0).all()) and not unowned_bad:
            return
        for p, index in self.params:
            if p.grad is None:
                continue
            if unowned_bad:
                p.grad.masked_fill_((index == G).view_as(p.grad), 0.0)
            p.grad.mul_(coef.to(p.grad)[index].view_as(p.grad))

    def _isolate(self, suspects: list[int], batch) -> list[int]:
        """The suspects whose loss or gradient is non-finite on their own (each unpacked, forward and backward)."""
        culprits = []
        for g in suspects:
            model = self.pack.member(g)
            loss = self.task.loss(model(batch.inputs, batch.lengths), batch.labels, batch.lengths)
            finite = bool(torch.isfinite(loss))
            if finite:
                loss.backward()
                finite = all(bool(torch.isfinite(p.grad).all()) for p in model.parameters() if p.grad is not None)
            if not finite:
                culprits.append(g)
        return culprits

    @torch.no_grad()
    def retire(self, members: list[int]) -> None:
        """Zero the members' parameters, gradients and optimiser state and keep them out of the loss."""
        members = [g for g in members if self.alive[g]]
        if not members:
            return
        self.alive[members] = False
        chosen = torch.tensor(members)
        for p, index in self.params:
            mask = torch.isin(index, chosen.to(index.device)).view_as(p)
            p.masked_fill_(mask, 0.0)
            if p.grad is not None:
                p.grad.masked_fill_(mask, 0.0)
            for value in self.optimizer.state.get(p, {}).values():
                if torch.is_tensor(value) and value.shape == p.shape:
                    value.masked_fill_(mask, 0)

    def step(self, batch) -> tuple[torch.Tensor, torch.Tensor, list[int]]:
        """One optimiser step on ``batch``: ``(member losses (G,), logits (B, [T,] G, C), members retired now)``.

        When a live member's loss or gradient is non-finite, the suspects are checked
        one by one (:meth:`_isolate`); the culprits -- every suspect if none is found --
        are retired and the step is redone for the rest. Losses and logits of retired
        members are meaningless.
        """
        retired: list[int] = []
        while True:
            losses, logits = self._member_losses(batch)
            alive = self.alive.to(losses.device)
            suspects = self.alive & ~torch.isfinite(losses.detach()).cpu()
            if not suspects.any():
                self.optimizer.zero_grad(set_to_none=True)
                losses[alive].sum().backward()
                sq = self._squared_norms()
                suspects = self.alive & ~torch.isfinite(sq[:-1])
                if not suspects.any():
                    self._scale_gradients(sq)
                    self.optimizer.step()
                    return losses.detach(), logits.detach(), retired
            suspects = suspects.nonzero().flatten().tolist()
            culprits = self._isolate(suspects, batch) or suspects
            self.retire(culprits)
            retired += culprits
            if not self.alive.any():
                self.optimizer.zero_grad(set_to_none=True)
                return losses.detach(), logits.detach(), retired


def fit_pack(
    pack: GraphRNNPack,
    train: Split,
    test: Split,
    config: TrainingConfig,
    *,
    seed: int,
    validation: Split | None = None,
    phase: str = "train",
    on_epoch: Callable[[int, dict], None] | None = None,
    on_batch: BatchCallback | None = None,
    task: Task | None = None,
) -> list[TrainResult]:
    """Train every member of ``pack`` as :func:`fit` would train it alone, all in one network.

    The data order is drawn once (from ``seed``) for all members; each step minimises
    :math:`\\sum_g \\bar\\ell_g` over the live members, where :math:`\\bar\\ell_g` is member
    ``g``'s mean cross-entropy, so member ``g``'s gradient is exactly its own. Then, per
    member ``g`` with gradient entries :math:`\\gamma_g` (its entries of the pack's
    parameters, :attr:`GraphRNNPack.owners`), as ``clip_grad_norm_`` does for one model:

    .. math:: \\gamma_g \\leftarrow \\gamma_g \\cdot \\min\\Bigl(1, \\frac{\\text{clip}}{\\lVert\\gamma_g\\rVert_2 + 10^{-6}}\\Bigr)

    and one step of the optimiser from :func:`make_optimizer` over the pack (Adam and SGD
    act entry by entry, so this is every member's own optimiser).

    A member *diverges* at the first step where its own loss or gradient is non-finite:
    its result gets status ``"diverged"`` and keeps the epochs recorded so far, its
    parameters and optimiser state are set to zero and stay zero, and the step is redone
    for the others (a non-finite member would spoil them through the pack's zero
    entries, so suspects are first checked one by one, unpacked; if none is non-finite
    on its own, all suspects diverge). :func:`fit` notices a non-finite loss only, so a
    member whose gradient alone turns non-finite diverges here one step earlier; the
    rows agree unless that step ends an epoch. A member whose finite loss explodes
    (above its own :func:`divergence_limit`, from its epoch-0 training loss) diverges at
    that step as in :func:`fit`, with the same rows.

    Parameters
    ----------
    pack : GraphRNNPack, GraphRNNStack or ClassifierStack
        Trained in place (on ``config.device``, if set); its ``owners`` say which
        member each parameter entry belongs to.
    train, test, config, seed, validation, phase, task
        As in :func:`fit`.
    on_epoch : callable, optional
        ``on_epoch(member, row)`` for every row as it is made.
    on_batch : callable, optional
        ``on_batch(epoch, batches done, batches in epoch)`` after every step.

    Returns
    -------
    list of TrainResult
        One per member, in member order, whose rows have :func:`fit`'s keys and meaning:
        ``nonzero_params``/``total_params`` count that member alone (as
        ``count_parameters`` of its unpacked GraphRNN), ``seconds`` is the pack's time.
    """  # noqa: E501  (the clipping formula, one line of math)
    if not isinstance(pack, (GraphRNNPack, GraphRNNStack, ClassifierStack)):
        raise InputError(f"fit_pack needs a GraphRNNPack, a GraphRNNStack or a ClassifierStack; "
                         f"got {type(pack).__name__}.")
    task = task or TASKS["classify"]
    train, test, validation = _place(pack, config.device, train, test, validation)
    trainer = _PackTrainer(pack, make_optimizer(pack, config), config.clip, task)
    generator = torch.Generator().manual_seed(int(seed))
    results = [TrainResult(status="done") for _ in range(pack.num_members)]

    def record(epoch: int, train_metrics: dict[int, tuple[float, float]], seconds: float) -> None:
        members = _live(results)
        tests = _evaluate_pack(pack, test, members, batch_size=config.eval_batch_size, task=task)
        vals = {}
        if validation is not None:
            vals = _evaluate_pack(pack, validation, members, batch_size=config.eval_batch_size, task=task)
        counts = pack.parameter_counts()
        for g in members:
            val_metrics, extra = (None, None), tests[g].extras("test")
            if validation is not None:
                val_metrics, extra = vals[g].metrics(), {**extra, **vals[g].extras("val")}
            row = _epoch_row(phase, epoch, train_metrics[g], tests[g].metrics(), val_metrics, counts[g], seconds,
                             extra)
            results[g].epochs.append(row)
            if on_epoch is not None:
                on_epoch(g, row)

    start = time.perf_counter()
    scores = _evaluate_pack(pack, train, _live(results), batch_size=config.eval_batch_size, task=task)
    train_metrics = {g: value.metrics() for g, value in scores.items()}
    record(0, train_metrics, time.perf_counter() - start)

    limits = [divergence_limit(train_metrics[g][0]) for g in range(pack.num_members)]
    n_batches = num_batches(len(train), config.batch_size)
    for epoch in range(1, config.epochs + 1):
        start = time.perf_counter()
        batches = iterate_batches(*train, config.batch_size, shuffle=True, generator=generator)
        train_metrics = _train_pack_epoch(trainer, results, batches, limits=limits, on_batch=on_batch, epoch=epoch,
                                          n_batches=n_batches)
        if not _live(results):
            return results
        record(epoch, train_metrics, time.perf_counter() - start)
    return results


def _live(results: list[TrainResult]) -> list[int]:
    """The members of :func:`fit_pack` that have not diverged."""
    return [g for g, result in enumerate(results) if result.status == "done"]


def _diverge(trainer: _PackTrainer, results: list[TrainResult], members: list[int]) -> None:
    """Mark ``members`` diverged and retire them from ``trainer``."""
    for g in members:
        results[g].status = "diverged"
    trainer.retire(members)


def _train_pack_epoch(trainer: _PackTrainer, results: list[TrainResult], batches, *, limits: list[float],
                      on_batch: BatchCallback | None, epoch: int, n_batches: int) -> dict[int, tuple[float, float]]:
    """Epoch ``epoch`` of :func:`fit_pack` over ``batches``: each live member's ``(mean loss, accuracy)``.

    Members that diverge on the way (non-finite, or a loss above their entry of
    ``limits``) are marked diverged in ``results`` and retired (an empty dict if none is
    left).
    """
    G = len(results)
    task = trainer.task
    trainer.pack.train()
    loss_sums, correct, loss_count, seen = [0.0] * G, [0] * G, 0, 0
    for i, batch in enumerate(batches, start=1):
        losses, logits, retired = trainer.step(batch)
        values = losses.tolist()
        exploded = [g for g in _live(results) if g not in retired and values[g] > limits[g]]
        _diverge(trainer, results, retired + exploded)
        live = _live(results)
        if not live:
            return {}
        if task.per_step:
            scores = task.member_scores(logits, batch.labels, batch.lengths)
            hits, n_loss, n_seen = [s.correct for s in scores], scores[0].loss_count, scores[0].count
        else:  # classification, as it always was (bit for bit)
            hits = (logits.argmax(dim=2) == batch.labels[:, None]).sum(0).tolist()  # (G,)
            n_loss = n_seen = len(batch.labels)
        for g in live:
            loss_sums[g] += values[g] * n_loss
            correct[g] += hits[g]
        loss_count += n_loss
        seen += n_seen
        if on_batch is not None:
            on_batch(epoch, i, n_batches)
    _diverge(trainer, results, [g for g in _live(results) if not math.isfinite(loss_sums[g] / max(loss_count, 1))])
    return {g: (loss_sums[g] / max(loss_count, 1), correct[g] / max(seen, 1)) for g in _live(results)}
