"""Tasks: what a dataset asks of a network, and how it is trained and scored.

A dataset's :attr:`~sparsernn.data.DatasetSplits.task` names one of three tasks. Each
says how the network reads its input and output, which loss it minimises, and what
its *accuracy* means; :func:`sparsernn.train.fit` trains and evaluates every model
through one:

==================  ===========================  =====================  ==========================================
task                examples                     network output         loss; accuracy
==================  ===========================  =====================  ==========================================
``classify``        LabelledStrings (symbols)    last true step,        cross-entropy per sequence; the fraction
                    or LabelledSequences         ``(B, C)``             of sequences whose arg-max logit is the
                    (real vectors)                                      label
``next_symbols``    StepStrings, targets: the    every step,            binary cross-entropy per output (sigmoid),
                    set of legal next symbols    ``(B, T, K)``          averaged over outputs and steps; the
                                                                        fraction of sequences whose every step's
                                                                        thresholded prediction (p > 1/2) equals
                                                                        the legal set
``language_model``  StepStrings, targets: the    every step,            cross-entropy per step (nats); the fraction
                    next symbol                  ``(B, T, K)``          of steps whose arg-max is the next symbol
==================  ===========================  =====================  ==========================================

Symbols enter through an embedding (token ids from a :class:`~sparsernn.data.Vocabulary`
built on the training split), real vectors through a linear input layer. The outputs
are the dataset's ``classes``: class labels, or for a per-step task the target symbols,
one output each. Losses are means, so a loss row is comparable across batch sizes:
per sequence (``classify``), per step (``language_model``: its test loss divided by
:math:`\\ln 2` is the **bits per character** of :func:`bits_per_symbol`), or per step and
output (``next_symbols``).

``next_symbols`` on ``embedded-reber-next`` also scores the **long-range step**
(:data:`LONG_RANGE_OFFSETS`): the step ``len - 3`` whose legal next symbol, the
penultimate one, repeats the string's second symbol; ``long_range_acc`` is the fraction
of sequences whose prediction there is right.

Examples
--------
>>> import torch
>>> task = TASKS["classify"]
>>> logits, labels = torch.tensor([[2.0, 0.0], [0.0, 1.0]]), torch.tensor([0, 0])
>>> score = task.score(logits, labels, torch.tensor([3, 2]))
>>> score.correct, score.count
(1, 2)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor, nn

from .data import DatasetSplits, LabelledSequences, LabelledStrings, StepStrings, Vocabulary
from .errors import InputError

__all__ = ["LONG_RANGE_OFFSETS", "TASKS", "Score", "Task", "bits_per_symbol", "encode_examples", "model_io",
           "task_of"]

LONG_RANGE_OFFSETS = {"embedded-reber-next": 3}
"""Datasets whose step ``len - offset`` is scored on its own as ``long_range_acc``."""


@dataclass
class Score:
    """Sums over a set of sequences, to add up across batches: ``loss_sum / loss_count`` is
    the mean loss, ``correct / count`` the accuracy; ``extra`` holds ``(hits, n)`` pairs of
    further accuracies (``long_range``)."""

    loss_sum: float = 0.0
    loss_count: int = 0
    correct: int = 0
    count: int = 0
    extra: dict[str, list[int]] = field(default_factory=dict)

    def add(self, other: Score) -> None:
        self.loss_sum += other.loss_sum
        self.loss_count += other.loss_count
        self.correct += other.correct
        self.count += other.count
        for key, (hits, n) in other.extra.items():
            mine = self.extra.setdefault(key, [0, 0])
            mine[0] += hits
            mine[1] += n

    def metrics(self) -> tuple[float, float]:
        """``(mean loss, accuracy)``; 0 for an empty set, as :func:`~sparsernn.train.evaluate` gives."""
        return self.loss_sum / max(self.loss_count, 1), self.correct / max(self.count, 1)

    def extras(self, prefix: str) -> dict[str, float]:
        """The further accuracies as ``{f"{prefix}_{name}_acc": value}``."""
        return {f"{prefix}_{name}_acc": hits / max(n, 1) for name, (hits, n) in self.extra.items()}


def _valid(lengths: Tensor, steps: int, device) -> Tensor:
    """``(B, steps)`` bool: the steps within each sequence."""
    return torch.arange(steps, device=device)[None, :] < lengths.to(device)[:, None]


@dataclass(frozen=True)
class Task:
    """One of :data:`TASKS`; see the module docstring for what each computes."""

    name: str
    per_step: bool
    long_range_offset: int | None = None

    def loss(self, logits: Tensor, targets: Tensor, lengths: Tensor) -> Tensor:
        """The mean training loss of a batch (a scalar with gradient)."""
        if self.name == "classify":
            return nn.functional.cross_entropy(logits, targets)
        valid = _valid(lengths, logits.shape[1], logits.device)  # (B, T)
        if self.name == "language_model":
            return nn.functional.cross_entropy(logits[valid], targets[valid])
        return nn.functional.binary_cross_entropy_with_logits(logits[valid], targets[valid])

    @torch.no_grad()
    def score(self, logits: Tensor, targets: Tensor, lengths: Tensor) -> Score:
        """The :class:`Score` of a batch of ``logits`` against ``targets``."""
        if self.name == "classify":
            loss = nn.functional.cross_entropy(logits, targets, reduction="sum").item()
            hits = (logits.argmax(dim=1) == targets).sum().item()
            return Score(loss, len(targets), hits, len(targets))
        valid = _valid(lengths, logits.shape[1], logits.device)  # (B, T)
        steps = int(valid.sum())
        if self.name == "language_model":
            loss = nn.functional.cross_entropy(logits[valid], targets[valid], reduction="sum").item()
            hits = (logits.argmax(dim=2) == targets)[valid].sum().item()
            return Score(loss, steps, hits, steps)
        per_output = nn.functional.binary_cross_entropy_with_logits(logits[valid], targets[valid], reduction="none")
        right = ((logits > 0) == (targets > 0.5)).all(dim=2) | ~valid  # (B, T): a padded step counts as right
        score = Score(per_output.mean(dim=1).sum().item(), steps, right.all(dim=1).sum().item(), len(targets))
        if self.long_range_offset is not None:
            rows = torch.arange(len(targets), device=logits.device)
            step = lengths.to(logits.device) - self.long_range_offset  # (B,)
            usable = step >= 0
            hits = right[rows[usable], step[usable]].sum().item()
            score.extra["long_range"] = [hits, int(usable.sum())]
        return score


    def member_losses(self, logits: Tensor, targets: Tensor, lengths: Tensor) -> Tensor:
        """Each member's mean training loss ``(G,)`` from the logits of a stack of ``G`` members:
        ``(B, G, C)``, or ``(B, T, G, C)`` for a per-step task; member ``g``'s equals
        :meth:`loss` of ``logits[..., g, :]``."""
        G = logits.shape[-2]
        if self.name == "classify":
            return nn.functional.cross_entropy(logits.transpose(1, 2), targets[:, None].expand(-1, G),
                                               reduction="none").mean(0)
        return self._step_losses(logits, targets, lengths).sum(dim=(0, 1)) / _valid(
            lengths, logits.shape[1], logits.device).sum()

    def _step_losses(self, logits: Tensor, targets: Tensor, lengths: Tensor) -> Tensor:
        """Per-step losses ``(B, T, G)`` of member logits ``(B, T, G, C)``, 0 at padded steps."""
        G = logits.shape[2]
        valid = _valid(lengths, logits.shape[1], logits.device)[:, :, None]  # (B, T, 1)
        if self.name == "language_model":
            per = nn.functional.cross_entropy(logits.permute(0, 3, 1, 2), targets[:, :, None].expand(-1, -1, G),
                                              reduction="none", ignore_index=-100)  # (B, T, G)
        else:
            per = nn.functional.binary_cross_entropy_with_logits(
                logits, targets[:, :, None].expand_as(logits), reduction="none").mean(dim=3)  # (B, T, G)
        return per * valid

    @torch.no_grad()
    def member_scores(self, logits: Tensor, targets: Tensor, lengths: Tensor) -> list[Score]:
        """The :class:`Score` of every member of a stack (see :meth:`member_losses`)."""
        G = logits.shape[-2]
        if self.name == "classify":
            labels = targets[:, None].expand(-1, G)  # (B, G)
            losses = nn.functional.cross_entropy(logits.transpose(1, 2), labels, reduction="none").sum(0)
            hits = (logits.argmax(dim=2) == labels).sum(0)
            return [Score(loss, len(targets), hit, len(targets)) for loss, hit in zip(losses.tolist(), hits.tolist())]
        valid = _valid(lengths, logits.shape[1], logits.device)  # (B, T)
        steps = int(valid.sum())
        losses = self._step_losses(logits, targets, lengths).sum(dim=(0, 1)).tolist()  # (G,)
        if self.name == "language_model":
            hits = ((logits.argmax(dim=3) == targets[:, :, None]) & valid[:, :, None]).sum(dim=(0, 1)).tolist()
            return [Score(loss, steps, hit, steps) for loss, hit in zip(losses, hits)]
        right = ((logits > 0) == (targets[:, :, None] > 0.5)).all(dim=3) | ~valid[:, :, None]  # (B, T, G)
        hits = right.all(dim=1).sum(0).tolist()
        scores = [Score(loss, steps, hit, len(targets)) for loss, hit in zip(losses, hits)]
        if self.long_range_offset is not None:
            rows = torch.arange(len(targets), device=logits.device)
            step = lengths.to(logits.device) - self.long_range_offset
            usable = step >= 0
            long_hits = right[rows[usable], step[usable]].sum(0).tolist()  # (G,)
            for score, hit in zip(scores, long_hits):
                score.extra["long_range"] = [hit, int(usable.sum())]
        return scores


TASKS = {
    "classify": Task("classify", per_step=False),
    "next_symbols": Task("next_symbols", per_step=True),
    "language_model": Task("language_model", per_step=True),
}
"""The tasks by name (:data:`sparsernn.data.TASKS` names the same three)."""


def task_of(splits: DatasetSplits) -> Task:
    """The :class:`Task` of a dataset (with its long-range step, if it has one)."""
    task = TASKS[splits.task]
    offset = LONG_RANGE_OFFSETS.get(splits.name)
    return task if offset is None or not task.per_step else Task(task.name, task.per_step, offset)


def bits_per_symbol(loss: float) -> float:
    """Bits per symbol of a mean cross-entropy ``loss`` in nats: ``loss / ln 2``.

    >>> round(bits_per_symbol(math.log(4)), 6)
    2.0
    """
    return loss / math.log(2)


def vocabulary_of(splits: DatasetSplits) -> Vocabulary | None:
    """The vocabulary of the training split's symbols; None for real-valued inputs."""
    if isinstance(splits.train, LabelledSequences):
        return None
    return Vocabulary.from_strings(splits.train.strings)


