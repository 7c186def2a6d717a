"""Checkpoints: a trained model with everything needed to use it on new data.

A checkpoint holds the model's class and constructor arguments, its state dict (the
masks are buffers in it, so the file alone rebuilds the masked model), the vocabulary
its tokens come from, the names of its classes, the id of the trial that trained it and
any plain-data metadata. It is written with :func:`torch.save` and read back with
``weights_only=True``, so loading a file never runs code from it: a pickled object is
refused unread.

Every model class of the project rebuilds from its checkpoint alone
(:data:`MODEL_CLASSES`): :class:`~sparsernn.nn.SequenceClassifier` (dense or pruned),
:class:`~sparsernn.nn.GraphRNN` (one member of a pack is a GraphRNN:
``pack.member(i)``) and :class:`~sparsernn.nn.GraphRNNPack`. Files of the first format,
``sparsernn.checkpoint/1`` (a SequenceClassifier, its trial id in the metadata as
``run_id``), still load.

Examples
--------
>>> import tempfile, torch
>>> from sparsernn.data import Vocabulary
>>> from sparsernn.nn import SequenceClassifier
>>> vocab = Vocabulary.from_strings(["BTXSE", "BPVVE"])
>>> model = SequenceClassifier("gru", len(vocab), hidden_sizes=[4])
>>> with tempfile.TemporaryDirectory() as directory:
...     path = save_checkpoint(f"{directory}/m.pt", model, vocab, classes=["invalid", "valid"], trial_id="t1")
...     saved = load_checkpoint(path)
>>> type(saved.model).__name__, saved.classes, saved.trial_id
('SequenceClassifier', ('invalid', 'valid'), 't1')
>>> tokens, lengths = vocab.encode(["BTXSE"])
>>> torch.equal(saved.model(tokens, lengths), model(tokens, lengths))
True
"""

from __future__ import annotations

import inspect
import os
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from .data import Vocabulary
from .errors import InputError
from .nn import GraphRNN, GraphRNNPack, SequenceClassifier

__all__ = ["FORMAT", "MODEL_CLASSES", "Checkpoint", "check_labels", "load_checkpoint", "meta_model", "save_checkpoint"]

FORMAT = "sparsernn.checkpoint/2"
READABLE = ("sparsernn.checkpoint/1", FORMAT)
"""The formats :func:`load_checkpoint` reads."""


def _pack(hparams: dict) -> GraphRNNPack:
    members = hparams["members"]
    if not isinstance(members, list) or not members or not all(isinstance(h, dict) for h in members):
        raise InputError("'members' must be a non-empty list of GraphRNN hparams")
    return GraphRNNPack([GraphRNN.from_hparams(h) for h in members])


MODEL_CLASSES: dict[str, tuple[type[nn.Module], Callable[[dict], nn.Module], Callable[[nn.Module], dict]]] = {
    "SequenceClassifier": (SequenceClassifier, lambda h: SequenceClassifier(**h), lambda m: m.hparams),
    "GraphRNN": (GraphRNN, GraphRNN.from_hparams, lambda m: m.hparams),
    "GraphRNNPack": (GraphRNNPack, _pack, lambda m: {"members": m.member_hparams}),
}
"""Class name -> (class, build from hparams, hparams of a model): the models a checkpoint holds."""

_ARGUMENTS = {
    "SequenceClassifier": set(inspect.signature(SequenceClassifier).parameters),
    "GraphRNN": {"edges", "vertices", "cell", "vocab_size", "embedding_dim", "num_classes", "recurrence", "readout",
                 "input_features", "per_step"},
    "GraphRNNPack": {"members"},
}


@dataclass(frozen=True)
class Checkpoint:
    """What :func:`load_checkpoint` returns.

    Attributes
    ----------
    model : nn.Module
        The rebuilt model (a class of :data:`MODEL_CLASSES`) with the saved weights and
        masks, on the CPU, in training mode as built (call ``.eval()`` to predict).
    vocab : Vocabulary or None
        The vocabulary its token ids come from (None if none was saved).
    classes : tuple of str or None
        The name of each output class, in logit order (None if none were saved).
    trial_id : str or None
        The study trial that trained it (None for a model saved outside a study).
    metadata : dict
        Plain data saved with it.
    """

    model: nn.Module
    vocab: Vocabulary | None = None
    classes: tuple[str, ...] | None = None
    trial_id: str | None = None
    metadata: dict = field(default_factory=dict)


