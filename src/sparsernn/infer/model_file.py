"""Model files: a trained model, its masked weights stored sparse, in a safetensors file.

:func:`export` writes one network (a :class:`~sparsernn.nn.SequenceClassifier` or a
:class:`~sparsernn.nn.GraphRNN`; one member of a pack, ``pack.member(i)``) as a
`safetensors <https://huggingface.co/docs/safetensors>`_ file: tensors and a header of
strings, nothing that runs when read. Its tensors are

* every masked weight ``W`` (under mask ``M``) as the values of ``W ⊙ M`` under True
  mask entries and their positions, in the smaller of two storages (CSR with int32
  indices, or a bitmask; :mod:`sparsernn.infer.storage`): tensors ``<name>.crow``,
  ``<name>.col``, ``<name>.values`` or ``<name>.bits``, ``<name>.values``;
* every other tensor of the model's state (embedding, biases, an unmasked readout) as
  it is, float32, under its state-dict name (masks are not stored: they are the
  positions above).

Its header's metadata holds ``format`` (:data:`FORMAT`) and ``model``, a JSON object:
``model_class``, ``hparams`` (the constructor's arguments), ``vocab``, ``classes``,
``trial_id``, ``metadata`` (as in a checkpoint) and ``matrices`` (each masked weight's
``storage`` and ``shape``).

:func:`load` reads it back as a :class:`~sparsernn.checkpoint.Checkpoint` whose model
is a :class:`~sparsernn.infer.SparseModel`. It checks everything before it computes
anything: the header's JSON, the hyperparameters against the model's constructor (on
the meta device, as :func:`~sparsernn.checkpoint.load_checkpoint` does), every tensor's
name, dtype and shape, and every storage invariant; a missing, foreign, pickled or
damaged file raises :class:`~sparsernn.errors.InputError`, one line naming the file.
:func:`is_exported` tells such a file from a checkpoint by its first bytes.

Examples
--------
>>> import tempfile, torch
>>> from sparsernn import prune
>>> from sparsernn.checkpoint import Checkpoint
>>> from sparsernn.data import Vocabulary
>>> from sparsernn.nn import SequenceClassifier
>>> torch.manual_seed(0) and None
>>> vocab = Vocabulary.from_strings(["BTXSE", "BPVVE"])
>>> model = SequenceClassifier("gru", len(vocab), hidden_sizes=[32], embedding_dim=8).eval()
>>> _ = prune.prune_to_sparsity(model, 0.9, targets=("ih", "hh"), scope="layer")
>>> with tempfile.TemporaryDirectory() as directory:
...     written = export(Checkpoint(model, vocab, ("invalid", "valid")), f"{directory}/m.safetensors")
...     exported = is_exported(written.path)
...     saved = load(written.path)
>>> written.storage["layers.0.weight_hh_l0"], exported, written.ratio < 0.3   # file size / dense fp32
('bitmask', True, True)
>>> tokens, lengths = vocab.encode(["BTXSE", "BPE"])
>>> torch.allclose(saved.model(tokens, lengths), model(tokens, lengths), atol=1e-6)
True
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import safetensors
import torch
from safetensors.torch import save_file
from torch import Tensor

from ..checkpoint import Checkpoint, check_labels, meta_model
from ..checks import check_choice
from ..errors import InputError
from ..nn import mask_name
from .engine import KERNELS, MODEL_CLASSES, SparseModel
from .storage import KINDS, PARTS, decode, encode

__all__ = ["FORMAT", "Exported", "export", "is_exported", "load"]

FORMAT = "sparsernn.sparse/1"
_KEYS = {"model_class", "hparams", "vocab", "classes", "trial_id", "metadata", "matrices"}


@dataclass(frozen=True)
class Exported:
    """What :func:`export` wrote: the file, its size, the size of the same model as dense
    float32 tensors (its parameters, masks left out), and each masked weight's storage."""

    path: Path
    file_bytes: int
    dense_bytes: int
    storage: dict[str, str]

    @property
    def ratio(self) -> float:
        """``file_bytes / dense_bytes``."""
        return self.file_bytes / self.dense_bytes


def _masked(state: dict[str, Tensor]) -> dict[str, str]:
    """``{weight name: mask name}`` of the masked weights in a state dict."""
    pairs = {}
    for key in state:
        prefix, dot, last = key.rpartition(".")
        if last.startswith("weight") and f"{prefix}{dot}{mask_name(last)}" in state:
            pairs[key] = f"{prefix}{dot}{mask_name(last)}"
    return pairs


