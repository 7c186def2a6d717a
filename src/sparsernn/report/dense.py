"""Dense baselines: learning curves per cell, mean and 95 % bootstrap interval over seeds.

One panel per study with dense trials (a pruning study's bases, a comparison's wide
network, a dense study); one line per cell (and per configuration where a study swept
other settings), the test accuracy after each training epoch (epoch 0: before
training), its band the bootstrap interval of the mean over the seeds (none for one seed).
"""

from __future__ import annotations

import pandas as pd

from .data import StudyData, intervals
from .html import Section, Table, Text
from .style import ACCURACY, EPOCH, band, colour, grid, panel_size, render


def _label(cell: str, configuration: str, several: bool) -> str:
    return f"{cell} ({configuration})" if several else cell


def _curves(data: StudyData) -> dict[str, pd.DataFrame]:
    """Per study, the interval table of test accuracy by (cell, configuration, epoch)."""
    out = {}
    for study, group in data.dense.groupby("study", sort=False):
        out[study] = intervals(group, ["cell", "configuration", "epoch"], "test_acc", seed=data.seed)
    return out


def _draw(curves: dict[str, pd.DataFrame]):
    def draw(fig):
        for ax, (study, table) in zip(grid(fig, len(curves), columns=3, xlabel=EPOCH, ylabel=ACCURACY), curves.items()):
            several = table.groupby("cell")["configuration"].nunique().max() > 1
            for i, ((cell, configuration), line) in enumerate(table.groupby(["cell", "configuration"], sort=False)):
                band(ax, line["epoch"], line["mean"], line["low"], line["high"], colour=colour(i),
                     label=_label(cell, configuration, several), marker="o" if len(line) < 30 else "")
            ax.set_title(study)
            ax.legend(loc="lower right")
    return draw


def final_table(data: StudyData) -> pd.DataFrame:
    """Final test accuracy of the dense trials per study, cell and configuration."""
    last = data.dense.sort_values("epoch").groupby("run_id").tail(1)
    table = intervals(last, ["study", "cell", "configuration"], "test_acc", seed=data.seed)
    epochs = last.groupby(["study", "cell", "configuration"])["epoch"].max().rename("epochs").reset_index()
    return table.merge(epochs, on=["study", "cell", "configuration"]).rename(
        columns={"mean": "final test accuracy", "low": "low", "high": "high", "n": "seeds"})


def dense_section(data: StudyData) -> Section | None:
    """The learning curves of the dense trials; None without any."""
    if data.dense.empty:
        return None
    curves = _curves(data)
    figure = render("learning_curves", "Dense learning curves",
                    "Test accuracy after each training epoch (0: before training), mean over seeds with its 95 % "
                    "bootstrap interval as a band (no band for a single seed), per study and cell.",
                    _draw(curves), size=panel_size(len(curves), columns=3, width=3.6, height=2.8))
    return Section("baselines", "Dense baselines", [
        Text("Every dense network trained in this directory: the bases pruning starts from and the dense "
             "references of comparisons."),
        figure,
        Table(final_table(data), "Final test accuracy of the dense networks: mean, 95 % bootstrap interval over "
                                 "seeds", anchor="dense-final"),
    ])