def save_checkpoint(path: str | Path, model: nn.Module, vocab: Vocabulary | None = None, *,
                    classes: Sequence[str] | None = None, trial_id: str | None = None,
                    **metadata: object) -> Path:
    """Write ``model`` (a class of :data:`MODEL_CLASSES`) with its ``vocab``, class names and
    trial id to ``path`` atomically; ``metadata`` must be plain data (str, numbers, lists,
    dicts). The weights are saved as CPU tensors wherever the model is.
    """
    name = type(model).__name__
    if name not in MODEL_CLASSES or type(model) is not MODEL_CLASSES[name][0]:
        raise InputError(f"save_checkpoint saves a model of a class in {sorted(MODEL_CLASSES)}; "
                         f"got {type(model).__name__}.")
    if classes is not None:
        classes = [str(c) for c in classes]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": FORMAT,
        "model_class": name,
        "hparams": MODEL_CLASSES[name][2](model),
        "vocab": None if vocab is None else vocab.to_list(),
        "classes": classes,
        "trial_id": trial_id,
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "metadata": metadata,
    }
    tmp = path.with_name(path.name + ".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)
    return path


def load_checkpoint(path: str | Path) -> Checkpoint:
    """Read a checkpoint written by :func:`save_checkpoint` (:class:`Checkpoint`).

    Raises :class:`~sparsernn.errors.InputError` (one line naming the file) for a missing,
    corrupt, unsafe or foreign file, and for one whose parts do not fit together (its
    class, hyperparameters, weights, vocabulary and class names). The model is built
    only once the weights in the file are known to fill it, so a damaged file cannot
    make it allocate more memory than the file itself holds.
    """
    path = Path(path)
    where = f"Checkpoint {str(path)!r}"
    try:
        with warnings.catch_warnings():  # e.g. torch's note on a plain pickle's protocol: loaded or refused below
            warnings.simplefilter("ignore")
            payload = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise InputError(f"{where} does not exist.") from None
    except IsADirectoryError:
        raise InputError(f"{where} is a directory, not a checkpoint file.") from None
    except Exception as exc:  # torch raises many types for a corrupt or unsafe file
        raise InputError(f"{where} cannot be read safely: {_load_error(exc)}") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("format"), str) or payload["format"] not in READABLE:
        raise InputError(f"{where} is not a {FORMAT} file.")
    missing = [key for key in ("hparams", "state_dict", "vocab") if key not in payload]
    if missing:
        raise InputError(f"{where} is damaged: it has no {missing[0]!r}.")
    metadata = payload.get("metadata", {})
    if not isinstance(metadata, dict):
        raise InputError(f"{where} is damaged: 'metadata' must be a dict; got {type(metadata).__name__}.")
    name = payload.get("model_class", "SequenceClassifier")
    if not isinstance(name, str) or name not in MODEL_CLASSES:
        raise InputError(f"{where} is damaged: 'model_class' must be one of {sorted(MODEL_CLASSES)}; got {name!r}.")
    trial_id = payload.get("trial_id", metadata.get("run_id") if payload["format"] != FORMAT else None)
    if trial_id is not None and not isinstance(trial_id, str):
        raise InputError(f"{where} is damaged: 'trial_id' must be a str; got {type(trial_id).__name__}.")
    model = _model(name, payload["hparams"], payload["state_dict"], where)
    vocab, classes = check_labels(model, payload["vocab"], payload.get("classes"), where)
    return Checkpoint(model, vocab, classes, trial_id, metadata)


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


def meta_model(name: str, hparams: object, state: dict[str, torch.Tensor], where: str) -> nn.Module:
    """The ``name`` model (a key of :data:`MODEL_CLASSES`) that ``hparams`` describe, built on
    the meta device (shapes only: it allocates nothing and draws no random numbers).

    InputError naming ``where`` unless ``hparams`` are the constructor's arguments and
    describe a model no larger than ``state`` (the tensors a file holds, of any device)
    can fill; whether ``state`` fits it exactly is the caller's check. Every file format
    of a model reads its model description with this.
    """
    if not isinstance(hparams, dict) or not all(isinstance(k, str) for k in hparams):
        raise InputError(f"{where} is damaged: 'hparams' must be a dict of {name}'s arguments; "
                         f"got {type(hparams).__name__}.")
    unknown = sorted(set(hparams) - _ARGUMENTS[name])
    required = {"SequenceClassifier": ["cell"], "GraphRNN": ["cell", "edges", "vertices", "vocab_size"],
                "GraphRNNPack": ["members"]}[name]
    absent = [key for key in required if key not in hparams]
    if unknown or absent:
        problem = f"unknown argument {unknown[0]!r}" if unknown else f"no {absent[0]!r}"
        raise InputError(f"{where} is damaged: its 'hparams' have {problem}.")
    _check_size(name, hparams, state, where)
    try:
        with torch.device("meta"):
            return MODEL_CLASSES[name][1](hparams)
    except Exception as exc:  # whatever the constructor makes of damaged arguments (networkx's errors too)
        raise InputError(f"{where} is damaged: {_first_line(exc)}") from None


