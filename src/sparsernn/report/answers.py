"""The five research questions, each answered in a sentence or two computed from the tables.

No sentence is written in advance: every number, name and comparison in an answer is
read from the analysis tables of :class:`~sparsernn.report.data.StudyData`, and an
answer says where intervals overlap instead of ranking what the data do not separate.
A question the study has no data for is answered "not answered by this study", with
what would answer it.

- **RQ1** (pruning, accuracy and training time): from the pruning configurations and
  maximum sparsities: the range over cells and targets of the largest level still
  within ``delta`` of the dense base right after pruning (median seed); the mean
  accuracy at the highest level, of the bases, right after pruning and after
  retraining; the median recovery epochs; and each network's wall time per epoch
  (a trial's seconds over its epochs; pruned children retrained together share their
  stack's time), pruned retraining against its dense base's training.
- **RQ2** (feasible pruning): per cell and target, the largest level at which the
  median seed still recovered (``max_feasible_sparsity``, median over seeds), and the
  curves whose seeds disagree.
- **RQ3** (structural against dense and pruned): at each cell and budget, the family
  with the highest mean accuracy and whether its bootstrap interval overlaps the
  runner-up's; how often a graph family was the best; the paired gain of graphs over
  their random-mask controls.
- **RQ4** (graph properties): per cell, how many properties correlate with accuracy at
  a Benjamini–Hochberg adjusted p below 0.05 (Spearman), the strongest, and the best
  cross-validated R² of predicting accuracy from all of them.
- **RQ5** (pruning structurally sparse RNNs): the median maximum feasible sparsity of
  the pruned GraphRNNs per generator and target, and how often they were more or less
  accurate than the dense network pruned to the same count (intervals apart or not).

Examples
--------
>>> overlap((0.5, 0.7), (0.6, 0.9)), overlap((0.5, 0.55), (0.6, 0.9)), overlap((0.5, float("nan")), (0.6, 0.9))
(True, False, None)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..analysis.compare import WIDE
from .data import StudyData

P_BH = 0.05
TIE = 5e-4  # mean accuracies closer than this (they print alike to 3 decimals) are a tie
QUESTIONS = (
    "How does pruning affect accuracy and training time?",
    "How much pruning is feasible?",
    "How do structurally sparse RNNs compare with dense and pruned RNNs of the same size?",
    "Which graph properties correlate with accuracy?",
    "How do structurally sparse RNNs respond to pruning?",
)


@dataclass(frozen=True)
class Answer:
    """A research question's answer: its ``sentences`` (none: not answered, ``missing``
    says what would answer it) and the ``evidence``, (label, anchor) pairs of the page."""

    number: int
    question: str
    sentences: tuple[str, ...] = ()
    evidence: tuple[tuple[str, str], ...] = ()
    missing: str = ""
    headline: str = ""

    @property
    def answered(self) -> bool:
        return bool(self.sentences)

    @property
    def text(self) -> str:
        return " ".join(self.sentences) if self.sentences else f"Not answered by this study: {self.missing}"


def overlap(a: tuple[float, float], b: tuple[float, float]) -> bool | None:
    """Whether two intervals share a point; None when either is undefined (one seed)."""
    if any(v is None or (isinstance(v, float) and math.isnan(v)) for v in (*a, *b)):
        return None
    return a[0] <= b[1] and b[0] <= a[1]


def _acc(mean: float, low: float = math.nan, high: float = math.nan) -> str:
    """``0.912 [0.874, 0.950]``, or the mean alone without an interval."""
    if isinstance(low, float) and math.isnan(low):
        return f"{mean:.3f}"
    return f"{mean:.3f} [{low:.3f}, {high:.3f}]"


def _levels(values) -> str:
    values = sorted(set(values))
    return f"{values[0]:g}" if len(values) == 1 else f"{values[0]:g} to {values[-1]:g}"


def _change(before: float, after: float) -> str:
    """``"fell from 0.990 (dense) to 0.500 right after pruning"`` (or rose, or stayed)."""
    if abs(before - after) < TIE:
        return f"stayed at {before:.3f} right after pruning (dense: {before:.3f})"
    verb = "fell" if after < before else "rose"
    return f"{verb} from {before:.3f} (dense) to {after:.3f} right after pruning"


def _curve(row) -> str:
    return f"{row['cell']}/{row['target']}"


def _seconds_per_epoch(data: StudyData, run_ids, phase: str) -> float:
    """Mean over ``run_ids`` of a trial's seconds over its epochs of ``phase`` (e >= 1)."""
    epochs = data.epochs[data.epochs["run_id"].isin(run_ids) & (data.epochs["phase"] == phase)]
    count = epochs.groupby("run_id")["epoch"].max()
    seconds = data.runs.set_index("run_id")["seconds"].reindex(count.index)
    per = (seconds / count.where(count > 0)).dropna()
    return float(per.mean()) if len(per) else math.nan


