"""A recorded pruning run next to the reference thesis's own pruning results.

The thesis stored every epoch of its pruning experiment in
``Implementations/experiments/results/prune/{cell}.csv`` (columns ``mode, prune, epoch,
train_loss, train_acc, test_loss, test_acc, time``): mode ``{cell}`` is the dense base
(epochs 1-50); ``{cell}_prune``, ``{cell}_prune_i2h`` and ``{cell}_prune_h2h`` are the
targets ``both``, ``ih`` and ``hh``, with ``prune`` the level in per cent, epoch 0 the test
accuracy right after pruning and epochs 1-10 the retraining. This script turns those rows
into the runs and epochs of a results database (one base, one pruning trial per target
and level, seed 0) and summarises them with :func:`sparsernn.analysis.pruning.pruning_summary`
-- so the thesis's numbers go through the same definitions as the run's -- then prints
both side by side as Markdown::

    python experiments/thesis_pruning_tables.py \\
        --thesis-results THESIS/Implementations/experiments/results/prune \\
        --run docs/results/thesis-pruning --markdown tables.md

The thesis's "100 %" kept its single largest weight (its mask was ``abs(w) < percentile``),
while the run's removes every targeted weight; the tables say so.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

import pandas as pd

from sparsernn.analysis.markdown import markdown_table
from sparsernn.analysis.pruning import pruning_summary
from sparsernn.errors import InputError
from sparsernn.store import Store

TARGETS = {"_prune": "both", "_prune_i2h": "ih", "_prune_h2h": "hh"}


def thesis_results(path: Path, cell: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The runs and epochs of the thesis's pruning experiment for ``cell``, read from
    ``path / f"{cell}.csv"``, in the shape :meth:`sparsernn.store.Store.runs` and
    :meth:`~sparsernn.store.Store.epochs` give them (the columns the analysis reads)."""
    with open(path / f"{cell}.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    base = f"thesis-{cell}"
    runs = [{"run_id": base, "study": "thesis", "kind": "dense", "parent": None, "status": "done",
             "config": json.dumps({"cell": cell}), "cell": cell, "seed": 0, "model_sparsity": 0.0}]
    epochs = []
    for row in rows:
        mode, level, epoch = row["mode"], int(row["prune"]), int(row["epoch"])
        if mode == cell:
            run_id, phase = base, "train"
        else:
            target = TARGETS[mode[len(cell):]]
            run_id, phase = f"thesis-{cell}-{target}-{level}", "retrain"
            if epoch == 0:
                point = {"criterion": "magnitude", "target": target, "scope": "global", "schedule": "one_shot",
                         "amount": level / 100, "threshold": None}
                runs.append({"run_id": run_id, "study": "thesis", "kind": "pruning", "parent": base, "status": "done",
                             "config": json.dumps({"cell": cell, "pruning": point}), "cell": cell, "seed": 0,
                             "model_sparsity": float("nan")})
        epochs.append({"run_id": run_id, "phase": phase, "epoch": epoch, "test_acc": float(row["test_acc"]),
                       "test_loss": float(row["test_loss"])})
    return pd.DataFrame(runs), pd.DataFrame(epochs)


def side_by_side(thesis: dict[str, pd.DataFrame], run: dict[str, pd.DataFrame]) -> list[tuple[str, pd.DataFrame]]:
    """The thesis's and the run's :func:`pruning_summary` tables joined per (cell,
    target, level) and per (cell, target), as ``(title, table)``."""
    keys = ["cell", "target", "level"]
    columns = {"pruned_acc": "right after pruning", "final_acc": "after retraining",
               "recovery_epochs": "recovery epochs"}
    mine = run["configurations"]
    mine = mine[(mine["criterion"] == "magnitude") & (mine["schedule"] == "one_shot") & (mine["scope"] == "global")]
    joined = thesis["configurations"][keys + [f"{c}_seeds" for c in columns]].merge(
        mine[keys + [f"{c}_seeds" for c in columns]], on=keys, suffixes=(" thesis", " here"))
    order = keys + [f"{c}_seeds {who}" for c in columns for who in ("thesis", "here")]
    joined = joined[order].sort_values(keys).rename(columns=lambda c: c.replace("_seeds", ""))
    levels = ["max_safe_sparsity", "max_feasible_sparsity"]
    maxima = thesis["max_sparsity"][["cell", "target"] + [f"{c}_seeds" for c in levels]].merge(
        run["max_sparsity"][["cell", "target"] + [f"{c}_seeds" for c in levels]], on=["cell", "target"],
        suffixes=(" thesis", " here"))
    maxima = maxima[["cell", "target"] + [f"{c}_seeds {who}" for c in levels for who in ("thesis", "here")]]
    maxima = maxima.sort_values(["cell", "target"]).rename(columns=lambda c: c.replace("_seeds", ""))
    return [("test accuracy right after pruning (the thesis's measure of safe pruning) and after 10 retraining "
             "epochs, and the retraining epochs until within delta of the base (- never): the thesis's one run, "
             "then the run's seeds in order; at level 1 the thesis kept its largest weight", joined),
            ("maximum safe sparsity (right after pruning) and maximum feasible sparsity (after retraining): the "
             "thesis's one run, then the run's seeds in order", maxima)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--thesis-results", type=Path, required=True,
                        help="the thesis's Implementations/experiments/results/prune directory")
    parser.add_argument("--run", type=Path, required=True, help="a results directory of a thesis-pruning run")
    parser.add_argument("--cells", default="lstm,gru")
    parser.add_argument("--delta", type=float, default=0.01)
    parser.add_argument("--markdown", type=Path, default=None, help="write the tables here (default: print)")
    args = parser.parse_args(argv)
    cells = args.cells.split(",")
    missing = [c for c in cells if not (args.thesis_results / f"{c}.csv").is_file()]
    if missing:
        print(f"thesis_pruning_tables: no {missing[0]}.csv in {args.thesis_results}", file=sys.stderr)
        return 2
    frames = [thesis_results(args.thesis_results, cell) for cell in cells]
    thesis = pruning_summary(pd.concat([f[0] for f in frames]), pd.concat([f[1] for f in frames]), delta=args.delta)
    try:
        with Store(args.run, create=False) as store:
            runs, epochs = store.runs(), store.epochs()
    except InputError as error:
        print(f"thesis_pruning_tables: {error}", file=sys.stderr)
        return 2
    run = pruning_summary(runs[runs["cell"].isin(cells)], epochs, delta=args.delta)
    text = "\n".join(markdown_table(table, f"{title}; delta={args.delta:g}")
                     for title, table in side_by_side(thesis, run))
    if args.markdown:
        args.markdown.write_text(text)
    else:
        print(text, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