def _model(name: str, hparams: object, state: object, where: str) -> nn.Module:
    """The ``name`` model ``hparams`` describe, with the weights ``state``; InputError unless they fit."""
    if not isinstance(state, dict) or not all(isinstance(k, str) and isinstance(v, torch.Tensor)
                                              for k, v in state.items()):
        raise InputError(f"{where} is damaged: 'state_dict' must be a dict of tensors.")
    expected = meta_model(name, hparams, state, where).state_dict()
    build = MODEL_CLASSES[name][1]
    for key in sorted(set(expected) ^ set(state)):
        which = "lacks" if key in expected else "has an unexpected"
        raise InputError(f"{where} does not match its model: it {which} tensor {key!r}.")
    for key, tensor in state.items():
        shape, want = tuple(tensor.shape), tuple(expected[key].shape)
        if shape != want:
            raise InputError(f"{where} does not match its model: {key!r} has shape {list(shape)}, "
                             f"expected {list(want)}.")
        if tensor.is_complex() or tensor.layout != torch.strided or tensor.is_quantized:
            raise InputError(f"{where} is damaged: {key!r} is not a dense real tensor.")
        if tensor.untyped_storage().nbytes() < tensor.numel() * tensor.element_size():
            raise InputError(f"{where} is damaged: {key!r} has fewer values than its shape says.")
    model = build(hparams)
    try:
        model.load_state_dict(state)
    except (RuntimeError, TypeError, ValueError) as exc:
        raise InputError(f"{where} does not match its model: {_first_line(exc)}") from None
    return model


def _check_size(name: str, hparams: dict, state: dict, where: str) -> None:
    """Refuse hparams that describe a far larger model than ``state`` holds, before building it
    (even on the meta device, a million layers or vertices take long to build)."""
    if name == "SequenceClassifier":
        sizes = hparams.get("hidden_sizes")
        if isinstance(sizes, (list, tuple)) and len(sizes) > len(state):  # every layer has >= 2 tensors
            raise InputError(f"{where} does not match its model: {len(sizes)} layers but {len(state)} tensors.")
        return
    members = hparams["members"] if name == "GraphRNNPack" else [hparams]
    if not isinstance(members, list):
        return  # the constructor reports it
    vertices = sum(len(h["vertices"]) for h in members if isinstance(h, dict) and isinstance(h.get("vertices"), list))
    readout = state.get("readout.weight")
    if readout is None or readout.dim() != 2 or readout.shape[1] != vertices:
        held = "no readout" if readout is None or readout.dim() != 2 else f"a readout of {readout.shape[1]} inputs"
        raise InputError(f"{where} does not match its model: {vertices} vertices but {held}.")


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _vocab_size(model: nn.Module) -> int | None:
    if isinstance(model, GraphRNNPack):
        return model.vocab_size
    return model.hparams["vocab_size"]


def _num_classes(model: nn.Module) -> int:
    if isinstance(model, GraphRNNPack):
        return model.num_classes
    return model.hparams["num_classes"]


def check_labels(model: nn.Module, symbols: object, names: object,
                 where: str) -> tuple[Vocabulary | None, tuple[str, ...] | None]:
    """The vocabulary and class names a file saved with ``model`` (of
    :data:`MODEL_CLASSES`, also on the meta device), each None if absent; InputError naming
    ``where`` unless the model can embed the vocabulary and has one output per class name.
    """
    return _vocab(symbols, _vocab_size(model), where), _classes(names, _num_classes(model), where)


def _vocab(symbols: object, size: int | None, where: str) -> Vocabulary | None:
    """The checkpoint's vocabulary (None if it has none); InputError unless the model can embed it."""
    if symbols is None:
        return None
    try:
        vocab = Vocabulary.from_list(symbols)
    except InputError as exc:
        raise InputError(f"{where} is damaged: {exc}") from None
    if size is None:
        raise InputError(f"{where} does not match its model: a vocabulary for a model of float inputs.")
    if len(vocab) > size:
        raise InputError(f"{where} does not match its model: a vocabulary of {len(vocab)} tokens "
                         f"for an embedding of {size}.")
    return vocab


def _classes(names: object, count: int, where: str) -> tuple[str, ...] | None:
    """The checkpoint's class names (None if it has none); InputError unless one per output."""
    if names is None:
        return None
    if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) for n in names):
        raise InputError(f"{where} is damaged: 'classes' must be a list of str.")
    if len(names) != count or len(set(names)) != len(names):
        raise InputError(f"{where} does not match its model: {len(names)} class names for {count} outputs "
                         "(they must be distinct, one per output).")
    return tuple(names)
