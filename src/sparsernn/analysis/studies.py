"""Each kind's own summaries and analyses, for whichever kinds a set of trials holds.

The kinds (:mod:`sparsernn.registry`) say which tables they make; the command line
shows them.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .. import registry
from ..errors import InputError
from ..store import FINISHED, STATUSES

Tables = list[tuple[pd.DataFrame, str]]


summary_kinds = registry.summary_kinds  # the kinds with a summary table


def summarise_studies(runs: pd.DataFrame, epochs: pd.DataFrame, kind: str, *, delta: float = 0.01,
                      columns: str | None = None, markdown: bool = False,
                      artefacts: pd.DataFrame | None = None) -> tuple[Tables, Tables]:
    """The summary tables of ``kind`` (:attr:`~sparsernn.registry.StudyKind.summary`) for
    the studies of ``runs`` that hold trials of ``kind``, as ``(table, title)`` pairs, and
    with ``markdown`` the kind's tables for the Markdown file only (else none);
    ``artefacts``, the stored artefacts, for kinds whose tables read them."""
    spec = registry.get(kind, where="--summary")
    if spec.summary is None:
        raise InputError(f"--summary: kind {kind!r} has no summary; expected one of {', '.join(summary_kinds())}.")
    runs = runs[runs["study"].isin(runs.loc[runs["kind"] == kind, "study"])]  # the studies with trials of the kind
    parts = spec.summary(runs, epochs, delta=delta, columns=columns, artefacts=artefacts)
    extras = spec.markdown_summary(runs, epochs, delta=delta) if markdown and spec.markdown_summary else []
    return parts, extras


def analyze_studies(runs: pd.DataFrame, epochs: pd.DataFrame, artefacts: pd.DataFrame,
                    **options) -> tuple[Tables, dict[str, pd.DataFrame]]:
    """The analyses (:attr:`~sparsernn.registry.StudyKind.analyze`) of every kind that
    ``runs`` holds trials of: ``(parts, outputs)``, the ``(table, title)`` pairs to show
    and the tables by file name."""
    parts: Tables = []
    outputs: dict[str, pd.DataFrame] = {}
    analysed = [kind for name, kind in registry.kinds().items()
                if kind.analyze is not None and (runs["kind"] == name).any()]
    if not analysed:
        names = " or ".join(n for n, k in registry.kinds().items() if k.analyze is not None)
        raise InputError(f"No finished {names} trials to analyse.")
    for kind in analysed:
        more, tables = kind.analyze(runs[runs["kind"] == kind.name], epochs, artefacts, **options)
        parts += more
        outputs.update(tables)
    return parts, outputs


def trials_table(runs: pd.DataFrame, epochs: pd.DataFrame) -> pd.DataFrame:
    """One row per trial for ``sparsernn results``: ``run`` (the id's first 8 digits), its
    settings and status, and its last epoch's ``phase, epoch, test_acc`` and ``params``
    (nonzero/total parameters); ``dataset`` is a file's name without its directory."""
    last = epochs.groupby("run_id").last()  # each trial's final epoch row
    table = runs.set_index("run_id")[["study", "kind", "cell", "dataset", "seed", "configuration", "settings",
                                      "target", "target_sparsity", "model_sparsity", "status", "seconds"]]
    table = table.join(last[["phase", "epoch", "test_acc"]])
    table["params"] = [f"{int(n)}/{int(t)}" if n == n else "-"
                       for n, t in zip(last["nonzero_params"].reindex(table.index),
                                       last["total_params"].reindex(table.index))]
    table["dataset"] = [Path(str(d)).name for d in table["dataset"]]
    table.index = table.index.str[:8]
    return table.reset_index().rename(columns={"run_id": "run"})


def progress(runs: pd.DataFrame) -> tuple[pd.DataFrame, tuple[int, float] | None]:
    """Trials per study, kind and status (with a ``total``; a status may also be
    ``interrupted``, see ``sparsernn status``), and for unfinished trials
    ``(count, seconds)``: the seconds one worker would need at the mean time of finished
    trials of each kind (None if nothing is left or nothing has finished)."""
    counts = runs.groupby(["study", "kind", "status"]).size().unstack("status", fill_value=0)
    counts = counts.reindex(columns=[s for s in (*STATUSES, "interrupted") if s in counts.columns])
    counts["total"] = counts.sum(axis=1)
    unfinished = runs[~runs["status"].isin(FINISHED)]
    mean_seconds = runs[runs["status"].isin(FINISHED)].groupby("kind")["seconds"].mean()
    if not len(unfinished) or not len(mean_seconds):
        return counts.reset_index(), None
    per_trial = unfinished["kind"].map(mean_seconds).fillna(mean_seconds.mean())
    return counts.reset_index(), (len(unfinished), float(per_trial.sum()))