def _speed(data: StudyData) -> str:
    children = data.pruning["run_id"]
    parents = data.runs.loc[data.runs["run_id"].isin(children), "parent"].dropna().unique()
    pruned, dense = _seconds_per_epoch(data, children, "retrain"), _seconds_per_epoch(data, parents, "train")
    if math.isnan(pruned) or math.isnan(dense) or dense <= 0:
        return "."
    ratio = pruned / dense
    verdict = "about as long as" if abs(ratio - 1) <= 0.1 else ("longer than" if ratio > 1 else "less time than")
    return (f"; an epoch of retraining took {pruned:.2f} s of wall time per network, {verdict} an epoch of training "
            f"its dense base ({dense:.2f} s, ratio {ratio:.2f}).")


def _safe(data: StudyData) -> str:
    curves = data.pruning_max
    if curves.empty:
        return ""
    safe = curves["max_safe_sparsity_median"]
    lowest, highest = curves.loc[safe.idxmin()], curves.loc[safe.idxmax()]
    if safe.max() == 0:
        where = "at no level tested, for any cell and target"
    elif safe.min() == safe.max():
        where = f"up to a sparsity of {safe.max():g} for every cell and target"
    elif safe.min() == 0:
        where = (f"up to a sparsity of {safe.max():g} ({_curve(highest)}) and at no level tested for "
                 f"{int((safe == 0).sum())} of {len(safe)} cells and targets (e.g. {_curve(lowest)})")
    else:
        where = f"up to a sparsity of {safe.min():g} ({_curve(lowest)}) to {safe.max():g} ({_curve(highest)})"
    return f"Right after pruning, test accuracy stayed within {data.delta:g} of the dense base {where} (median over " \
           "seeds); at"


def _held(safe: pd.Series) -> str:
    """``"up to a sparsity of 0.4 to 0.7"``, naming the curves where no level held.

    >>> _held(pd.Series([0.0, 0.5, 0.0]))
    'up to a sparsity of 0.5, and at no level tested for 2 of 3 cells and targets'
    """
    held = safe[safe > 0]
    if held.empty:
        return "at no level tested"
    none = f", and at no level tested for {int((safe == 0).sum())} of {len(safe)} cells and targets" \
        if (safe == 0).any() else ""
    return f"up to a sparsity of {_levels(held)}{none}"


def rq1(data: StudyData) -> Answer:
    """Pruning's effect on accuracy and training time (module docstring)."""
    evidence = (("accuracy against sparsity", "fig-pruning_accuracy"), ("recovery epochs", "fig-recovery_epochs"),
                ("accuracy per retraining epoch", "fig-retraining_curves"))
    configs = data.pruning_configs
    if configs.empty:
        return Answer(1, QUESTIONS[0], missing="it has no finished pruning trials (a study of kind pruning).")
    top = float(configs["level"].max())
    at_top = configs[configs["level"] == top]
    retrain = int(data.epochs.loc[data.epochs["run_id"].isin(data.pruning["run_id"]) &
                                  (data.epochs["phase"] == "retrain"), "epoch"].max())
    base, pruned = at_top["base_acc"].mean(), at_top["pruned_acc"].mean()
    first = (f"{_safe(data) or 'At'} the highest level tested ({top:g}), mean accuracy over cells and targets "
             f"{_change(base, pruned)} and was {at_top['final_acc'].mean():.3f} after {retrain} retraining "
             f"epoch{'s' if retrain != 1 else ''}.")
    recovered = data.pruning["recovery_epochs"].dropna()
    second = (f"Retraining recovered {len(recovered)} of {len(data.pruning)} pruned networks, after a median of "
              f"{float(np.median(recovered)):g} epoch(s)" if len(recovered) else
              f"None of the {len(data.pruning)} pruned networks recovered within its retraining epochs")
    final = at_top["final_acc"].mean()
    safe = data.pruning_max["max_safe_sparsity_median"] if not data.pruning_max.empty else pd.Series(dtype=float)
    held = f"Accuracy held within {data.delta:g} of the dense base right after pruning {_held(safe)} (median over " \
           "seeds, per cell and target); at " if len(safe) else "At "
    headline = (f"{held}{top:g} mean test accuracy went from {base:.3f} (dense) to {pruned:.3f} right after pruning "
                f"and {final:.3f} after retraining.")
    return Answer(1, QUESTIONS[0], (first, second + _speed(data)), evidence, headline=headline)


