"""Sequence classifier: embedding -> stack of masked recurrent layers -> (masked) readout.

The classifier reads each sequence's hidden state at its true last symbol, the last
layer's output at step ``lengths[b] - 1`` (:func:`last_step`). Each layer runs over the
whole padded batch in one call of torch's fused kernel (on a CPU, oneDNN's for LSTM,
several times faster than a packed sequence, which torch computes step by step); the
recurrence is causal, so the padding after a sequence never reaches its states up to its
last symbol.

Examples
--------
>>> import torch
>>> model = SequenceClassifier("gru", vocab_size=9, hidden_sizes=(8, 6), num_classes=3)
>>> tokens = torch.tensor([[1, 2, 3, 0], [4, 5, 6, 7]])   # (B, T), 0 = padding
>>> model(tokens, torch.tensor([3, 4])).shape
torch.Size([2, 3])
>>> SequenceClassifier(**model.hparams).hparams == model.hparams
True
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from ..checks import check_fraction, is_int
from ..errors import InputError
from .masked import MaskedGRU, MaskedLinear, MaskedLSTM, MaskedRNN
from .weights import ParameterCount, count_parameters

__all__ = ["CELLS", "SequenceClassifier", "check_batch", "every_step", "last_step"]

# cell name -> (masked recurrent class, extra constructor arguments)
CELLS: dict[str, tuple[type[nn.RNNBase], dict]] = {
    "rnn_tanh": (MaskedRNN, {"nonlinearity": "tanh"}),
    "rnn_relu": (MaskedRNN, {"nonlinearity": "relu"}),
    "lstm": (MaskedLSTM, {}),
    "gru": (MaskedGRU, {}),
}


def _error(name: str, expected: str, value) -> InputError:
    return InputError(f"The {name!r} parameter of SequenceClassifier must be {expected}; got {value!r}.")


def _is_positive_int(value) -> bool:
    return is_int(value) and value >= 1


def _checked_hparams(
    cell, vocab_size, hidden_sizes, num_classes, input_features, embedding_dim, dropout, readout_mask, per_step
) -> dict:
    """Validate the constructor arguments and return them as a JSON-able dict."""
    if not isinstance(cell, str) or cell not in CELLS:
        raise _error("cell", f"one of {sorted(CELLS)}", cell)
    if (vocab_size is None) == (input_features is None):
        raise InputError(
            "SequenceClassifier needs exactly one of 'vocab_size' (token inputs) and 'input_features' "
            f"(float inputs); got vocab_size={vocab_size!r}, input_features={input_features!r}."
        )
    for name, value in [("vocab_size", vocab_size), ("input_features", input_features)]:
        if value is not None and not _is_positive_int(value):
            raise _error(name, "a positive int", value)
    for name, value in [("num_classes", num_classes), ("embedding_dim", embedding_dim)]:
        if not _is_positive_int(value):
            raise _error(name, "a positive int", value)
    if (
        not isinstance(hidden_sizes, Sequence)
        or isinstance(hidden_sizes, (str, bytes))
        or not hidden_sizes
        or not all(_is_positive_int(size) for size in hidden_sizes)
    ):
        shown = list(hidden_sizes) if isinstance(hidden_sizes, Sequence) else hidden_sizes
        raise _error("hidden_sizes", "a non-empty sequence of positive ints", shown)
    check_fraction(dropout, "dropout", "SequenceClassifier", high_open=True)
    for name, value in [("readout_mask", readout_mask), ("per_step", per_step)]:
        if not isinstance(value, bool):
            raise _error(name, "a bool", value)
    return dict(
        cell=cell,
        vocab_size=None if vocab_size is None else int(vocab_size),
        hidden_sizes=[int(size) for size in hidden_sizes],
        num_classes=int(num_classes),
        input_features=None if input_features is None else int(input_features),
        embedding_dim=int(embedding_dim),
        dropout=float(dropout),
        readout_mask=readout_mask,
        **({"per_step": True} if per_step else {}),  # absent when False: older checkpoints' hparams stay valid
    )


class SequenceClassifier(nn.Module):
    """Classify variable-length sequences with a stack of single-layer masked RNNs.

    Architecture (B = batch, T = time, E = ``embedding_dim``, H_l = ``hidden_sizes[l]``)::

        tokens (B, T) ──Embedding(vocab_size, E, padding_idx=0)──┐
        features (B, T, F) ──Linear(F, E)────────────────────────┴─▶ (B, T, E)
        ─▶ pack(lengths) ─▶ layers[0] ─▶ dropout ─▶ … ─▶ layers[-1]
        ─▶ h_n of layers[-1] (B, H_last) ─▶ readout ─▶ logits (B, num_classes)
        per_step: every step's output of layers[-1] ─▶ readout ─▶ logits (B, T, num_classes)

    Parameters
    ----------
    cell : {"rnn_tanh", "rnn_relu", "lstm", "gru"}
        Recurrent cell of every layer.
    vocab_size : int, optional
        Number of token ids, padding id 0 included. Exactly one of ``vocab_size`` and
        ``input_features`` is given.
    hidden_sizes : sequence of int, default (50, 50, 50)
        Width of each recurrent layer; one single-layer module per entry.
    num_classes : int, default 2
    input_features : int, optional
        Width F of float feature inputs (B, T, F), projected to ``embedding_dim``.
    embedding_dim : int, default 50
    dropout : float in [0, 1), default 0.0
        Dropout on the outputs of every recurrent layer but the last.
    readout_mask : bool, default True
        Use a :class:`MaskedLinear` readout (prunable) instead of :class:`torch.nn.Linear`.
    per_step : bool, default False
        Read out every step (many-to-many: logits ``(B, T, num_classes)``, zero at the
        padded steps) instead of each sequence's last step only (logits ``(B, num_classes)``).

    Attributes
    ----------
    hparams : dict
        JSON-able constructor arguments: ``SequenceClassifier(**model.hparams)`` rebuilds
        the architecture.
    """

    def __init__(
        self,
        cell: str,
        vocab_size: int | None = None,
        hidden_sizes: Sequence[int] = (50, 50, 50),
        num_classes: int = 2,
        *,
        input_features: int | None = None,
        embedding_dim: int = 50,
        dropout: float = 0.0,
        readout_mask: bool = True,
        per_step: bool = False,
    ) -> None:
        super().__init__()
        self._hparams = _checked_hparams(
            cell, vocab_size, hidden_sizes, num_classes, input_features, embedding_dim, dropout, readout_mask,
            per_step,
        )
        hp = self._hparams

        if hp["vocab_size"] is not None:
            self.embed = nn.Embedding(hp["vocab_size"], hp["embedding_dim"], padding_idx=0)
        else:
            self.embed = nn.Linear(hp["input_features"], hp["embedding_dim"])
        rnn_class, extra = CELLS[cell]
        widths = [hp["embedding_dim"], *hp["hidden_sizes"]]
        self.layers = nn.ModuleList(
            rnn_class(n_in, n_out, batch_first=True, **extra) for n_in, n_out in zip(widths[:-1], widths[1:])
        )
        self.drop = nn.Dropout(hp["dropout"])
        readout_class = MaskedLinear if readout_mask else nn.Linear
        self.readout = readout_class(widths[-1], hp["num_classes"])

    @property
    def hparams(self) -> dict:
        """A fresh copy of the JSON-able constructor arguments."""
        return {**self._hparams, "hidden_sizes": list(self._hparams["hidden_sizes"])}

    @property
    def per_step(self) -> bool:
        """True when the model reads out every step (logits ``(B, T, C)``)."""
        return self._hparams.get("per_step", False)

    def forward(self, inputs: Tensor, lengths: Tensor) -> Tensor:
        """Return logits (B, num_classes) for a padded batch; (B, T, num_classes) with ``per_step``.

        Parameters
        ----------
        inputs : Tensor
            (B, T) integer token ids (0 = padding) when built with ``vocab_size``, or
            (B, T, F) float features when built with ``input_features``.
        lengths : Tensor
            (B,) true lengths, each in [1, T].
        """
        lengths = self._check_inputs(inputs, lengths)
        h = self.embed(inputs)  # (B, T, E)
        for i, layer in enumerate(self.layers):
            if i > 0:
                h = self.drop(h)  # (B, T, H_{i-1})
            h, _ = layer(h)  # (B, T, H_i); a step past a sequence's length is never read
        if self.per_step:
            return every_step(h, self.readout, lengths)  # (B, T, num_classes)
        return self.readout(last_step(h, lengths))  # (B, H_last) -> (B, num_classes)

    def _check_inputs(self, inputs: Tensor, lengths) -> Tensor:
        return check_batch(inputs, lengths, vocab_size=self._hparams["vocab_size"],
                           input_features=self._hparams["input_features"])

    def count_parameters(self) -> ParameterCount:
        """Nonzero effective and total parameter elements; see :func:`sparsernn.nn.count_parameters`."""
        return count_parameters(self)


def last_step(outputs: Tensor, lengths: Tensor) -> Tensor:
    """The output of each sequence at its true last step: ``outputs[b, lengths[b] - 1]``, ``(B, H)``.

    Recurrent layers here run on padded batches (torch's fused kernels over the whole
    padded length, much faster on a CPU than a packed sequence), so a sequence's output
    at a padded step is garbage; a causal network's outputs up to its length are not
    touched by it.

    >>> last_step(torch.arange(6.).reshape(2, 3, 1), torch.tensor([3, 1])).flatten().tolist()
    [2.0, 3.0]
    """
    index = (lengths.to(outputs.device) - 1).view(-1, 1, 1).expand(-1, 1, outputs.shape[-1])
    return outputs.gather(1, index).squeeze(1)


def every_step(outputs: Tensor, readout: nn.Module, lengths: Tensor) -> Tensor:
    """``readout`` of every step of a padded batch ``(B, T, H)``: ``(B, T, C)``, zero past each length.

    >>> every_step(torch.ones(2, 3, 4), nn.Linear(4, 2), torch.tensor([3, 1]))[1, 1:].abs().sum().item()
    0.0
    """
    steps = torch.arange(outputs.shape[1], device=outputs.device)
    padded = (steps >= lengths.to(outputs.device).view(-1, 1)).unsqueeze(-1)  # (B, T, 1)
    return readout(outputs.masked_fill(padded, 0.0)).masked_fill(padded, 0.0)


def check_batch(inputs: Tensor, lengths, *, vocab_size: int | None, input_features: int | None) -> Tensor:
    """Return ``lengths`` as a CPU int64 tensor if ``inputs`` and ``lengths`` are a padded batch
    for a model of ``vocab_size`` token ids (or of ``input_features`` float features), else
    raise :class:`~sparsernn.errors.InputError` saying what was expected.

    >>> check_batch(torch.tensor([[1, 2, 0]]), [2], vocab_size=3, input_features=None)
    tensor([2])
    """
    if not isinstance(inputs, Tensor):
        raise InputError(f"inputs must be a torch.Tensor; got {type(inputs).__name__}.")
    if vocab_size is not None:
        if inputs.dim() != 2 or inputs.is_floating_point() or inputs.is_complex():
            raise InputError(
                "inputs must be a (B, T) integer tensor of token ids; "
                f"got shape {tuple(inputs.shape)} and dtype {inputs.dtype}."
            )
        if inputs.numel():
            low, high = (int(v) for v in torch.aminmax(inputs))
            if low < 0 or high >= vocab_size:
                raise InputError(f"inputs must hold token ids in [0, {vocab_size}); got values in [{low}, {high}].")
    elif inputs.dim() != 3 or inputs.shape[-1] != input_features or not inputs.is_floating_point():
        raise InputError(
            f"inputs must be a (B, T, {input_features}) float tensor; "
            f"got shape {tuple(inputs.shape)} and dtype {inputs.dtype}."
        )
    batch, steps = inputs.shape[:2]
    lengths = torch.as_tensor(lengths, device="cpu")
    if lengths.shape != (batch,) or lengths.is_floating_point() or lengths.dtype == torch.bool:
        raise InputError(
            f"lengths must be a ({batch},) integer tensor; "
            f"got shape {tuple(lengths.shape)} and dtype {lengths.dtype}."
        )
    if batch == 0:
        raise InputError("inputs must hold at least one sequence; got an empty batch.")
    low, high = (int(v) for v in torch.aminmax(lengths))
    if low < 1 or high > steps:
        raise InputError(f"lengths must lie in [1, {steps}] (the padded length); got [{low}, {high}].")
    return lengths.to(torch.int64)
