"""Metrics of a budget-matched comparison (``kind: compare``), per family, cell and budget.

Each metric is defined once, here; the docs quote these definitions. For a compare
trial (or a trial of the study's wide dense model, family ``wide_dense``):

- **family**: how the network was made (:mod:`sparsernn.studies.kinds.compare`), with
  the generator for graph families: ``graph:watts_strogatz``,
  ``random_mask:watts_strogatz``; ``wide_dense`` for the study's dense model (the
  network the pruned families start from), whose ``budget`` is missing.
- **final_acc**: test accuracy after the trial's last epoch.
- **final_bits**: the test loss after the last epoch in bits, ``test_loss / ln 2``
  (bits per character for a language model; lower is better).
- **train_epochs**: the epochs the network was trained for, counting for
  ``pruned_one_shot`` its parent's (the dense training) and its own retraining.
- **epochs_to_99**: the first epoch ``e >= 1`` whose test accuracy is at least 0.99 ×
  ``final_acc``, counted like ``train_epochs`` (for ``pruned_one_shot``: the parent's
  epochs plus the retraining epoch; epoch 0 of retraining, right after pruning, counts
  as the parent's last epoch).
- **seconds_per_epoch**: the mean wall time of the trial's own training epochs
  (``e >= 1``; evaluation included).
- **train_seconds**: the wall time of all training epochs, the parent's included for
  ``pruned_one_shot``.
- **recurrent**: the recurrent weights kept after training (input-to-hidden plus
  hidden-to-hidden, mask entries True: :func:`sparsernn.budgets.recurrent_weights`);
  **nonzero**, **total**: all nonzero and all parameters
  (:func:`sparsernn.nn.count_parameters`), embedding and readout included.
- **density**: ``recurrent`` divided by all the recurrent weights of the network's own
  layers at its own widths (``recurrent_total`` of
  :func:`sparsernn.budgets.recurrent_weights`); 1 for a dense network. A ``graph:G``
  network of density 1 connects every unit of a layer to every unit of the next, so its
  random-mask control has nowhere else to put its connections: the two are the same
  network and their ``structure_gain`` is 0 by construction.
- **peak_rss_mib**: the trial's peak resident memory above its start
  (:class:`sparsernn.memory.PeakMemory`); missing for the dense references.
- **structure_gain** (paired, per seed): ``final_acc`` of ``graph:G`` minus that of
  ``random_mask:G`` for the same cell, budget, generator and seed -- the same layers,
  widths, initial weights and number of connections per matrix, so the difference is
  what the graph's structure adds beyond its sparsity. It is shown next to the graphs'
  per-seed ``density``: a seed whose graph has density 1 compares a network with itself.

Trials are grouped by **configuration** (every setting but the seed), so trials that
differ in anything else are never pooled. Over the seeds each metric is reported as
its mean, a 95 % percentile-bootstrap interval of the mean
(:func:`~sparsernn.analysis.stats.bootstrap_ci`, inside the observed range) and the
per-seed values.
"""

from __future__ import annotations

import json
import math

import pandas as pd

from ..budgets import dense_weights
from ..errors import InputError
from .pruning import language_model_studies
from .settings import select_columns
from .stats import bootstrap_ci, per_seed

METRICS = ("final_acc", "final_bits", "train_epochs", "epochs_to_99", "seconds_per_epoch", "train_seconds",
           "recurrent", "density", "nonzero", "total", "peak_rss_mib")
_LN2 = math.log(2)
WIDE = "wide_dense"


def _family(config: dict, run) -> str | None:
    """The family of a trial of a compare study (``config``: its stored settings); None
    for a trial that is neither a compare trial nor the study's dense model."""
    rule = config.get(run.kind)
    if isinstance(rule, dict) and "family" in rule:
        return rule["family"] + (f":{rule['generator']}" if rule.get("generator") else "")
    dense = "hidden_sizes" in config.get("model", {}) and "graph" not in config and rule is None
    return WIDE if dense and not isinstance(run.parent, str) else None


