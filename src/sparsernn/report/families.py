"""Structurally sparse against dense and pruned networks, and pruned GraphRNNs.

*Comparison* (:func:`~sparsernn.analysis.compare.compare_summary`, metrics defined
there): test accuracy against the recurrent weights each network keeps (log scale),
one line per family across its budgets, mean over seeds with its 95 % bootstrap
interval as error bars; the wide dense network the pruned families start from as a
star. The paired gain of each generator's graphs over their random-mask controls as a
table.

*Pruned GraphRNNs* (:func:`~sparsernn.analysis.prune_structure.prune_structure_trials`):
test accuracy after retraining against the recurrent weights kept, one line per
generator, target and schedule across the levels (solid), and the study's dense network
pruned to the same counts (dashed, where the study trained it), pooled over graphs and
seeds with 95 % bootstrap intervals.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.lines import Line2D

from ..analysis.compare import WIDE
from .data import StudyData, intervals
from .html import Section, Table, Text
from .style import ACCURACY, RECURRENT, count_axis, grid, panel_size, render, style_of


def _errorbar(ax, x, frame: pd.DataFrame, *, label: str, **style) -> None:
    err = np.vstack([frame["mean"] - frame["low"].fillna(frame["mean"]),
                     frame["high"].fillna(frame["mean"]) - frame["mean"]])
    ax.errorbar(x, frame["mean"], yerr=err, label=label, capsize=2.5, **style)


def _families_drawing(families: pd.DataFrame):
    panels = [(key, rows) for key, rows in families.groupby(["study", "cell"], sort=False)]
    names = sorted(set(families["family"]) - {WIDE})
    several = families["study"].nunique() > 1

    def draw(fig):
        for ax, ((study, cell), rows) in zip(grid(fig, len(panels), columns=2, xlabel=RECURRENT, ylabel=ACCURACY),
                                             panels):
            for i, name in enumerate(names):
                line = rows[rows["family"] == name].sort_values("recurrent")
                if len(line):
                    frame = line.rename(columns={"final_acc": "mean", "final_acc_low": "low", "final_acc_high": "high"})
                    _errorbar(ax, line["recurrent"], frame, label=name, **style_of(i))
            wide = rows[rows["family"] == WIDE]
            if len(wide):
                ax.scatter(wide["recurrent"], wide["final_acc"], marker="*", s=80, color="black", zorder=3,
                           label="wide dense (unpruned)")
            count_axis(ax)
            ax.set_title(f"{study}: {cell}" if several else cell)
        handles, labels = fig.axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside right center")
    return draw, len(panels)


def _families_table(families: pd.DataFrame) -> pd.DataFrame:
    table = families[["study", "cell", "budget", "family", "seeds", "final_acc", "final_acc_low", "final_acc_high",
                      "final_acc_seeds", "epochs_to_99_seeds", "seconds_per_epoch", "recurrent"]]
    table = table if families["study"].nunique() > 1 else table.drop(columns="study")
    return table.rename(columns={"final_acc": "test accuracy", "final_acc_low": "low", "final_acc_high": "high",
                                 "final_acc_seeds": "per seed", "epochs_to_99_seeds": "epochs to 99 % (per seed)",
                                 "seconds_per_epoch": "s per epoch", "recurrent": "recurrent weights"})


def compare_section(data: StudyData) -> Section | None:
    """Accuracy against recurrent weights per family; None without a comparison."""
    families = data.compare.get("families", pd.DataFrame()) if data.compare else pd.DataFrame()
    if families.empty:
        return None
    draw, n = _families_drawing(families)
    items = [Text("Networks of every family at the same number of recurrent weights (input-to-hidden plus "
                  "hidden-to-hidden weights kept), trained on the same data with the same optimiser and seeds."),
             render("families_accuracy", "Accuracy against recurrent weights, per family",
                    "Test accuracy after training against the recurrent weights kept (log scale), mean over seeds "
                    "with its 95 % bootstrap interval as error bars, one line per family across its budgets; the star "
                    "is the wide dense network the pruned families start from.", draw,
                    size=_wide(panel_size(n, columns=2, width=4.0, height=3.3))),
             Table(_families_table(families), "Every family per budget: test accuracy (mean, 95 % bootstrap "
                                              "interval, per seed), epochs to 99 % of the final accuracy, seconds "
                                              "per epoch, recurrent weights kept", anchor="families-table")]
    gain = data.compare.get("gain", pd.DataFrame())
    if not gain.empty:
        items.append(Table(gain.drop(columns=["structure_gain_seeds"]),
                           "Structure gain: a graph's test accuracy minus its random-mask control's (same layers, "
                           "widths, initial weights and connections per matrix), paired by seed",
                           anchor="structure-gain"))
    return Section("comparison", "Structural, dense and pruned networks at equal budgets", items)


def _wide(size: tuple[float, float]) -> tuple[float, float]:
    """Room for a legend on the right."""
    return size[0] + 2.6, size[1]


PS_KEYS = ["study", "cell", "generator", "target", "schedule", "level"]


def pruned_graph_points(data: StudyData) -> pd.DataFrame:
    """Per (study, cell, generator, target, schedule, level): the mean recurrent weights
    kept, and the intervals of final_acc and of dense_acc (columns ``acc_*``, ``dense_*``)."""
    trials = data.prune_structure
    acc = intervals(trials, PS_KEYS, "final_acc", seed=data.seed)
    dense = intervals(trials, PS_KEYS, "dense_acc", seed=data.seed)
    kept = trials.groupby(PS_KEYS)["recurrent"].mean().rename("recurrent").reset_index()
    table = acc.merge(dense, on=PS_KEYS, suffixes=("_acc", "_dense")).merge(kept, on=PS_KEYS)
    return table.rename(columns=lambda c: c if c in PS_KEYS + ["recurrent"] else
                        ("acc_" if c.endswith("_acc") else "dense_") + c.rsplit("_", 1)[0])


def _pruned_graphs_drawing(points: pd.DataFrame):
    panels = [(key, rows) for key, rows in points.groupby(["study", "cell", "generator"], sort=False)]
    several = points["study"].nunique() > 1
    curve_keys = sorted(points[["target", "schedule"]].drop_duplicates().itertuples(index=False, name=None))

    def draw(fig):
        for ax, ((study, cell, generator), rows) in zip(
                grid(fig, len(panels), columns=2, xlabel=RECURRENT, ylabel=ACCURACY), panels):
            for (target, schedule), line in rows.groupby(["target", "schedule"], sort=True):
                line = line.sort_values("recurrent")
                frame = line.rename(columns={"acc_mean": "mean", "acc_low": "low", "acc_high": "high"})
                style = style_of(curve_keys.index((target, schedule)))  # the same look in every panel
                _errorbar(ax, line["recurrent"], frame, label=f"{target}, {schedule}", **style)
                dense = line[line["dense_n"] > 0].rename(
                    columns={"dense_mean": "mean", "dense_low": "low", "dense_high": "high"})
                if len(dense):
                    _errorbar(ax, dense["recurrent"], dense, label="_", **{**style, "marker": "x", "linestyle": "--"})
            count_axis(ax)
            ax.set_title(f"{study}: {cell}, {generator}" if several else f"{cell}, {generator}")
        legend = {}
        for ax in fig.axes:  # every (target, schedule) once, whichever panel has it
            legend.update((label, handle) for handle, label in zip(*ax.get_legend_handles_labels()))
        labels, handles = list(legend), list(legend.values())
        proxy = Line2D([], [], color="black", marker="x", linestyle="--")
        fig.legend(handles + [proxy], labels + ["dense network pruned to the same count"], loc="outside right center")
    return draw, len(panels)


def prune_structure_section(data: StudyData) -> Section | None:
    """Pruned GraphRNNs against dense networks pruned to the same count; None without them."""
    if data.prune_structure.empty:
        return None
    tables = data.prune_structure_tables
    draw, n = _pruned_graphs_drawing(pruned_graph_points(data))
    items = [Text(f"{len(data.prune_structure)} pruned and retrained GraphRNNs; the level is the fraction of the "
                  "targeted weights the GraphRNN still had that were removed."),
             render("pruned_graphs_accuracy", "Pruned GraphRNNs against pruned dense networks",
                    "Test accuracy after retraining against the recurrent weights kept (log scale), one panel per "
                    "cell and generator, per target and schedule across the levels (solid), and the dense network "
                    "pruned to the same count "
                    "(dashed, x), pooled over graphs and seeds: mean with 95 % bootstrap intervals.", draw,
                    size=_wide(panel_size(n, columns=2, width=4.0, height=3.3))),
             Table(tables["feasible"], "Maximum feasible sparsity of the pruned GraphRNNs per generator, target and "
                                       "schedule (median, min and max over graphs and seeds)",
                   anchor="pruned-graphs-feasible"),
             Table(tables["levels"].drop(columns=["recovered_low", "recovered_high"]),
                   "Per level: the unpruned GraphRNN (base_acc), right after pruning, after retraining, and the dense "
                   "network pruned to the same recurrent weights (dense_acc), mean [95 % bootstrap interval]",
                   anchor="pruned-graphs-levels")]
    if not tables["properties"].empty:
        items.append(Table(tables["properties"], "The graph property before pruning most rank-correlated with the "
                                                 "accuracy after retraining, per level (Spearman; p Benjamini–Hochberg "
                                                 "adjusted)"))
    return Section("pruned-graphs", "Pruning structurally sparse RNNs", items)