def rq2(data: StudyData) -> Answer:
    """How much pruning is feasible (module docstring)."""
    curves = data.pruning_max
    if curves.empty:
        return Answer(2, QUESTIONS[1], missing="it has no finished one-shot or iterative pruning curves "
                                               "(a study of kind pruning).")
    parts = []
    for target, rows in curves.groupby("target", sort=False):
        shown = ", ".join(f"{r['cell']} {r['max_feasible_sparsity_median']:g}" for _, r in rows.iterrows())
        parts.append(f"target {target}: {shown}")
    levels = sorted(data.pruning["level"].unique())
    sentence = (f"The largest level after which retraining brought accuracy back to within {data.delta:g} of the "
                f"dense base (median over seeds; levels tested: {_levels(levels)}) was {'; '.join(parts)}.")
    split = curves[curves["max_feasible_sparsity_min"] != curves["max_feasible_sparsity_max"]]
    if split.empty:
        more = "Every seed of a cell and target agreed." if (curves["seeds"] > 1).any() else \
            "Each curve has one seed, so seed-to-seed spread is unknown."
    else:
        more = "Seeds disagree for " + ", ".join(
            f"{_curve(r)} ({r['max_feasible_sparsity_seeds']})" for _, r in split.iterrows()) + "."
    feasible = curves["max_feasible_sparsity_median"]
    headline = (f"The largest sparsity that retraining recovered from was {_levels(feasible)} (median over seeds, "
                "per cell and target).")
    return Answer(2, QUESTIONS[1], (sentence, more), (("maximum feasible sparsity", "max-feasible"),
                                                      ("recovery epochs", "fig-recovery_epochs")), headline=headline)


def _best_per_point(families: pd.DataFrame) -> pd.DataFrame:
    """Per (study, cell, budget): the families with the highest mean accuracy (several
    when tied to within :data:`TIE`), the runner-up, and whether the best's and the
    runner-up's intervals overlap."""
    rows = []
    sized = families[(families["family"] != WIDE) & families["budget"].notna()]
    for (_study, cell, budget), group in sized.groupby(["study", "cell", "budget"], sort=True):
        ranked = group.sort_values(["final_acc", "family"], ascending=[False, True])
        best = ranked.iloc[0]
        tied = ranked[ranked["final_acc"] >= best["final_acc"] - TIE]
        second = ranked.iloc[len(tied)] if len(ranked) > len(tied) else None
        interval = lambda row: (row["final_acc_low"], row["final_acc_high"])  # noqa: E731
        rows.append({"cell": cell, "budget": budget, "best": ", ".join(tied["family"]), "tied": len(tied),
                     "acc": best["final_acc"], "interval": interval(best),
                     "second": None if second is None else second["family"],
                     "second_acc": math.nan if second is None else second["final_acc"],
                     "second_interval": (math.nan, math.nan) if second is None else interval(second),
                     "overlap": None if second is None else overlap(interval(best), interval(second))})
    return pd.DataFrame(rows)


def _point(row) -> str:
    where = f"at {row['budget']:,.0f} recurrent weights ({row['cell']})"
    if row["tied"] > 1:
        return (f"{where}, {row['tied']} families tied for the highest mean test accuracy, {row['acc']:.3f}: "
                f"{row['best']}")
    if row["second"] is None:
        return f"{where} only {row['best']} was trained, reaching {_acc(row['acc'], *row['interval'])}"
    relation = {True: "its interval overlaps that of", False: "its interval lies above that of",
                None: "with one seed there is no interval; next came"}[row["overlap"]]
    return (f"{where}, {row['best']} had the highest mean test accuracy, {_acc(row['acc'], *row['interval'])}; "
            f"{relation} {row['second']}, {_acc(row['second_acc'], *row['second_interval'])}")