def _first_at(rows: pd.DataFrame, level: float) -> float:
    hit = rows[(rows["epoch"] >= 1) & (rows["test_acc"] >= level - 1e-12)]
    return float(hit["epoch"].iloc[0]) if len(hit) else math.nan


def _artefact(artefacts: pd.DataFrame | None, kind: str) -> dict:
    if artefacts is None or artefacts.empty:
        return {}
    rows = artefacts[artefacts["kind"] == kind]
    return dict(zip(rows["run_id"], rows["data"]))


def compare_trials(runs: pd.DataFrame, epochs: pd.DataFrame, artefacts: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per finished trial of a study with compare trials (its dense references
    included): ``run_id, study, configuration, cell, seed, family, budget`` and the
    metrics above."""
    configs = {run.run_id: json.loads(run.config) for run in runs.itertuples()}
    studies = {run.study for run in runs.itertuples() if "family" in (configs[run.run_id].get(run.kind) or {})}
    done = runs[(runs["status"] == "done") & runs["study"].isin(studies)]
    memory, counts = _artefact(artefacts, "memory"), _artefact(artefacts, "budget")
    own = {run_id: rows.sort_values("epoch") for run_id, rows in epochs.groupby("run_id")}
    rows = []
    for run in done.itertuples():
        config = configs[run.run_id]
        family = _family(config, run)
        mine = own.get(run.run_id)
        parent = own.get(run.parent) if isinstance(run.parent, str) else None
        if family is None or mine is None or (isinstance(run.parent, str) and parent is None):
            continue
        rows.append(_row(run, config, family, mine, parent, memory, counts))
    return pd.DataFrame(rows)


def _row(run, config: dict, family: str, mine: pd.DataFrame, parent: pd.DataFrame | None, memory: dict,
         counts: dict) -> dict:
    final = mine.iloc[-1]
    own_epochs = int(mine["epoch"].max())
    trained = mine[mine["epoch"] >= 1]
    before = 0 if parent is None else int(parent["epoch"].max())
    before_seconds = 0.0 if parent is None else float(parent.loc[parent["epoch"] >= 1, "seconds"].sum())
    if family == WIDE:
        model = config["model"]
        recurrent = total = dense_weights(run.cell, model["embedding_dim"], model["hidden_sizes"])
    else:
        count = counts.get(run.run_id, {})
        recurrent, total = count.get("recurrent", math.nan), count.get("recurrent_total", math.nan)
    return {
        "run_id": run.run_id, "study": run.study, "configuration": run.configuration, "cell": run.cell,
        "seed": run.seed, "family": family, "budget": config.get("budget"),
        "final_acc": float(final["test_acc"]),
        "final_bits": float(final["test_loss"]) / _LN2,
        "train_epochs": before + own_epochs,
        "epochs_to_99": before + _first_at(mine, 0.99 * float(final["test_acc"])),
        "seconds_per_epoch": float(trained["seconds"].mean()) if len(trained) else math.nan,
        "train_seconds": before_seconds + float(trained["seconds"].sum()),
        "recurrent": float(recurrent), "density": float(recurrent) / total if total else math.nan,
        "nonzero": float(final["nonzero_params"]), "total": float(final["total_params"]),
        "peak_rss_mib": float(memory.get(run.run_id, {}).get("peak_rss_mib", math.nan)),
    }


def _metric(group: pd.DataFrame, column: str, seed: int) -> dict:
    values = group[column].tolist()
    mean, low, high = bootstrap_ci(values, seed=seed)
    return {column: mean, f"{column}_low": low, f"{column}_high": high, f"{column}_seeds": per_seed(values)}


def compare_summary(runs: pd.DataFrame, epochs: pd.DataFrame, artefacts: pd.DataFrame | None = None, *,
                    seed: int = 0) -> dict[str, pd.DataFrame]:
    """The comparison's tables: ``"families"`` (one row per study and configuration: its
    cell, family, budget, seeds, and every metric's mean, ``*_low``/``*_high`` 95 %
    bootstrap interval and ``*_seeds``), ``"gain"`` (``structure_gain`` per cell,
    budget and generator, paired by seed) and ``"trials"`` (:func:`compare_trials`)."""
    trials = compare_trials(runs, epochs, artefacts)
    if trials.empty:
        return {"families": pd.DataFrame(), "gain": pd.DataFrame(), "trials": trials}
    trials = trials.sort_values("seed", kind="stable")
    rows = []
    for (study, configuration), group in trials.groupby(["study", "configuration"], sort=False):
        first = group.iloc[0]
        row = {"study": study, "configuration": configuration, "cell": first["cell"], "family": first["family"],
               "budget": first["budget"], "seeds": len(group)}
        for column in METRICS:
            row.update(_metric(group, column, seed))
        rows.append(row)
    families = pd.DataFrame(rows)
    families["_wide"] = families["family"] == WIDE  # the wide reference first within a cell
    families = families.sort_values(["study", "cell", "_wide", "budget", "family"],
                                    ascending=[True, True, False, True, True], kind="stable")
    return {"families": families.drop(columns="_wide").reset_index(drop=True),
            "gain": structure_gain(trials, seed=seed), "trials": trials}


def structure_gain(trials: pd.DataFrame, *, seed: int = 0) -> pd.DataFrame:
    """``structure_gain`` (module docstring) per study, cell, budget and generator: its mean,
    95 % bootstrap interval and per-seed values, over the seeds that have both trials."""
    graph = trials[trials["family"].str.startswith("graph:")].copy()
    control = trials[trials["family"].str.startswith("random_mask:")].copy()
    if graph.empty or control.empty:
        return pd.DataFrame()
    graph["generator"] = graph["family"].str.split(":").str[1]
    control["generator"] = control["family"].str.split(":").str[1]
    keys = ["study", "cell", "budget", "generator", "seed"]
    paired = graph.merge(control, on=keys, suffixes=("_graph", "_control"))
    paired["structure_gain"] = paired["final_acc_graph"] - paired["final_acc_control"]
    rows = []
    for (study, cell, budget, generator), group in paired.groupby(keys[:-1], sort=True):
        mean, low, high = bootstrap_ci(group["structure_gain"].tolist(), seed=seed)
        rows.append({"study": study, "cell": cell, "budget": budget, "generator": generator, "seeds": len(group),
                     "graph_acc_seeds": per_seed(group["final_acc_graph"].tolist()),
                     "control_acc_seeds": per_seed(group["final_acc_control"].tolist()),
                     "graph_density_seeds": per_seed(group["density_graph"].tolist()),
                     "structure_gain": mean, "structure_gain_low": low, "structure_gain_high": high,
                     "structure_gain_seeds": per_seed(group["structure_gain"].tolist())})
    return pd.DataFrame(rows)


def _interval(row: pd.Series, column: str) -> str:
    mean, low, high = row[column], row[f"{column}_low"], row[f"{column}_high"]
    if pd.isna(low):
        return f"{mean:.3g}"
    return f"{mean:.3g} [{low:.3g}, {high:.3g}]"


FAMILY_COLUMNS = ["cell", "budget", "family", "seeds", "final_acc_ci", "final_acc_seeds", "epochs_to_99_seeds",
                  "train_epochs", "seconds_per_epoch", "recurrent", "density", "nonzero", "total", "peak_rss_mib"]


def compare_tables(runs: pd.DataFrame, epochs: pd.DataFrame, *, delta: float = 0.01, columns: str | None = None,
                   artefacts: pd.DataFrame | None = None) -> list[tuple[pd.DataFrame, str]]:
    """The tables of ``sparsernn results --summary compare``, as ``(table, title)``: per
    study, every family's accuracy (mean [95 % interval] and per seed), training cost and
    counts, per cell and budget; then the structure gain of each generator's graphs over
    their random-mask controls. ``delta`` is not used (no recovery here)."""
    tables = compare_summary(runs, epochs, artefacts)
    families = tables["families"]
    if families.empty:
        raise InputError("No finished compare trials to summarise.")
    parts, language_models = [], language_model_studies(runs)
    for study, group in families.groupby("study", sort=False):
        shown = group.copy()
        default = FAMILY_COLUMNS + (["final_bits_seeds"] if study in language_models else [])
        shown["final_acc_ci"] = [_interval(row, "final_acc") for _, row in shown.iterrows()]
        for column in ("train_epochs", "recurrent", "nonzero", "total"):
            shown[column] = shown[column].round().astype("Int64")
        for column in ("seconds_per_epoch", "peak_rss_mib"):
            shown[column] = shown[column].round(1)
        shown["density"] = shown["density"].round(3)
        parts.append((shown[select_columns(shown, default, columns)],
                      f"{study}: test accuracy per family at equal recurrent weights (budget), mean [95 % bootstrap "
                      "interval] and per seed; epochs to 99 % of the final accuracy per seed; training cost; "
                      "counts (recurrent: input-to-hidden + hidden-to-hidden weights kept)"))
        gain = tables["gain"]
        gain = gain[gain["study"] == study] if not gain.empty else gain
        if not gain.empty:
            gain = gain.copy()
            gain["structure_gain_ci"] = [_interval(row, "structure_gain") for _, row in gain.iterrows()]
            parts.append((gain[["cell", "budget", "generator", "seeds", "graph_acc_seeds", "control_acc_seeds",
                                "structure_gain_ci", "structure_gain_seeds", "graph_density_seeds"]],
                          f"{study}: structure gain, graph minus random-mask control (same layers, widths, "
                          "initial weights and connections per matrix), paired by seed; a graph of density 1 "
                          "is its own control"))
    return parts


def accuracy_by_budget(families: pd.DataFrame, column: str = "final_acc") -> pd.DataFrame:
    """``families`` (:func:`compare_summary`) as one row per (study, cell, family) and one
    column per budget, each cell ``mean [low, high]`` of ``column`` over the seeds, followed
    by the per-seed values in parentheses where ``families`` has them (``{column}_seeds``):
    accuracy against recurrent weights, per family.

    Examples
    --------
    >>> families = pd.DataFrame({"study": ["s"] * 3, "cell": ["gru"] * 3,
    ...                          "family": ["graph:x", "graph:x", "wide_dense"], "budget": [100, 300, None],
    ...                          "final_acc": [0.6, 0.8, 0.9], "final_acc_seeds": ["0.5 0.7", "0.7 0.9", "0.9"],
    ...                          "final_acc_low": [0.5, 0.7, 0.9], "final_acc_high": [0.7, 0.9, 0.9]})
    >>> accuracy_by_budget(families).values.tolist()
    [['s', 'gru', 'graph:x', '0.6 [0.5, 0.7] (0.5 0.7)', '0.8 [0.7, 0.9] (0.7 0.9)']]
    """
    sized = families[families["budget"].notna()].copy()
    seeds = f"{column}_seeds"
    sized["shown"] = [_interval(row, column) + (f" ({row[seeds]})" if seeds in row else "")
                      for _, row in sized.iterrows()]
    table = sized.pivot_table(index=["study", "cell", "family"], columns="budget", values="shown", aggfunc="first")
    table.columns = [f"{int(budget):,}" for budget in table.columns]
    return table.reset_index().rename_axis(columns=None)


def compare_markdown(runs: pd.DataFrame, epochs: pd.DataFrame, *, delta: float = 0.01,
                     artefacts: pd.DataFrame | None = None) -> list[tuple[pd.DataFrame, str]]:
    """The Markdown file's extra table: test accuracy per family (rows) against the budget in
    recurrent weights (columns), mean [95 % bootstrap interval] over the seeds and the
    per-seed values."""
    families = compare_summary(runs, epochs, artefacts)["families"]
    if families.empty:
        return []
    return [(accuracy_by_budget(families), "test accuracy by budget (columns: recurrent weights kept), mean [95 % "
                                           "bootstrap interval] over seeds (per seed)")]