def export(saved: Checkpoint, path: str | Path) -> Exported:
    """Write ``saved.model`` with its vocabulary, class names, trial id and metadata to
    ``path`` (atomically), its masked weights stored sparse; see the module docstring."""
    model, name = saved.model, type(saved.model).__name__
    if name not in MODEL_CLASSES or type(model) is not MODEL_CLASSES[name]:
        raise InputError(f"export writes one network of a class in {sorted(MODEL_CLASSES)} (a pack is many: "
                         f"save one member, pack.member(i), and export it); got {name}.")
    if model.per_step or model.hparams.get("input_features") is not None:
        raise InputError("export writes networks of token inputs with one output per sequence; this one "
                         f"{'reads out every step' if model.per_step else 'reads real-valued inputs'}.")
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    masked = _masked(state)
    tensors, matrices = {}, {}
    for key, tensor in state.items():
        if key in masked.values():
            continue
        if key in masked:
            kind, parts = encode(tensor, state[masked[key]])
            matrices[key] = {"storage": kind, "shape": list(tensor.shape)}
            tensors.update({f"{key}.{part}": value for part, value in parts.items()})
        else:
            tensors[key] = tensor.float().contiguous()
    description = {"model_class": name, "hparams": model.hparams,
                   "vocab": None if saved.vocab is None else saved.vocab.to_list(),
                   "classes": None if saved.classes is None else list(saved.classes),
                   "trial_id": saved.trial_id, "metadata": saved.metadata, "matrices": matrices}
    try:
        text = json.dumps(description)
    except (TypeError, ValueError) as exc:
        raise InputError(f"export saves plain data only (str, numbers, lists, dicts): {exc}") from None
    if json.loads(text)["hparams"] != model.hparams:
        raise InputError(f"export cannot store the {name}'s hparams as JSON: its vertices must be ints or strings.")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    try:
        save_file(tensors, tmp, metadata={"format": FORMAT, "model": text})
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)  # only left when writing failed
    dense = sum(t.numel() for k, t in state.items() if k not in masked.values()) * 4
    return Exported(path, path.stat().st_size, dense, {k: m["storage"] for k, m in matrices.items()})


def is_exported(path: str | Path) -> bool:
    """Whether ``path`` looks like a model file (a safetensors header) rather than a
    checkpoint (a zip or pickle); False for a file that cannot be read."""
    try:
        with open(path, "rb") as file:
            head = file.read(9)
    except OSError:
        return False
    return len(head) == 9 and head[8:9] == b"{"


def load(path: str | Path, *, kernel: str = "auto") -> Checkpoint:
    """Read a model file written by :func:`export`: a :class:`~sparsernn.checkpoint.Checkpoint`
    whose model is a :class:`~sparsernn.infer.SparseModel` computing with ``kernel`` (``"auto"``,
    ``"sparse"`` or ``"fused"``; see :mod:`sparsernn.infer.engine`).

    Raises :class:`~sparsernn.errors.InputError`, one line naming the file, for a
    missing, foreign or damaged file, and for one whose parts do not fit together.
    """
    check_choice(kernel, "kernel", "load", KERNELS)
    path = Path(path)
    where = f"Model file {str(path)!r}"
    header, tensors = _read(path, where)
    description = _description(header, where)
    name, hparams = description["model_class"], description["hparams"]
    matrices = _matrices(description["matrices"], where)
    shapes = {k: v for k, v in tensors.items() if not any(k.startswith(m + ".") for m in matrices)}
    for key, shape in matrices.items():  # stand-ins with the stated shapes, masks included, to size the model
        prefix, dot, last = key.rpartition(".")
        shapes[key] = shapes[f"{prefix}{dot}{mask_name(last)}"] = torch.empty(shape, device="meta")
    meta = meta_model(name, hparams, shapes, where)
    weights = _weights(meta.state_dict(), tensors, matrices, description["matrices"], where)
    vocab, classes = check_labels(meta, description["vocab"], description["classes"], where)
    return Checkpoint(SparseModel(name, hparams, weights, kernel=kernel), vocab, classes,
                      description["trial_id"], description["metadata"])


