"""Pruning: accuracy against sparsity, recovery, feasible sparsity, weights, retraining.

Drawn from :func:`~sparsernn.analysis.pruning.pruning_trials` and
:func:`~sparsernn.analysis.pruning.pruning_summary` (their metrics, defined there:
``pruned_acc``, ``final_acc``, ``recovery_epochs``, ``max_feasible_sparsity``, ...):

- accuracy against the level, right after pruning (dashed) and after retraining (solid),
  per cell and target, mean over seeds with its 95 % bootstrap interval as a band, the
  dense bases' mean accuracy as a dotted line;
- a heatmap of recovery epochs (cell x level, one panel per target): the median over
  seeds, a seed that never recovered counting as never (so "never" where most did not);
- the maximum feasible (and safe) sparsity per cell and target, per seed;
- |w| histograms of the recurrent weights (input-to-hidden and hidden-to-hidden, all
  layers) of a base and of its children after pruning and retraining, for the first seed,
  target ``both`` where pruned (else the first target), at the level nearest 0.5 and
  the highest level below 1 (each matrix's stored 40 bins spread onto common edges, a
  bin's count taken as uniform within it: the shape is exact to about one bin);
- test accuracy after each retraining epoch (0: right after pruning), one line per level,
  mean over seeds.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.colors import Normalize
from matplotlib.lines import Line2D

from .data import StudyData
from .html import Section, Table, Text
from .style import ACCURACY, MAGNITUDE, NEUTRAL, SEQUENTIAL, SPARSITY, band, colour, grid, panel_size, render

SWEPT = ("criterion", "scope", "schedule")  # named in a curve's label only where a study varies them


def curve_label(row, varying: list[str]) -> str:
    """A curve's name: its target, then the settings its study varies besides.

    >>> curve_label({"target": "both", "scope": "layer", "criterion": "magnitude"}, ["scope"])
    'both, layer'
    """
    return ", ".join([str(row["target"])] + [str(row[k]) for k in varying])


def _varying(frame: pd.DataFrame) -> list[str]:
    return [k for k in SWEPT if k in frame and frame[k].nunique() > 1]


def _panels(frame: pd.DataFrame) -> list[tuple[str, str, pd.DataFrame]]:
    """(study, cell, rows) per panel, studies and cells in stored order."""
    return [(study, cell, rows) for (study, cell), rows in frame.groupby(["study", "cell"], sort=False)]


def _accuracy_drawing(data: StudyData):
    configs = data.pruning_configs
    varying = _varying(configs)
    several = configs["study"].nunique() > 1

    def draw(fig):
        panels = _panels(configs)
        for ax, (study, cell, rows) in zip(grid(fig, len(panels), xlabel=SPARSITY, ylabel=ACCURACY), panels):
            rows = rows.assign(label=[curve_label(r, varying) for _, r in rows.iterrows()])
            for label, line in rows.groupby("label", sort=False):
                line = line.sort_values("level")
                c = colour(list(dict.fromkeys(rows["label"])).index(label))
                band(ax, line["level"], line["final_acc"], line["final_acc_low"], line["final_acc_high"],
                     label=f"{label}", colour=c)
                band(ax, line["level"], line["pruned_acc"], line["pruned_acc_low"], line["pruned_acc_high"],
                     label="_", colour=c, linestyle="--", marker="x")
            ax.axhline(rows["base_acc"].mean(), color=NEUTRAL, linestyle=":", linewidth=1.2)
            ax.set_title(f"{study}: {cell}" if several else cell)
        handles, labels = fig.axes[0].get_legend_handles_labels()
        kinds = [Line2D([], [], color="k", linestyle="-"), Line2D([], [], color="k", linestyle="--", marker="x"),
                 Line2D([], [], color=NEUTRAL, linestyle=":")]
        fig.legend(handles + kinds, labels + ["after retraining", "right after pruning", "dense base"],
                   loc="outside upper center", ncols=min(4, len(labels) + 3))
    return draw


def _recovery_grid(rows: pd.DataFrame) -> tuple[list, list, np.ndarray, np.ndarray]:
    """Cells, levels, the median recovery epochs (NaN: never) and 'k/n recovered' labels."""
    cells = list(dict.fromkeys(rows["cell"]))
    levels = sorted(rows["level"].unique())
    values = np.full((len(cells), len(levels)), np.nan)
    labels = np.full((len(cells), len(levels)), "", dtype=object)
    for (cell, level), group in rows.groupby(["cell", "level"]):
        epochs = group["recovery_epochs"].fillna(math.inf)
        median = float(np.median(epochs))
        i, j = cells.index(cell), levels.index(level)
        values[i, j] = median if math.isfinite(median) else np.nan
        shown = "never" if not math.isfinite(median) else f"{median:g}"
        labels[i, j] = f"{shown}\n{int(group['recovered'].sum())}/{len(group)}"
    return cells, levels, values, labels


def _recovery_drawing(data: StudyData, keys: list[tuple], columns: int):
    trials = data.pruning
    high = max(2.0, float(trials["recovery_epochs"].max())) if trials["recovery_epochs"].notna().any() else 2.0
    norm = Normalize(vmin=1, vmax=high)

    def draw(fig):
        axes = grid(fig, len(keys), columns=columns, sharey=False, xlabel=SPARSITY, ylabel="cell")
        image = None
        for ax, (study, target, rows) in zip(axes, keys):
            cells, levels, values, labels = _recovery_grid(rows)
            ax.imshow(np.ones_like(values), cmap="Greys", vmin=0, vmax=6, aspect="auto")  # "never": light grey
            image = ax.imshow(values, cmap=SEQUENTIAL, norm=norm, aspect="auto")
            for (i, j), text in np.ndenumerate(labels):
                dark = not math.isnan(values[i, j]) and norm(values[i, j]) < 0.6
                ax.text(j, i, text, ha="center", va="center", fontsize=6.5, color="white" if dark else "black")
            ax.set_xticks(range(len(levels)), [f"{v:g}" for v in levels])
            ax.set_yticks(range(len(cells)), cells)
            ax.grid(False)
            ax.set_title(f"{study}: target {target}")
        if image is not None:
            fig.colorbar(image, ax=axes, label="recovery epochs (median)", shrink=0.8)
    return draw


def rebin(edges: np.ndarray, counts: np.ndarray, onto: np.ndarray) -> np.ndarray:
    """A histogram's ``counts`` on bins ``edges`` spread onto the bins ``onto``, each bin's
    count taken as uniform within it.

    >>> rebin(np.array([0.0, 1.0, 2.0]), np.array([4.0, 2.0]), np.array([0.0, 0.5, 2.0])).tolist()
    [2.0, 4.0]
    """
    cumulative = np.concatenate([[0.0], np.cumsum(counts)])
    return np.diff(np.interp(onto, edges, cumulative))


def _recurrent_histogram(histograms: dict, edges: np.ndarray) -> np.ndarray:
    """The |w| histogram of all input-to-hidden and hidden-to-hidden matrices, on ``edges``."""
    counts = np.zeros(len(edges) - 1)
    for name, h in histograms.items():
        if ("weight_ih" in name or "weight_hh" in name) and isinstance(h, dict):
            counts += rebin(np.asarray(h["edges"], float), np.asarray(h["counts"], float), edges)
    return counts


def _histogram_choice(data: StudyData) -> list[tuple[str, str, pd.DataFrame]]:
    """Per (study, cell): the children of one base (first seed) to draw, at two levels."""
    trials = data.pruning
    target = "both" if (trials["target"] == "both").any() else trials["target"].iloc[0]
    out = []
    for study, cell, rows in _panels(trials[trials["target"] == target]):
        rows = rows[(rows["seed"] == rows["seed"].min()) & (rows["criterion"] == rows["criterion"].iloc[0])]
        levels = sorted(rows["level"].unique())
        below = [v for v in levels if v < 1] or levels
        picks = list(dict.fromkeys([min(below, key=lambda v: abs(v - 0.5)), below[-1]]))
        out.append((study, cell, rows[rows["level"].isin(picks)].drop_duplicates("level").sort_values("level")))
    return out


def _histograms_drawing(data: StudyData, choice):
    stored = data.artefacts[data.artefacts["kind"] == "histogram"]
    by = {(r.run_id, r.name): r.data for r in stored.itertuples()}

    def draw(fig):
        for ax, (_study, cell, rows) in zip(grid(fig, len(choice), sharey=False, xlabel=MAGNITUDE,
                                                       ylabel="weights (count per bin)"), choice):
            first = rows["run_id"].iloc[0]
            curves = [("dense base", by.get((first, "before")))] + [
                (f"level {level:g}, retrained", by.get((run_id, "after")))
                for run_id, level in zip(rows["run_id"], rows["level"])]
            top = max((max(h["edges"][-1] for h in hs.values() if isinstance(h, dict)) for _, hs in curves if hs),
                      default=1.0)
            edges = np.linspace(0, top, 41)
            for i, (label, hs) in enumerate(curves):
                if hs:
                    ax.stairs(_recurrent_histogram(hs, edges), edges, label=label, color=colour(i), linewidth=1.4)
            ax.set_title(f"{cell}, target {rows['target'].iloc[0]}, seed {rows['seed'].iloc[0]}")
        handles, labels = fig.axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside upper center", ncols=len(labels))
    return draw


def _retrain_drawing(data: StudyData, panels: list[tuple[str, str, str, pd.DataFrame]], columns: int):
    levels = sorted(data.pruning["level"].unique())
    norm = Normalize(vmin=min(levels), vmax=max(levels) if len(levels) > 1 else min(levels) + 1)
    cmap = colormaps[SEQUENTIAL]

    def draw(fig):
        axes = grid(fig, len(panels), columns=columns, xlabel="retraining epoch (0: right after pruning)",
                    ylabel=ACCURACY)
        for ax, (_study, cell, target, rows) in zip(axes, panels):
            for level, line in rows.groupby("level"):
                ax.plot(line["epoch"], line["mean"], color=cmap(norm(level) * 0.9), marker="o", markersize=2.5,
                        label=f"{level:g}")
            ax.set_title(f"{cell}, target {target}")
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, title="sparsity", loc="outside right center")
    return draw


def _retrain_curves(data: StudyData) -> list[tuple[str, str, str, pd.DataFrame]]:
    """Per (study, cell, curve): mean test accuracy by level and retraining epoch."""
    trials = data.pruning
    varying = _varying(trials)
    keyed = trials.assign(curve=[curve_label(r, varying) for _, r in trials.iterrows()])
    rows = data.epochs[(data.epochs["phase"] == "retrain") & data.epochs["run_id"].isin(trials["run_id"])]
    rows = rows[["run_id", "epoch", "test_acc"]].merge(keyed[["run_id", "study", "cell", "curve", "level"]],
                                                       on="run_id")
    table = rows.groupby(["study", "cell", "curve", "level", "epoch"], sort=False)["test_acc"].mean()
    table = table.rename("mean").reset_index()
    return [(study, cell, curve, group) for (study, cell, curve), group
            in table.groupby(["study", "cell", "curve"], sort=False)]


def max_sparsity_table(data: StudyData) -> pd.DataFrame:
    """The maximum feasible and safe sparsity per curve: per seed and the median."""
    table = data.pruning_max
    varying = _varying(table)
    columns = ["study", "cell", "target", *varying, "seeds", "max_feasible_sparsity_seeds",
               "max_feasible_sparsity_median", "max_safe_sparsity_seeds", "max_safe_sparsity_median"]
    shown = table[columns] if table["study"].nunique() > 1 else table[columns[1:]]
    return shown.rename(columns=lambda c: c.replace("max_", "max ").replace("_sparsity", " sparsity")
                        .replace("_seeds", " (per seed)").replace("_median", " (median)"))


def _configurations_table(data: StudyData) -> pd.DataFrame:
    table = data.pruning_configs
    varying = _varying(table)
    columns = ["study", "cell", "target", *varying, "level", "base_acc_seeds", "pruned_acc_seeds", "final_acc_seeds",
               "recovery_epochs_seeds", "recovered"]
    shown = table[columns] if table["study"].nunique() > 1 else table[columns[1:]]
    return shown.rename(columns=lambda c: c.replace("_seeds", " (per seed)"))


def _figures(data: StudyData) -> list:
    trials = data.pruning
    panels = len(_panels(data.pruning_configs))
    figures = [render("pruning_accuracy", "Accuracy against sparsity",
                      "Test accuracy right after pruning (dashed, x) and after retraining (solid), mean over seeds "
                      "with its 95 % bootstrap interval as a band (none for one seed), per cell and target; the dotted "
                      "line is the dense bases' mean accuracy.", _accuracy_drawing(data),
                      size=panel_size(panels, minimum=6.4, extra=0.9))]
    keys = [(study, target, rows) for (study, target), rows in trials.groupby(["study", "target"], sort=False)]
    width, height = 0.5 * trials["level"].nunique() + 1.3, max(2.4, 0.42 * trials["cell"].nunique() + 1.0)
    columns = max(1, min(len(keys), int(10.5 // width)))
    figures.append(render(
        "recovery_epochs", "Recovery epochs",
        f"Retraining epochs until test accuracy is back within {data.delta:g} of the dense base, median over seeds "
        "(a seed that never recovered counts as never; grey: the median seed never recovered), with the number of "
        "seeds that recovered, per cell, level and target.", _recovery_drawing(data, keys, columns),
        size=(max(4.5, columns * width + 1.2), height * -(-len(keys) // columns) + 0.5)))
    if (data.artefacts["kind"] == "histogram").any():
        choice = _histogram_choice(data)
        figures.append(render("weight_histograms", "Weight magnitudes before and after pruning",
                              "Histogram of |w| over the recurrent weights (input-to-hidden and hidden-to-hidden, "
                              "all layers) of a dense base and of two of its children after pruning and retraining "
                              "(pruned weights are not counted); each matrix's stored bins spread onto common ones.",
                              _histograms_drawing(data, choice), size=panel_size(len(choice), minimum=6.0)))
    curves = _retrain_curves(data)
    columns = max(len({curve for _, _, curve, _ in curves}), min(4, len(curves)))
    figures.append(render("retraining_curves", "Accuracy per retraining epoch",
                          "Test accuracy after each retraining epoch (0: right after pruning), mean over seeds, one "
                          "line per level (colour: sparsity), per cell and target.",
                          _retrain_drawing(data, curves, columns), size=panel_size(len(curves), columns=columns)))
    return figures


def pruning_section(data: StudyData) -> Section | None:
    """The pruning section; None without finished pruning trials."""
    if data.pruning.empty:
        return None
    figures = _figures(data)
    items = [Text(f"{len(data.pruning)} pruned and retrained networks of {data.pruning['cell'].nunique()} cells; "
                  f"recovered means test accuracy within {data.delta:g} of the dense base after a retraining epoch "
                  "(definitions in sparsernn.analysis.pruning)."), figures[0], figures[1]]
    if not data.pruning_max.empty:
        items.append(Table(max_sparsity_table(data), "Maximum feasible sparsity (the largest level that recovered) "
                                                     "and maximum safe sparsity (the largest level within "
                                                     f"{data.delta:g} right after pruning), per seed and median",
                           anchor="max-feasible"))
    items += figures[2:]
    items.append(Table(_configurations_table(data), "Every configuration: test accuracy of the bases, right after "
                                                    "pruning and after retraining, and recovery epochs, per seed "
                                                    "(- never)", anchor="pruning-configurations"))
    return Section("pruning-results", "Pruning", items)