def _gain(gain: pd.DataFrame) -> str:
    if gain is None or gain.empty:
        return ""
    above = int((gain["structure_gain_low"] > 0).sum())
    below = int((gain["structure_gain_high"] < 0).sum())
    return (f" Against their random-mask controls (same sparsity, connections placed at random), graphs gained "
            f"{gain['structure_gain'].min():+.3f} to {gain['structure_gain'].max():+.3f} in accuracy over "
            f"{len(gain)} (cell, budget, generator) point(s); the paired interval lies above 0 at {above}, below 0 "
            f"at {below}, and includes 0 or is undefined at the rest.")


def rq3(data: StudyData) -> Answer:
    """Structural against dense and pruned networks at equal budgets (module docstring)."""
    families = data.compare.get("families", pd.DataFrame()) if data.compare else pd.DataFrame()
    points = _best_per_point(families) if not families.empty else pd.DataFrame()
    if points.empty:
        return Answer(3, QUESTIONS[2], missing="it has no budget-matched comparison (a study of kind compare "
                                               "trains every family at the same number of recurrent weights).")
    if len(points) <= 3:
        first = "; ".join(_point(r) for _, r in points.iterrows())
        first = first[0].upper() + first[1:] + "."
    else:
        wins = points.loc[points["tied"] == 1, "best"].value_counts()
        overlapping = int(sum(v is True for v in points["overlap"]))
        apart = int(sum(v is False for v in points["overlap"]))
        first = (f"Over {len(points)} (cell, budget) points the most accurate family was "
                 + (", ".join(f"{family} at {n}" for family, n in wins.items()) or "never one alone")
                 + f" ({int((points['tied'] > 1).sum())} ties); the best's bootstrap interval overlaps the "
                 f"runner-up's at {overlapping} of them and lies above it at {apart} (no interval with one seed at "
                 "the rest).")
    graph_wins = int((points["best"].str.startswith("graph:") & (points["tied"] == 1)).sum())
    second = f"A graph-structured network alone was the most accurate at {graph_wins} of {len(points)} point(s)." + \
        _gain(data.compare.get("gain"))
    wins = points.loc[points["tied"] == 1, "best"].value_counts()
    winners = ", ".join(f"{family} at {n}" for family, n in wins.items())
    headline = (f"At equal budgets the most accurate family was {winners} of {len(points)} (cell, budget) point(s); "
                f"a graph-structured one at {graph_wins}." if len(wins) else
                f"At equal budgets no family was more accurate than all others at any of {len(points)} point(s).")
    return Answer(3, QUESTIONS[2], (first, second), (("accuracy against recurrent weights", "fig-families_accuracy"),
                                                    ("every family per budget", "families-table"),
                                                    ("structure gain", "structure-gain")), headline=headline)


def _properties_clause(label: str, result: dict) -> str:
    table = result["correlations"].dropna(subset=["spearman_rho"])
    if table.empty:
        return f"{label}: no property varies with accuracy"
    significant = int((table["spearman_p_bh"] < P_BH).sum())
    top = table.loc[table["spearman_rho"].abs().idxmax()]
    strongest = f"{top['property']} (ρ = {top['spearman_rho']:.2f}, p = {top['spearman_p_bh']:.2g})"
    if significant:
        return f"{label}: {significant} of {len(table)} properties, most strongly {strongest}"
    return f"{label}: none of {len(table)} properties (strongest {strongest})"


def _r2(value: float) -> str:
    return f"{value:.2f}" if abs(value) < 100 else f"{value:.3g}"


def _top(shown: list[tuple[str, dict]]) -> str:
    """The property most rank-correlated with accuracy over all cells, as one sentence."""
    best = None
    for label, result in shown:
        table = result["correlations"].dropna(subset=["spearman_rho"])
        if len(table):
            row = table.loc[table["spearman_rho"].abs().idxmax()]
            if best is None or abs(row["spearman_rho"]) > abs(best[1]["spearman_rho"]):
                best = (label, row)
    if best is None:
        return "No graph property varied with accuracy."
    label, row = best
    significant = "significant" if row["spearman_p_bh"] < P_BH else "not significant"
    return (f"The graph property most correlated with accuracy was {row['property']} ({label}: Spearman ρ = "
            f"{row['spearman_rho']:.2f}, {significant} at BH-adjusted p < {P_BH}).")


