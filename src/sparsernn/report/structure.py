"""Structure: which graphs make good recurrent networks, and which of their properties tell.

Per study and cell, over its trained GraphRNNs (:func:`~sparsernn.analysis.structure.structure_table`,
whose metrics are defined there):

- test accuracy per generator: every graph as a dot, the mean with its 95 % bootstrap
  interval as an error bar;
- Pearson's r and Spearman's rho of every graph property with test accuracy, as a
  heatmap, a star where the Benjamini–Hochberg adjusted p-value is below 0.05
  (:func:`~sparsernn.analysis.structure.property_correlations`);
- the held-out R² of Bayesian ridge, random forest and gradient boosting regressions
  (:func:`~sparsernn.analysis.structure.cross_validated_r2`) with ``FOLDS``-fold
  cross-validation repeated ``REPEATS`` time(s) -- ``sparsernn analyze`` adds AdaBoost and
  repeats it 10 times; this is the quicker estimate, its error bar the standard deviation
  over the folds;
- out-of-fold predictions of a Bayesian ridge regression (standardised properties,
  ``FOLDS`` folds) against the measured accuracy;
- permutation importances of the properties for the same regression
  (:func:`~sparsernn.analysis.structure.permutation_importances`: the drop of held-out R²
  when a property is shuffled, mean and standard deviation over the folds), the ten largest;
- the best and the worst graph drawn in layers (layer ``l``: the longest path from a
  source has ``l`` edges; skip edges, across more than one layer, in orange).

Cross-validation needs at least ``MIN_CV`` graphs in a group (five held-out folds of at
least four graphs: an R² of two or three held-out graphs says nothing); correlations need
three.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib.collections import LineCollection
from sklearn.linear_model import BayesianRidge
from sklearn.model_selection import KFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from ..analysis import TRIAL_COLUMNS, cross_validated_r2, permutation_importances, property_correlations
from ..errors import InputError
from ..graphs import graph_from_json, layer_index
from .data import StudyData, intervals
from .html import Section, Table, Text
from .style import ACCURACY, DIVERGING, NEUTRAL, colour, grid, panel_size, render

FOLDS, REPEATS, PERMUTATIONS, MIN_CV, TOP = 5, 1, 3, 20, 10  # MIN_CV: 5 test folds of at least 4 graphs
REGRESSORS = ("bayesian_ridge", "random_forest", "gradient_boosting")  # analyze adds AdaBoost
R2_FLOOR = -1.0  # R² axis floor: a bar below it is labelled with its value
P_BH = 0.05


def properties(table: pd.DataFrame) -> list[str]:
    """The graph-property columns of a structure table that every row has."""
    return [c for c in table.columns if c not in TRIAL_COLUMNS and table[c].notna().all()]


def groups(data: StudyData) -> list[tuple[str, str, pd.DataFrame]]:
    """(study, cell, trials) for each cell of each study with GraphRNNs."""
    return [(study, cell, rows) for (study, cell), rows in data.structure.groupby(["study", "cell"], sort=False)]


def analyse(rows: pd.DataFrame, seed: int) -> dict:
    """One group's correlations, CV R², out-of-fold predictions and importances
    (the last three only with at least ``MIN_CV`` graphs)."""
    names = properties(rows)
    X, y = rows[names].astype(float), rows["test_acc"].to_numpy(float)
    out = {"correlations": property_correlations(X, y) if len(rows) >= 3 else pd.DataFrame()}
    if len(rows) >= MIN_CV and np.ptp(y) > 0:
        folds = min(FOLDS, len(rows))
        out["r2"] = cross_validated_r2(X, y, regressors=REGRESSORS, n_splits=folds, n_repeats=REPEATS, seed=seed)
        model = make_pipeline(StandardScaler(), BayesianRidge())
        out["predicted"] = cross_val_predict(model, X.to_numpy(), y, cv=KFold(folds, shuffle=True, random_state=seed))
        out["importances"] = permutation_importances(X, y, regressor="bayesian_ridge", n_splits=folds, n_repeats=1,
                                                     permutations=PERMUTATIONS, seed=seed)
    return out


def _title(study: str, cell: str, several: bool) -> str:
    return f"{study}: {cell}" if several else cell


def _accuracy_drawing(data: StudyData, several: bool):
    table = data.structure
    generators = list(dict.fromkeys(table["generator"]))

    def draw(fig):
        studies = list(dict.fromkeys(table["study"]))
        for ax, study in zip(grid(fig, len(studies), columns=2, xlabel="cell", ylabel=ACCURACY), studies):
            rows = table[table["study"] == study]
            cells = list(dict.fromkeys(rows["cell"]))
            summary = intervals(rows, ["cell", "generator"], "test_acc", seed=data.seed)
            width = 0.8 / max(1, len(generators))
            jitter = np.random.default_rng(0)
            for g, generator in enumerate(generators):
                offset = (g - (len(generators) - 1) / 2) * width
                mine = rows[rows["generator"] == generator]
                x = [cells.index(c) + offset for c in mine["cell"]]
                ax.scatter(np.asarray(x) + jitter.uniform(-width / 4, width / 4, len(x)), mine["test_acc"], s=9,
                           alpha=0.35, color=colour(g), linewidths=0)
                s = summary[summary["generator"] == generator]
                xs = [cells.index(c) + offset for c in s["cell"]]
                err = np.vstack([s["mean"] - s["low"].fillna(s["mean"]), s["high"].fillna(s["mean"]) - s["mean"]])
                ax.errorbar(xs, s["mean"], yerr=err, fmt="D", color=colour(g), markeredgecolor="black",
                            markersize=5, capsize=3, label=generator)
            ax.set_xticks(range(len(cells)), cells)
            ax.set_title(study)
            ax.legend(loc="best")
    return draw


def _correlation_matrix(results: list[tuple[str, dict]]) -> tuple[list[str], list[str], np.ndarray, np.ndarray]:
    """Rows: properties (largest |rho| anywhere first); columns: (group, r/rho);
    values and significance (BH-adjusted p < P_BH)."""
    columns, frames = [], []
    for label, result in results:
        table = result["correlations"].set_index("property")
        frames.append(table)
        columns += [f"{label}\nPearson r", f"{label}\nSpearman ρ"]
    names = sorted(set().union(*(f.index for f in frames)),
                   key=lambda p: -max((abs(f.loc[p, "spearman_rho"]) if p in f.index and
                                       not math.isnan(f.loc[p, "spearman_rho"]) else 0) for f in frames))
    values = np.full((len(names), len(columns)), np.nan)
    marks = np.zeros_like(values, dtype=bool)
    for k, frame in enumerate(frames):
        for i, name in enumerate(names):
            if name in frame.index:
                row = frame.loc[name]
                values[i, 2 * k: 2 * k + 2] = row["pearson_r"], row["spearman_rho"]
                marks[i, 2 * k: 2 * k + 2] = row["pearson_p_bh"] < P_BH, row["spearman_p_bh"] < P_BH
    return names, columns, values, marks


def _correlation_drawing(results):
    names, columns, values, marks = _correlation_matrix(results)

    def draw(fig):
        ax = fig.subplots()
        image = ax.imshow(values, cmap=DIVERGING, vmin=-1, vmax=1, aspect="auto")
        for (i, j), v in np.ndenumerate(values):
            if not math.isnan(v):
                ax.text(j, i, f"{v:.2f}{'*' if marks[i, j] else ''}", ha="center", va="center", fontsize=6.5,
                        color="white" if abs(v) > 0.6 else "black")
        ax.set_xticks(range(len(columns)), columns, fontsize=7)
        ax.set_yticks(range(len(names)), names, fontsize=7)
        ax.xaxis.tick_top()
        ax.grid(False)
        fig.colorbar(image, ax=ax, label="correlation with test accuracy (r or ρ)", shrink=0.6)
    return draw, len(names), len(columns)


def _r2_drawing(results: list[tuple[str, dict]]):
    labels = [label for label, r in results if "r2" in r]
    regressors = list(dict.fromkeys(n for _, r in results if "r2" in r for n in r["r2"]["regressor"]))

    def draw(fig):
        ax = fig.subplots()
        width = 0.8 / max(1, len(regressors))
        for k, name in enumerate(regressors):
            xs, means, sds = [], [], []
            for i, (_label, result) in enumerate((lb, r) for lb, r in results if "r2" in r):
                row = result["r2"][result["r2"]["regressor"] == name]
                xs.append(i + (k - (len(regressors) - 1) / 2) * width)
                means.append(float(row["r2_mean"].iloc[0]))
                sds.append(float(row["r2_sd"].iloc[0]))
            ax.bar(xs, means, width=width * 0.9, yerr=sds, capsize=3, color=colour(k), label=name.replace("_", " "))
        ax.axhline(0, color=NEUTRAL, linewidth=0.8)
        _clip_below(ax, R2_FLOOR)
        ax.set_xticks(range(len(labels)), labels)
        ax.set_xlabel("cell")
        ax.set_ylabel("held-out R² (fraction)")
        fig.legend(loc="outside lower center", ncols=min(4, len(regressors)))
    return draw


def _clip_below(ax, floor: float) -> None:
    """Keep the y axis between ``floor`` and 1; label each bar that reaches below it with its value."""
    low, _ = ax.get_ylim()
    ax.set_ylim(max(floor, low), 1.05)  # R² is at most 1: the error bars above it say nothing
    for bar in ax.patches:
        if bar.get_height() < floor:
            ax.annotate(f"{bar.get_height():.3g}", (bar.get_x() + bar.get_width() / 2, floor), xytext=(0, 2),
                        textcoords="offset points", ha="center", va="bottom", fontsize=6.5, rotation=90)


def _predicted_drawing(data: StudyData, results):
    shown = [(label, rows, r) for label, rows, r in results if "predicted" in r]
    generators = list(dict.fromkeys(data.structure["generator"]))

    def draw(fig):
        axes = grid(fig, len(shown), xlabel="measured test accuracy (fraction)",
                    ylabel="predicted test accuracy (fraction)", sharey=False)
        for ax, (label, rows, result) in zip(axes, shown):
            actual, predicted = rows["test_acc"].to_numpy(), result["predicted"]
            for g, generator in enumerate(generators):
                mine = (rows["generator"] == generator).to_numpy()
                if mine.any():
                    ax.scatter(actual[mine], predicted[mine], s=12, alpha=0.6, color=colour(g), label=generator,
                               linewidths=0)
            low, high = float(min(actual.min(), predicted.min())), float(max(actual.max(), predicted.max()))
            ax.plot([low, high], [low, high], color=NEUTRAL, linestyle=":", linewidth=1)
            ax.set_title(label)
        axes[0].legend(loc="upper left")
    return draw, len(shown)


def _importance_drawing(results):
    shown = [(label, r["importances"].head(TOP)) for label, r in results if "importances" in r]

    def draw(fig):
        axes = grid(fig, len(shown), columns=2, sharey=False, xlabel="drop of held-out R² when shuffled",
                    ylabel="graph property")
        for ax, (label, table) in zip(axes, shown):
            order = table.iloc[::-1]
            ax.barh(range(len(order)), order["importance_mean"], xerr=order["importance_sd"].fillna(0), capsize=2,
                    color=colour(0))
            ax.set_yticks(range(len(order)), order["property"], fontsize=7)
            ax.axvline(0, color=NEUTRAL, linewidth=0.8)
            ax.set_title(label)
    return draw, len(shown)


def layered_positions(dag) -> dict:
    """Node positions for a layered drawing: x the node's layer, y its place in the layer
    (centred).

    >>> import networkx as nx
    >>> layered_positions(nx.DiGraph([(0, 2), (1, 2)]))
    {0: (0, -0.5), 1: (0, 0.5), 2: (1, 0.0)}
    """
    layers = layer_index(dag)
    members: dict[int, list] = {}
    for node, layer in layers.items():
        members.setdefault(layer, []).append(node)
    return {node: (layer, nodes.index(node) - (len(nodes) - 1) / 2)
            for layer, nodes in members.items() for node in nodes}


def _draw_graph(ax, dag, title: str) -> None:
    pos = layered_positions(dag)
    layers = layer_index(dag)
    near = [(pos[u], pos[v]) for u, v in dag.edges() if layers[v] - layers[u] == 1]
    skip = [(pos[u], pos[v]) for u, v in dag.edges() if layers[v] - layers[u] > 1]
    ax.add_collection(LineCollection(near, colors=colour(0), linewidths=0.6, alpha=0.55))
    ax.add_collection(LineCollection(skip, colors=colour(1), linewidths=0.6, alpha=0.55))
    xy = np.array(list(pos.values()))
    ax.scatter(xy[:, 0], xy[:, 1], s=14, color="black", zorder=3, linewidths=0)
    ax.set_title(title, fontsize=8)
    ax.set_xticks(sorted(set(layers.values())))
    ax.set_yticks([])
    ax.grid(False)
    ax.spines["left"].set_visible(False)


def _graph(graphs: pd.Series, run_id: str):
    """The stored graph of a trial as a DAG, or None if it is missing or unusable."""
    try:
        dag = graph_from_json(graphs[run_id], source=f"the graph of trial {run_id}")
        layer_index(dag)
    except (KeyError, InputError):
        return None
    return dag


def _extremes(data: StudyData) -> list[tuple[str, object]]:
    """(title, DAG) for the best and the worst graph of each (study, cell) with stored graphs."""
    graphs = data.artefacts[data.artefacts["kind"] == "graph"].drop_duplicates("run_id").set_index("run_id")["data"]
    several = data.structure["study"].nunique() > 1
    out = []
    for study, cell, rows in groups(data):
        rows = rows[rows["run_id"].isin(graphs.index)]
        if len(rows) < 2:
            continue
        ordered = rows.sort_values(["test_acc", "run_id"], ascending=[False, True])
        for which, row in (("best", ordered.iloc[0]), ("worst", ordered.iloc[-1])):
            dag = _graph(graphs, row["run_id"])
            if dag is None:
                continue
            seed = row["graph_seed"]
            source = row["generator"] if seed is None or seed != seed else f"{row['generator']} {int(seed)}"
            out.append((f"{_title(study, cell, several)}, {which}: accuracy {row['test_acc']:.3f}\n{source}: "
                        f"{dag.number_of_nodes()} units, {dag.number_of_edges()} edges", dag))
    return out


def _graphs_drawing(extremes):
    def draw(fig):
        axes = grid(fig, len(extremes), columns=4, sharey=False, xlabel="layer (longest path from a source, edges)",
                    ylabel="units of a layer")
        for ax, (title, dag) in zip(axes, extremes):
            _draw_graph(ax, dag, title)
    return draw


def _top_correlations(results) -> pd.DataFrame:
    rows = []
    for label, result in results:
        table = result["correlations"].dropna(subset=["spearman_rho"])
        table = table.reindex(table["spearman_rho"].abs().sort_values(ascending=False).index).head(5)
        rows += [{"group": label, **row} for row in table.to_dict("records")]
    return pd.DataFrame(rows)


def _r2_table(results) -> pd.DataFrame:
    return pd.DataFrame([{"group": label, **row} for label, r in results if "r2" in r
                         for row in r["r2"].to_dict("records")])


def _cv_figures(data: StudyData, results, labelled) -> list:
    figures = [render("structure_r2", "Cross-validated R² per regressor",
                      f"Held-out R² of regressing test accuracy on all graph properties, {FOLDS}-fold cross-validation "
                      f"repeated {REPEATS} time(s), mean over the folds with their standard deviation as error bars; "
                      f"0 predicts as well as the mean; a bar below {R2_FLOOR:g} is cut there and labelled.",
                      _r2_drawing(results), size=(max(4.5, 1.6 * len(results)), 3.2))]
    draw, n = _predicted_drawing(data, labelled)
    figures.append(render("structure_predicted", "Predicted against measured accuracy",
                          "Out-of-fold predictions of a Bayesian ridge regression on the standardised graph "
                          f"properties ({FOLDS} folds) against each graph's measured test accuracy; dotted: perfect "
                          "prediction.",
                          draw, size=panel_size(n, width=2.8, height=2.6)))
    draw, n = _importance_drawing(results)
    figures.append(render("structure_importances", "Property importances",
                          f"Permutation importance of the {TOP} most important properties for the Bayesian ridge "
                          f"regression: the drop of held-out R² when a property is shuffled ({PERMUTATIONS} shuffles, "
                          f"{FOLDS} folds), mean with its standard deviation over the folds.",
                          draw, size=panel_size(n, columns=2, width=4.2, height=2.8)))
    return figures


def structure_results(data: StudyData) -> list[tuple[str, pd.DataFrame, dict]]:
    """(label, trials, analysis) per (study, cell) with GraphRNNs: :func:`analyse`'s tables."""
    several = data.structure["study"].nunique() > 1
    return [(_title(study, cell, several), rows, analyse(rows, data.seed)) for study, cell, rows in groups(data)]


