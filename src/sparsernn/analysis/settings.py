"""Which stored trials may be compared: study selection and mixed-settings warnings."""

from __future__ import annotations

import json

import pandas as pd

from .. import registry
from ..errors import InputError
from ..ids import flatten, without


def select_study(runs: pd.DataFrame, study: str | None, where: str) -> pd.DataFrame:
    """The trials of ``study`` (all trials for None); an unknown name is an InputError."""
    if study is None:
        return runs
    names = list(dict.fromkeys(runs["study"]))
    if study not in names:
        listed = ", ".join(map(repr, names)) or "none"
        raise InputError(f"No study {study!r} in {where}; it holds {listed}.")
    return runs[runs["study"] == study]


def mixed_settings(runs: pd.DataFrame) -> list[str]:
    """One message per (study, kind) whose trials were run with different settings.

    All trials of one study share every setting it does not sweep by design (its
    kind's :attr:`~sparsernn.registry.StudyKind.swept` and its ``sweep``'s keys,
    :func:`~sparsernn.registry.swept`); two values of such a setting
    under one study name mean that different runs were stored under it (e.g. a rerun
    with other epochs).
    Each message names the settings that differ and their values.

    Examples
    --------
    >>> runs = pd.DataFrame({"study": ["s", "s"], "kind": ["toy", "toy"], "config": [
    ...     json.dumps({"seed": 0, "training": {"lr": 0.001}}), json.dumps({"seed": 1, "training": {"lr": 0.05}})]})
    >>> print(*mixed_settings(runs))
    study 's' holds toy trials with 2 different settings (training.lr: 0.001, 0.05); summaries keep them
    apart by configuration
    """
    messages = []
    for (study, kind), group in runs.groupby(["study", "kind"], sort=False):
        configs = [json.loads(c) for c in group["config"]]
        flat = [flatten(without(c, registry.swept(kind, c))) for c in configs]
        keys = sorted(set().union(*flat))
        varying = {k: list(dict.fromkeys(json.dumps(f.get(k)) for f in flat)) for k in keys}
        varying = {k: v for k, v in varying.items() if len(v) > 1}
        if varying:
            n = len({json.dumps(f, sort_keys=True) for f in flat})
            shown = "; ".join(f"{k}: {', '.join(v)}" for k, v in list(varying.items())[:3])
            more = f"; and {len(varying) - 3} more" if len(varying) > 3 else ""
            messages.append(f"study {study!r} holds {kind} trials with {n} different settings ({shown}{more}); "
                            "summaries keep them apart by configuration")
    return messages


def select_columns(df: pd.DataFrame, default: list[str], requested: str | None) -> list[str]:
    """The columns to show: ``requested`` (comma-separated names) or those of ``default`` in ``df``.

    Examples
    --------
    >>> df = pd.DataFrame({"a": [1], "b": [2]})
    >>> select_columns(df, ["b", "c"], None), select_columns(df, ["b"], "a, b")
    (['b'], ['a', 'b'])
    """
    if not requested:
        return [c for c in default if c in df.columns]
    names = [c.strip() for c in requested.split(",") if c.strip()]
    unknown = [c for c in names if c not in df.columns]
    if unknown:
        raise InputError(f"--columns: unknown column {unknown[0]!r}; expected some of {', '.join(df.columns)}.")
    return names