def rq4(data: StudyData, results: list[tuple[str, pd.DataFrame, dict]]) -> Answer:
    """Which graph properties correlate with accuracy (module docstring); ``results``:
    :func:`sparsernn.report.structure.structure_results`."""
    shown = [(label, r) for label, _, r in results if not r["correlations"].empty]
    if not shown:
        return Answer(4, QUESTIONS[3], missing="it has fewer than three trained GraphRNNs per cell (a study of kind "
                                               "structure trains one per graph).")
    first = ("Graph properties correlated with test accuracy at a Benjamini–Hochberg adjusted p below "
             f"{P_BH} (Spearman) as follows — " + "; ".join(_properties_clause(lb, r) for lb, r in shown) + ".")
    fitted = [(label, r["r2"].sort_values("r2_mean").iloc[-1]) for label, r in shown if "r2" in r]
    if fitted:
        best = max(row["r2_mean"] for _, row in fitted)
        verdict = "no better than predicting the mean accuracy" if best <= 0 else \
            f"explaining at most {best:.0%} of the held-out variance"
        second = "All properties together predicted accuracy on held-out graphs with R² " + "; ".join(
            f"{_r2(row['r2_mean'])} ± {_r2(row['r2_sd'])} ({label}, {row['regressor'].replace('_', ' ')})"
            for label, row in fitted) + f" (best regressor per cell; mean ± sd over folds): {verdict}."
    else:
        second = "Too few graphs per cell for a cross-validated regression of accuracy on the properties."
    return Answer(4, QUESTIONS[3], (first, second), (("correlation heatmap", "fig-structure_correlations"),
                                                    ("strongest correlations", "structure-top-correlations"),
                                                    ("R² per regressor", "fig-structure_r2")), headline=_top(shown))


def _against_dense(points: pd.DataFrame) -> str:
    paired = points[(points["dense_n"] > 0) & (points["acc_n"] > 0)]
    if paired.empty:
        return "The study trained no dense network pruned to the same counts to compare them with."
    better = int((paired["acc_mean"] > paired["dense_mean"] + TIE).sum())
    worse = int((paired["acc_mean"] < paired["dense_mean"] - TIE).sum())
    apart = sum(overlap((r["acc_low"], r["acc_high"]), (r["dense_low"], r["dense_high"])) is False
                for _, r in paired.iterrows())
    return (f"At the same recurrent weights, pruned GraphRNNs had the higher mean accuracy at {better} of "
            f"{len(paired)} (cell, generator, target, level) points, the dense network pruned to that count at "
            f"{worse}, and they tied at {len(paired) - better - worse}; the two intervals are apart at {apart}.")


def rq5(data: StudyData, points: pd.DataFrame | None) -> Answer:
    """Pruning structurally sparse RNNs (module docstring); ``points``:
    :func:`sparsernn.report.families.pruned_graph_points`."""
    feasible = data.prune_structure_tables.get("feasible", pd.DataFrame()) if data.prune_structure_tables else None
    if feasible is None or feasible.empty or points is None:
        return Answer(5, QUESTIONS[4], missing="it has no pruned GraphRNNs (a study of kind prune_structure).")
    parts = ", ".join(f"{r['generator']}/{r['target']}/{r['schedule']} {r['max_feasible_median']:g}"
                      for _, r in feasible.iterrows())
    first = (f"Pruned GraphRNNs recovered to within {data.delta:g} of the unpruned GraphRNN up to a median sparsity "
             f"(of the weights the graph left) of: {parts}.")
    levels = _levels(feasible["max_feasible_median"])
    headline = (f"Pruned GraphRNNs recovered from a median sparsity of up to {levels} of what their graphs left "
                "(per generator, target and schedule).")
    return Answer(5, QUESTIONS[4], (first, _against_dense(points)),
                  (("pruned GraphRNNs against pruned dense networks", "fig-pruned_graphs_accuracy"),
                   ("maximum feasible sparsity", "pruned-graphs-feasible")), headline=headline)
