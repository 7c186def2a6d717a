"""Ids of trials and of their settings.

A trial's id is a hash of its whole content (:func:`content_id`). Summaries group
trials by two coarser labels, so that trials run with different settings are never
pooled as if they were seeds of one experiment:

- the **configuration** (:func:`configuration_id`): every setting except the seed --
  the trials of one configuration are the seeds of one experiment;
- the **settings** (:func:`settings_id`): every setting except those a study sweeps by
  design (its kind's :attr:`~sparsernn.registry.StudyKind.swept`: seed, cell, and per
  kind the pruning point or the graph) -- all trials of one study share them, so two
  values in one study name mean that different runs were stored under it.
"""

from __future__ import annotations

import copy
import hashlib
import json

LABEL_LENGTH = 8


def content_id(content: dict) -> str:
    """A stable 16-hex-digit id for a JSON-serialisable mapping."""
    text = json.dumps(content, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def without(config: dict, paths) -> dict:
    """A copy of ``config`` without the dotted ``paths`` (missing ones are ignored).

    Examples
    --------
    >>> without({"seed": 0, "training": {"lr": 0.1, "epochs": 3}}, ["seed", "training.lr"])
    {'training': {'epochs': 3}}
    """
    out = copy.deepcopy(config)
    for path in paths:
        *parents, last = path.split(".")
        node = out
        for key in parents:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node.pop(last, None)
    return out


def configuration_id(kind: str, config: dict, *, ignore=("seed",)) -> str:
    """An 8-hex-digit label of a trial's settings except the dotted paths in ``ignore``.

    With the default, trials that differ only in their seed share the label: they are
    the seeds of one configuration.

    Examples
    --------
    >>> a = configuration_id("toy", {"cell": "lstm", "seed": 0, "training": {"lr": 0.001}})
    >>> a == configuration_id("toy", {"cell": "lstm", "seed": 1, "training": {"lr": 0.001}})
    True
    >>> a == configuration_id("toy", {"cell": "lstm", "seed": 0, "training": {"lr": 0.05}})
    False
    """
    return content_id({"kind": kind, **without(config, ignore)})[:LABEL_LENGTH]


def settings_id(kind: str, config: dict, swept=("seed",)) -> str:
    """An 8-hex-digit label of a trial's settings except the dotted paths its study
    sweeps (``swept``, the kind's :attr:`~sparsernn.registry.StudyKind.swept`)."""
    return configuration_id(kind, config, ignore=swept)


def flatten(config: dict, prefix: str = "") -> dict:
    """``{"training": {"lr": 0.1}}`` -> ``{"training.lr": 0.1}`` (lists stay values)."""
    out = {}
    for key, value in config.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out.update(flatten(value, f"{path}."))
        else:
            out[path] = value
    return out