def _read(path: Path, where: str) -> tuple[dict, dict[str, Tensor]]:
    """The header's metadata and every tensor of a safetensors file."""
    try:
        with safetensors.safe_open(path, framework="pt") as file:
            return file.metadata() or {}, {key: file.get_tensor(key) for key in file.keys()}
    except FileNotFoundError:
        raise InputError(f"{where} does not exist.") from None
    except safetensors.SafetensorError as exc:
        raise InputError(f"{where} is not a {FORMAT} file (not safetensors: {_first_line(exc)}).") from None
    except (OSError, RuntimeError, TypeError, ValueError) as exc:
        raise InputError(f"{where} cannot be read: {_first_line(exc)}") from None


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _description(header: dict, where: str) -> dict:
    """The header's JSON model description, its top-level types checked."""
    if header.get("format") != FORMAT:
        raise InputError(f"{where} is not a {FORMAT} file (its header's format is {header.get('format')!r}).")
    try:
        description = json.loads(header.get("model", ""))
    except (ValueError, RecursionError):
        raise InputError(f"{where} is damaged: its 'model' header is not JSON.") from None
    if not isinstance(description, dict) or set(description) != _KEYS:
        found = sorted(description) if isinstance(description, dict) else type(description).__name__
        raise InputError(f"{where} is damaged: its 'model' header must have the keys {sorted(_KEYS)}; got {found}.")
    checks = {"model_class": lambda v: v in MODEL_CLASSES, "trial_id": lambda v: v is None or isinstance(v, str),
              "metadata": lambda v: isinstance(v, dict), "matrices": lambda v: isinstance(v, dict)}
    for key, good in checks.items():
        if not good(description[key]):
            raise InputError(f"{where} is damaged: its {key!r} is {description[key]!r}.")
    return description


def _matrices(entries: dict, where: str) -> dict[str, tuple[int, int]]:
    """``{weight name: shape}`` of the header's ``matrices``, each entry checked."""
    shapes = {}
    for key, entry in entries.items():
        shape = entry.get("shape") if isinstance(entry, dict) else None
        if not isinstance(entry, dict) or set(entry) != {"storage", "shape"} or entry["storage"] not in KINDS \
                or not isinstance(shape, list) or len(shape) != 2 \
                or not all(isinstance(n, int) and not isinstance(n, bool) and 0 <= n < 2**31 for n in shape):
            raise InputError(f"{where} is damaged: matrix {key!r} must be {{'storage': one of {list(KINDS)}, "
                             f"'shape': [rows, cols]}}; got {entry!r}.")
        shapes[key] = (shape[0], shape[1])
    return shapes


def _weights(expected: dict[str, Tensor], tensors: dict[str, Tensor], matrices: dict[str, tuple[int, int]],
             entries: dict, where: str) -> dict[str, Tensor]:
    """The SparseModel's weights: every masked weight decoded to CSR, every other tensor
    as it is; InputError unless the file holds exactly the tensors the model has."""
    masked = _masked(expected)
    if set(masked) != set(matrices):
        key = sorted(set(masked) ^ set(matrices))[0]
        which = "lacks the" if key in masked else "has an unexpected"
        raise InputError(f"{where} does not match its model: it {which} masked matrix {key!r}.")
    wanted = {k for k in expected if k not in masked and k not in masked.values()}
    wanted |= {f"{k}.{part}" for k in matrices for part in PARTS[entries[k]["storage"]]}
    for key in sorted(wanted ^ set(tensors)):
        which = "lacks" if key in wanted else "has an unexpected"
        raise InputError(f"{where} does not match its model: it {which} tensor {key!r}.")
    weights = {}
    for key, want in expected.items():
        if key in masked.values():
            continue
        if key in masked:
            if tuple(want.shape) != matrices[key]:
                raise InputError(f"{where} does not match its model: {key!r} has shape {list(matrices[key])}, "
                                 f"expected {list(want.shape)}.")
            parts = {p: tensors[f"{key}.{p}"] for p in PARTS[entries[key]["storage"]]}
            try:
                weights[key] = decode(entries[key]["storage"], matrices[key], parts, key)
            except InputError as exc:
                raise InputError(f"{where} is damaged: {exc}") from None
            continue
        tensor = tensors[key]
        if tensor.dtype != torch.float32 or tensor.shape != want.shape:
            raise InputError(f"{where} does not match its model: {key!r} is {tensor.dtype} of shape "
                             f"{list(tensor.shape)}, expected torch.float32 of shape {list(want.shape)}.")
        weights[key] = tensor
    return weights