def model_io(splits: DatasetSplits, vocab: Vocabulary | None) -> dict:
    """The keyword arguments that fit a model's input and output to a dataset:
    ``vocab_size`` or ``input_features``, ``num_classes`` and (for a per-step task) ``per_step``.

    >>> from sparsernn.data import load_dataset
    >>> data = load_dataset("reber", seed=0, num_strings=20)
    >>> model_io(data, vocabulary_of(data))
    {'vocab_size': 9, 'num_classes': 2}
    """
    io = ({"input_features": splits.train.channels} if vocab is None else {"vocab_size": len(vocab)})
    io["num_classes"] = len(splits.classes)
    if TASKS[splits.task].per_step:
        io["per_step"] = True
    return io


def encode_examples(vocab: Vocabulary | None, data, *, task: str = "classify",
                    classes: tuple[str, ...] = ()) -> tuple[Tensor, Tensor, Tensor]:
    """``(inputs, lengths, targets)`` tensors of one split.

    Inputs: token ids ``(N, T)`` from ``vocab`` (symbols), or float32 ``(N, T, C)`` zero-padded
    (real vectors, ``vocab`` None). Targets: class labels ``(N,)`` (``classify``); the
    index in ``classes`` of each step's next symbol, ``(N, T)``, -100 at padded steps
    (``language_model``); a 0/1 float ``(N, T, K)`` of the legal symbols in ``classes``
    order, 0 at padded steps (``next_symbols``).
    """
    if isinstance(data, LabelledSequences):
        lengths = data.lengths()
        inputs = np.zeros((len(data), int(lengths.max()) if len(data) else 0, data.channels), dtype=np.float32)
        for i, values in enumerate(data.values):
            inputs[i, :len(values)] = values
        return torch.from_numpy(inputs), torch.from_numpy(lengths), torch.as_tensor(data.labels, dtype=torch.long)
    if vocab is None:
        raise InputError("Symbol inputs need a Vocabulary; got None.")
    inputs, lengths = vocab.encode(data.strings)
    if isinstance(data, LabelledStrings):
        return inputs, lengths, torch.as_tensor(data.labels, dtype=torch.long)
    if not isinstance(data, StepStrings):
        raise InputError(f"Cannot encode a {type(data).__name__}; expected LabelledStrings, LabelledSequences "
                         "or StepStrings.")
    index = {c: i for i, c in enumerate(classes)}
    T = inputs.shape[1]
    if task == "language_model":
        targets = np.full((len(data), T), -100, dtype=np.int64)
        for i, steps in enumerate(data.targets):
            targets[i, :len(steps)] = [index[s] for s in steps]
        return inputs, lengths, torch.from_numpy(targets)
    targets = np.zeros((len(data), T, len(classes)), dtype=np.float32)
    for i, steps in enumerate(data.targets):
        for t, legal in enumerate(steps):
            targets[i, t, [index[s] for s in legal]] = 1.0
    return inputs, lengths, torch.from_numpy(targets)
