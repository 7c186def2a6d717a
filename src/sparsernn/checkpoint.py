"""Checkpoints: a model's state dict, its hyperparameters and its vocabulary.

A checkpoint is written with :func:`torch.save` and read back with
``weights_only=True``, so loading a file never runs code from it. The masks are
buffers in the state dict, so the checkpoint alone rebuilds the masked model.
"""

from __future__ import annotations

import os
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
    """Read a checkpoint written by :func:`save_checkpoint`: ``(model, vocab, metadata)``."""
    path = Path(path)
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise InputError(f"Checkpoint {str(path)!r} does not exist.") from None
    except Exception as exc:  # torch raises many types for a corrupt or unsafe file
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"Checkpoint {str(path)!r} cannot be read safely: {first}") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise InputError(f"Checkpoint {str(path)!r} is not a {FORMAT} file.")
    model = SequenceClassifier(**payload["hparams"])
    try:
        model.load_state_dict(payload["state_dict"])
    except RuntimeError as exc:
        raise InputError(f"Checkpoint {str(path)!r} does not match its model: {str(exc).splitlines()[0]}") from None
    vocab = None if payload["vocab"] is None else Vocabulary.from_list(payload["vocab"])
    return model, vocab, payload.get("metadata", {})
