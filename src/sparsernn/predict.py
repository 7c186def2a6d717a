"""Predictions of a saved model on new strings.

:func:`predict` classifies strings with a :class:`~sparsernn.checkpoint.Checkpoint`'s
model and vocabulary and returns a table: each string, its predicted class (by the
checkpoint's class names) and the probability of every class (the softmax of the
logits). ``sparsernn predict CHECKPOINT --input FILE`` does the same from the command
line, also with a model file from ``sparsernn export`` (:mod:`sparsernn.infer`). A
symbol the vocabulary does not know is refused (``unknown="error"``, the default: the
model never saw it, so its prediction would be a guess) or read as the unknown token
``<unk>`` (``unknown="unk"``).

Examples
--------
>>> import torch
>>> from sparsernn.checkpoint import Checkpoint
>>> from sparsernn.data import Vocabulary
>>> from sparsernn.nn import SequenceClassifier
>>> torch.manual_seed(0) and None
>>> vocab = Vocabulary.from_strings(["BTXSE", "BPVVE"])
>>> saved = Checkpoint(SequenceClassifier("gru", len(vocab), hidden_sizes=[4]), vocab, ("invalid", "valid"))
>>> table = predict(saved, ["BTXSE", "BPE"])
>>> list(table.columns)
['string', 'label', 'p_invalid', 'p_valid']
>>> bool(((table.p_invalid + table.p_valid - 1).abs() < 1e-6).all())
True
>>> predict(saved, ["BTZE"])  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
sparsernn.errors.InputError: string 1 ('BTZE') has the symbol 'Z' at position 3, which the model's vocabulary ...
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch

from .checkpoint import Checkpoint
from .checks import check_choice, check_int
from .errors import InputError
from .nn import GraphRNNPack

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["UNKNOWN", "predict"]

UNKNOWN = ("error", "unk")
"""What :func:`predict` does with a symbol its vocabulary does not know: refuse, or read it as ``<unk>``."""


def predict(saved: Checkpoint, strings: Sequence[str], *, unknown: str = "error", batch_size: int = 1024,
            names: Sequence[str] | None = None) -> pd.DataFrame:
    """Classify ``strings`` with the model and vocabulary of ``saved``.

    Parameters
    ----------
    saved : Checkpoint
        From :func:`~sparsernn.checkpoint.load_checkpoint`, or from
        :func:`sparsernn.infer.load` (a model file: its model computes with sparse
        kernels); its model must read tokens (it has a vocabulary) and be a single
        network (not a :class:`GraphRNNPack`).
    strings : sequence of str
        Each non-empty.
    unknown : {"error", "unk"}, default "error"
        A symbol the vocabulary does not know: InputError naming the first one, or the
        unknown token.
    batch_size : int, default 1024
        Strings per forward pass.
    names : sequence of str, optional
        How errors name the strings (e.g. ``"line 7"``); default ``"string i"``, 1-based.

    Returns
    -------
    pandas.DataFrame
        One row per string, in order: ``string``, ``label`` (the predicted class's name:
        ``saved.classes``, else its index as text) and ``p_<class>`` for every class,
        the softmax probabilities.
    """
    import pandas as pd  # heavy: imported by the call, so that importing this module (the CLI does) stays cheap

    check_choice(unknown, "unknown", "predict", UNKNOWN)
    batch_size = check_int(batch_size, "batch_size", "predict", minimum=1)
    model, vocab = saved.model, saved.vocab
    if isinstance(model, GraphRNNPack):
        raise InputError(f"predict needs one network; this checkpoint holds a pack of {model.num_members} "
                         "GraphRNNs (save one member, pack.member(i), to predict with it).")
    if vocab is None:
        raise InputError("predict reads strings, but this checkpoint has no vocabulary to encode them with.")
    if getattr(model, "per_step", False):
        raise InputError("predict gives one label per string; this model reads out every step (a language model: "
                         "'sparsernn sample' generates text with it).")
    strings = list(strings)
    if names is None:
        names = [f"string {i + 1}" for i in range(len(strings))]
    if unknown == "error":
        _refuse_unknown(vocab, strings, names)
    classes = list(saved.classes) if saved.classes is not None else \
        [str(c) for c in range(model.hparams["num_classes"])]
    model.eval()
    probabilities = []
    with torch.no_grad():
        for start in range(0, len(strings), batch_size):
            tokens, lengths = vocab.encode(strings[start:start + batch_size])  # (B, T), (B,)
            probabilities.append(torch.softmax(model(tokens, lengths).double(), dim=1))  # (B, C)
    p = torch.cat(probabilities) if probabilities else torch.zeros(0, len(classes), dtype=torch.float64)
    table = pd.DataFrame({"string": strings, "label": [classes[i] for i in p.argmax(dim=1).tolist()]})
    for c, name in enumerate(classes):
        table[f"p_{name}"] = p[:, c].numpy()
    return table


def _refuse_unknown(vocab, strings: list[str], names: Sequence[str]) -> None:
    found = vocab.first_unknown(strings)
    if found is None:
        return
    index, position, symbol = found
    shown = strings[index] if len(strings[index]) <= 40 else strings[index][:37] + "..."
    known = ", ".join(map(repr, vocab.symbols))
    raise InputError(f"{names[index]} ({shown!r}) has the symbol {symbol!r} at position {position + 1}, which the "
                     f"model's vocabulary does not know (it knows {known}); to read it as <unk>, pass unknown='unk' "
                     "(--unknown unk).")
