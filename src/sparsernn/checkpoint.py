"""Checkpoints: a model's state dict, its hyperparameters and its vocabulary.

A checkpoint is written with :func:`torch.save` and read back with
``weights_only=True``, so loading a file never runs code from it. The masks are
buffers in the state dict, so the checkpoint alone rebuilds the masked model.
"""

from __future__ import annotations

import inspect
import os
import warnings
from pathlib import Path

import torch

from .data import Vocabulary
from .errors import InputError
from .nn import SequenceClassifier

FORMAT = "sparsernn.checkpoint/1"


def save_checkpoint(path: str | Path, model: SequenceClassifier, vocab: Vocabulary | None = None,
                    **metadata: object) -> Path:
    """Write ``model`` (and ``vocab``) to ``path`` atomically; ``metadata`` must be plain data."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": FORMAT,
        "hparams": model.hparams,
        "vocab": None if vocab is None else vocab.to_list(),
        "state_dict": model.state_dict(),
        "metadata": metadata,
    }
    tmp = path.with_name(path.name + ".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)
    return path


def load_checkpoint(path: str | Path) -> tuple[SequenceClassifier, Vocabulary | None, dict]:
    """Read a checkpoint written by :func:`save_checkpoint`: ``(model, vocab, metadata)``.

    Raises :class:`~sparsernn.errors.InputError` (one line naming the file) for a missing,
    corrupt, unsafe or foreign file, and for one whose parts do not fit together (its
    hyperparameters, weights and vocabulary). The model is built only once the weights in
    the file are known to fill it, so a damaged file cannot make it allocate more memory
    than the file itself holds.
    """
    path = Path(path)
    where = f"Checkpoint {str(path)!r}"
    try:
        with warnings.catch_warnings():  # e.g. torch's note on a plain pickle's protocol: loaded or refused below
            warnings.simplefilter("ignore")
            payload = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise InputError(f"{where} does not exist.") from None
    except Exception as exc:  # torch raises many types for a corrupt or unsafe file
        raise InputError(f"{where} cannot be read safely: {_load_error(exc)}") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("format"), str) or payload["format"] != FORMAT:
        raise InputError(f"{where} is not a {FORMAT} file.")
    missing = [key for key in ("hparams", "state_dict", "vocab") if key not in payload]
    if missing:
        raise InputError(f"{where} is damaged: it has no {missing[0]!r}.")
    metadata = payload.get("metadata", {})
    if not isinstance(metadata, dict):
        raise InputError(f"{where} is damaged: 'metadata' must be a dict; got {type(metadata).__name__}.")
    model = _model(payload["hparams"], payload["state_dict"], where)
    vocab = _vocab(payload["vocab"], model, where)
    return model, vocab, metadata


def _load_error(exc: Exception) -> str:
    """One line on why :func:`torch.load` refused a file (without torch's advice to load it
    unsafely, which sparsernn never does)."""
    text = str(exc)
    if "WeightsUnpickler error:" in text:  # torch's refusal of anything but tensors and plain data
        detail = " ".join(text.split("WeightsUnpickler error:", 1)[1].split("Check the documentation", 1)[0].split())
        return f"it is not a pickle of tensors and plain data only ({detail or type(exc).__name__})"
    if isinstance(exc, EOFError):
        return "it ends too early (empty or truncated)"
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return first.split(" This is an internal miniz error")[0]  # the rest is a paragraph on corrupt files


def _model(hparams: object, state: object, where: str) -> SequenceClassifier:
    """The model ``hparams`` describe, with the weights ``state``; InputError unless they fit."""
    if not isinstance(hparams, dict) or not all(isinstance(k, str) for k in hparams):
        raise InputError(f"{where} is damaged: 'hparams' must be a dict of SequenceClassifier's arguments; "
                         f"got {type(hparams).__name__}.")
    unknown = sorted(set(hparams) - set(inspect.signature(SequenceClassifier).parameters))
    if unknown or "cell" not in hparams:
        problem = f"unknown argument {unknown[0]!r}" if unknown else "no 'cell'"
        raise InputError(f"{where} is damaged: its 'hparams' have {problem}.")
    if not isinstance(state, dict) or not all(isinstance(k, str) and isinstance(v, torch.Tensor)
                                              for k, v in state.items()):
        raise InputError(f"{where} is damaged: 'state_dict' must be a dict of tensors.")
    sizes = hparams.get("hidden_sizes")
    if isinstance(sizes, (list, tuple)) and len(sizes) > len(state):  # every layer has >= 2 tensors
        raise InputError(f"{where} does not match its model: {len(sizes)} layers but {len(state)} tensors.")
    try:
        with torch.device("meta"):  # shapes only: allocates nothing, draws no random numbers
            expected = SequenceClassifier(**hparams).state_dict()
    except InputError as exc:
        raise InputError(f"{where} is damaged: {exc}") from None
    for name in sorted(set(expected) ^ set(state)):
        which = "lacks" if name in expected else "has an unexpected"
        raise InputError(f"{where} does not match its model: it {which} tensor {name!r}.")
    for name, tensor in state.items():
        shape, want = tuple(tensor.shape), tuple(expected[name].shape)
        if shape != want:
            raise InputError(f"{where} does not match its model: {name!r} has shape {list(shape)}, "
                             f"expected {list(want)}.")
        if tensor.is_complex() or tensor.layout != torch.strided or tensor.is_quantized:
            raise InputError(f"{where} is damaged: {name!r} is not a dense real tensor.")
        if tensor.untyped_storage().nbytes() < tensor.numel() * tensor.element_size():
            raise InputError(f"{where} is damaged: {name!r} has fewer values than its shape says.")
    model = SequenceClassifier(**hparams)
    try:
        model.load_state_dict(state)
    except (RuntimeError, TypeError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"{where} does not match its model: {first}") from None
    return model


def _vocab(symbols: object, model: SequenceClassifier, where: str) -> Vocabulary | None:
    """The checkpoint's vocabulary (None if it has none); InputError unless the model can embed it."""
    if symbols is None:
        return None
    try:
        vocab = Vocabulary.from_list(symbols)
    except InputError as exc:
        raise InputError(f"{where} is damaged: {exc}") from None
    size = model.hparams["vocab_size"]
    if size is not None and len(vocab) > size:
        raise InputError(f"{where} does not match its model: a vocabulary of {len(vocab)} tokens "
                         f"for an embedding of {size}.")
    return vocab
