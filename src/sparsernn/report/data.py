"""The analysis tables a report is drawn from, read once from a results directory.

Which sections a report has follows from which of these tables have rows, never from
kind names: a study's dense trials are those of the registry's default kind
(:func:`sparsernn.registry.default_kind`); pruning trials are the rows of
:func:`~sparsernn.analysis.pruning.pruning_trials` whose network is not a GraphRNN;
graph-structured trials are those of the kinds that have an analysis
(:attr:`~sparsernn.registry.StudyKind.analyze`), read by
:func:`~sparsernn.analysis.structure.structure_table`; budget-matched families come
from :func:`~sparsernn.analysis.compare.compare_summary`, and pruned GraphRNNs from
:func:`~sparsernn.analysis.prune_structure.prune_structure_trials`. A study that prunes
GraphRNNs also trains the GraphRNNs and dense networks it compares them with; those
appear in its own section, not among the structure and comparison studies.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pandas as pd

from .. import registry
from ..analysis import bootstrap_ci, pruning_summary, pruning_trials, structure_table
from ..analysis.compare import compare_summary
from ..analysis.prune_structure import prune_structure_summary, prune_structure_trials
from ..store import Store

DELTA = 0.01  # accuracy within DELTA of the dense base counts as recovered (as in ``results --summary``)


@dataclass
class StudyData:
    """A results directory's trials and every analysis table a report shows.

    ``runs``, ``epochs``, ``artefacts``: the store's tables (:class:`~sparsernn.store.Store`);
    ``dense``: the epochs of dense trials; ``pruning``: one row per pruning trial with
    ``pruning_configs`` and ``pruning_max`` its summary; ``structure``: one row per
    trained GraphRNN; ``compare``: the comparison's ``families``, ``gain`` and
    ``trials``; ``prune_structure``: one row per pruned GraphRNN with
    ``prune_structure_tables`` its summary.
    """

    runs: pd.DataFrame
    epochs: pd.DataFrame
    artefacts: pd.DataFrame
    delta: float = DELTA
    seed: int = 0
    dense: pd.DataFrame = field(default_factory=pd.DataFrame)
    pruning: pd.DataFrame = field(default_factory=pd.DataFrame)
    pruning_configs: pd.DataFrame = field(default_factory=pd.DataFrame)
    pruning_max: pd.DataFrame = field(default_factory=pd.DataFrame)
    structure: pd.DataFrame = field(default_factory=pd.DataFrame)
    compare: dict = field(default_factory=dict)
    prune_structure: pd.DataFrame = field(default_factory=pd.DataFrame)
    prune_structure_tables: dict = field(default_factory=dict)


def _has_graph(runs: pd.DataFrame) -> pd.Series:
    return pd.Series(["graph" in json.loads(c) for c in runs["config"]], index=runs.index, dtype=bool)


def _dense_epochs(runs: pd.DataFrame, epochs: pd.DataFrame) -> pd.DataFrame:
    dense = registry.default_kind().name
    ids = runs.loc[(runs["kind"] == dense) & (runs["status"] == "done"), "run_id"]
    return epochs[epochs["run_id"].isin(ids) & (epochs["phase"] == "train")]


def _structure(runs: pd.DataFrame, epochs: pd.DataFrame, artefacts: pd.DataFrame, skip: set) -> pd.DataFrame:
    analysed = [name for name, kind in registry.kinds().items() if kind.analyze is not None]
    mine = runs[runs["kind"].isin(analysed) & ~runs["study"].isin(skip)]
    return structure_table(mine, epochs, artefacts) if len(mine) else pd.DataFrame()


def collect(runs: pd.DataFrame, epochs: pd.DataFrame, artefacts: pd.DataFrame, *, delta: float = DELTA,
            seed: int = 0) -> StudyData:
    """Every table of a report from the store's ``runs``, ``epochs`` and ``artefacts``."""
    data = StudyData(runs, epochs, artefacts, delta=delta, seed=seed)
    if runs.empty:
        return data
    data.dense = _dense_epochs(runs, epochs)
    plain = runs[~_has_graph(runs)]
    data.pruning = pruning_trials(plain, epochs, delta=delta)
    if not data.pruning.empty:
        summary = pruning_summary(plain, epochs, delta=delta, seed=seed)
        data.pruning_configs, data.pruning_max = summary["configurations"], summary["max_sparsity"]
    data.prune_structure = prune_structure_trials(runs, epochs, artefacts, delta=delta)
    skip = set(data.prune_structure["study"]) if not data.prune_structure.empty else set()
    if skip:
        data.prune_structure_tables = prune_structure_summary(data.prune_structure, seed=seed)
    data.structure = _structure(runs, epochs, artefacts, skip)
    others = runs[~runs["study"].isin(skip)]
    data.compare = compare_summary(others, epochs, artefacts, seed=seed) if len(others) else {}
    return data


def load(directory: str, *, delta: float = DELTA, seed: int = 0) -> StudyData:
    """:func:`collect` for the results database in ``directory``, opened read-only (a
    missing, foreign or corrupt database is an :class:`~sparsernn.errors.InputError`)."""
    with Store(directory, readonly=True) as store:
        store.quick_check()
        runs, epochs, artefacts = store.runs(), store.epochs(), store.artefacts()
    return collect(runs, epochs, artefacts, delta=delta, seed=seed)


def intervals(frame: pd.DataFrame, keys: list[str], column: str, *, seed: int = 0) -> pd.DataFrame:
    """``column``'s mean over the rows of each group of ``keys``, with its 95 % bootstrap
    interval (:func:`~sparsernn.analysis.stats.bootstrap_ci`; missing for one value) and
    the number of values: columns ``keys, mean, low, high, n``.

    >>> frame = pd.DataFrame({"epoch": [1, 1, 2], "acc": [0.5, 0.7, 0.9]})
    >>> intervals(frame, ["epoch"], "acc")[["epoch", "mean", "n"]].values.tolist()
    [[1.0, 0.6, 2.0], [2.0, 0.9, 1.0]]
    """
    rows = []
    for key, group in frame.groupby(keys, sort=True, dropna=False):
        values = group[column].dropna().tolist()
        mean, low, high = bootstrap_ci(values, seed=seed)
        rows.append({**dict(zip(keys, key if isinstance(key, tuple) else (key,))), "mean": mean, "low": low,
                     "high": high, "n": len(values)})
    return pd.DataFrame(rows, columns=[*keys, "mean", "low", "high", "n"])