def structure_section(data: StudyData, labelled=None) -> Section | None:
    """The structure section; None without trained GraphRNNs. ``labelled``: the output of
    :func:`structure_results`, if already computed."""
    if data.structure.empty:
        return None
    table = data.structure
    labelled = labelled if labelled is not None else structure_results(data)
    results = [(label, r) for label, _, r in labelled]
    several = table["study"].nunique() > 1
    items = [Text(f"{len(table)} GraphRNNs trained on graphs of {', '.join(dict.fromkeys(table['generator']))}, "
                  f"{table['cell'].nunique()} cell(s)."),
             render("structure_accuracy", "Accuracy per generator and cell",
                    "Test accuracy of every GraphRNN (dots) and the mean per generator and cell with its 95 % "
                    "bootstrap interval (diamonds, error bars).", _accuracy_drawing(data, several),
                    size=panel_size(table["study"].nunique(), columns=2, width=5.5, height=3.2)),
             Table(intervals(table, ["study", "cell", "generator"], "test_acc", seed=data.seed).rename(
                 columns={"n": "graphs"}), "Test accuracy per generator and cell: mean, 95 % bootstrap interval",
                 anchor="structure-accuracy")]
    if any(not r["correlations"].empty for _, r in results):
        draw, rows, columns = _correlation_drawing([(lb, r) for lb, r in results if not r["correlations"].empty])
        items += [render("structure_correlations", "Graph properties and accuracy",
                         "Pearson's r and Spearman's ρ of each graph property with test accuracy, per cell; * marks "
                         f"a Benjamini–Hochberg adjusted p-value below {P_BH} (over the properties of a cell).", draw,
                         size=(min(11.5, 3.2 + 0.75 * columns), 0.8 + 0.19 * rows)),
                  Table(_top_correlations(results), "The five properties most rank-correlated with test accuracy "
                                                    "per cell (p-values Benjamini–Hochberg adjusted)",
                        anchor="structure-top-correlations")]
    if any("r2" in r for _, r in results):
        items += _cv_figures(data, [(lb, r) for lb, r in results if "r2" in r], labelled)
        items.append(Table(_r2_table(results), "Held-out R² per regressor (mean and standard deviation over folds)",
                           anchor="structure-r2"))
    else:
        largest = int(table.groupby(["study", "cell"]).size().max())
        items.append(Text(f"Cross-validated regressions need at least {MIN_CV} graphs of a cell with different "
                          f"accuracies (five held-out folds of four); the most here is {largest}.", kind="note"))
    extremes = _extremes(data)
    if extremes:
        items.append(render("structure_graphs", "The best and the worst graph",
                            "The graphs of the most and the least accurate GraphRNN of each cell, in layers (blue: "
                            "edges to the next layer; orange: skip edges across layers).", _graphs_drawing(extremes),
                            size=panel_size(len(extremes), width=2.9, height=2.6)))
    return Section("structure-results", "Structure", items)
