"""The report's first sections: how the studies were set up and run, and what is missing.

*Setup* lists, per study, its kinds, trials by status, cells, seeds, dataset and task,
compute time (the trials' own seconds summed) and elapsed time (first start to last
finish); the settings its trials share and those they vary (read from the stored
trials, so it holds for any database); the datasets as stored (classes, split sizes,
lengths); the library versions and machines the trials ran on; and the command line
and configs of the last ``sparsernn run`` into the directory, where it recorded them
(``run.yaml``). *Missing* appears for a partial study: trials failed (with their
errors), diverged, pending or interrupted, and what that leaves out.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from ..data import list_datasets
from ..ids import flatten
from .data import StudyData
from .html import Code, Section, Table, Text

MAX_VALUE = 90  # characters of a setting's value shown (a graph's edge list can be long)
UNFINISHED = ("pending", "running")


def duration(seconds: float) -> str:
    """``"42 s"``, ``"3.5 min"``, ``"2.1 h"``; ``"-"`` when unknown.

    >>> duration(42.4), duration(210), duration(7560), duration(float("nan"))
    ('42 s', '3.5 min', '2.1 h', '-')
    """
    if seconds != seconds:
        return "-"
    if seconds < 100:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.1f} min" if seconds < 6000 else f"{seconds / 3600:.1f} h"


def _short(value) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 1] + "…"


def _tasks(names) -> str:
    info = {d.name: d for d in list_datasets()}
    return ", ".join(dict.fromkeys(f"{info[n].task} ({info[n].inputs})" if n in info else "classify (a file)"
                                   for n in names))


SHOWN = {"model.embedding_dim": "embedding", "model.hidden_sizes": "hidden", "training.epochs": "epochs",
         "training.batch_size": "batch", "training.optimizer": "optimizer", "training.lr": "lr"}


def _shared(group: pd.DataFrame) -> dict:
    """The model and training settings of :data:`SHOWN`, as the study's trials hold them."""
    values = _values([json.loads(c) for c in group["config"]])
    return {name: values.get(key, "-") for key, name in SHOWN.items()}


def _overview(runs: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for study, group in runs.groupby("study", sort=False):
        status = group["status"].value_counts()
        elapsed = (group["finished"].max() - group["started"].min()).total_seconds() \
            if group["finished"].notna().any() else float("nan")
        datasets = [str(d) for d in dict.fromkeys(group["dataset"])]
        rows.append({"study": study, "kinds": ", ".join(dict.fromkeys(group["kind"])), "trials": len(group),
                     "done": int(status.get("done", 0)), "failed": int(status.get("failed", 0)),
                     "diverged": int(status.get("diverged", 0)),
                     "not run": int(sum(status.get(s, 0) for s in UNFINISHED)),
                     "cells": ", ".join(map(str, dict.fromkeys(group["cell"]))),
                     "seeds": ", ".join(map(str, sorted(set(group["seed"].dropna().astype(int))))),
                     "dataset": ", ".join(Path(d).name for d in datasets), "task": _tasks(datasets),
                     **_shared(group),
                     "compute time": duration(float(group["seconds"].sum())), "elapsed": duration(elapsed)})
    return pd.DataFrame(rows)


def _values(configs: list[dict]) -> dict[str, str]:
    """Each setting of some trials: its one value, or the values it takes."""
    flat = [flatten(c) for c in configs]
    out = {}
    for key in sorted(set().union(*flat)):
        values = list(dict.fromkeys(_short(f.get(key)) for f in flat if key in f))
        out[key] = values[0] if len(values) == 1 else f"{len(values)} values: " + ", ".join(values[:12]) + \
            (", …" if len(values) > 12 else "")
    return out


def settings_table(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per stored setting, one column per study: the value its trials share, or
    the values they take (what the study varies); ``-`` where a study has no such setting."""
    columns = {study: _values([json.loads(c) for c in group["config"]])
               for study, group in runs.groupby("study", sort=False)}
    keys = sorted(set().union(*(c.keys() for c in columns.values()))) if columns else []
    return pd.DataFrame({"setting": keys, **{study: [values.get(k, "-") for k in keys]
                                             for study, values in columns.items()}})


def _datasets(artefacts: pd.DataFrame) -> pd.DataFrame:
    rows = {}
    for data in artefacts.loc[artefacts["kind"] == "dataset", "data"]:
        if not isinstance(data, dict):
            continue
        splits = data.get("splits") or {}
        row = {"dataset": data.get("name"), "classes": ", ".join(map(str, data.get("classes") or [])) or "-"}
        for split in ("train", "validation", "test"):
            part = splits.get(split) or {}
            row[f"{split} size"] = part.get("size")
        row["mean length (train)"] = (splits.get("train") or {}).get("mean_length")
        rows[json.dumps(row, sort_keys=True, default=str)] = row
    return pd.DataFrame(list(rows.values()))


def _environments(runs: pd.DataFrame) -> pd.DataFrame:
    rows = {}
    for text in runs["environment"]:
        if not isinstance(text, str):
            continue
        env = json.loads(text)
        packages = env.get("packages") or {}
        row = {"python": env.get("python"), "platform": env.get("platform"), "host": env.get("host"),
               "device": env.get("device", "cpu"), "torch threads": env.get("torch_threads"),
               **{name: version for name, version in packages.items()}}
        key = json.dumps(row, sort_keys=True, default=str)
        rows.setdefault(key, {**row, "trials": 0})["trials"] += 1
    return pd.DataFrame(list(rows.values()))


def setup_section(data: StudyData, *, recorded: str | None = None) -> Section:
    """Setup: studies, settings, datasets, environments, and the recorded command and config."""
    runs = data.runs
    items = [Table(_overview(runs), "Studies in this directory: trials by status; compute time is the trials' "
                                    "own wall time summed, elapsed the time from the first start to the last finish",
                   anchor="studies")]
    datasets = _datasets(data.artefacts)
    if not datasets.empty:
        items.append(Table(datasets, "Datasets as the trials built them (sizes in sequences, lengths in steps)"))
    environments = _environments(runs)
    if not environments.empty:
        items.append(Table(environments, "Versions and machines the trials ran on"))
    items.append(Table(settings_table(runs), "Every stored setting of each study's trials: the value they share, or "
                                             "the values they take (what the study varies)", anchor="settings",
                       collapsed=True))
    if recorded:
        first, _, rest = recorded.partition("\n")
        if first.startswith("# "):
            items.append(Code(first[2:], "The command of the last 'sparsernn run' into this directory:"))
        items.append(Code(recorded, "Its studies, every setting spelled out (run.yaml)", collapsed=True))
    else:
        items.append(Text("No command line was recorded here (a 'sparsernn run' records it in run.yaml); the "
                          "settings above are read from the stored trials.", kind="note"))
    return Section("setup", "Setup", items)


def _errors(runs: pd.DataFrame) -> pd.DataFrame:
    failed = runs[runs["status"].isin(["failed", "diverged"])]
    if failed.empty:
        return pd.DataFrame()
    table = failed.assign(error=failed["error"].fillna("-").map(lambda e: _short(str(e).splitlines()[0] if e else
                                                                                "-")))
    return table.groupby(["study", "kind", "status", "error"], sort=False).size().rename("trials").reset_index()


def missing_section(data: StudyData, *, running: bool = False) -> Section | None:
    """What a partial study lacks: trials not run (and why), failed and diverged ones
    with their errors. None when every trial is done."""
    runs = data.runs
    status = runs["status"].value_counts()
    unfinished = int(sum(status.get(s, 0) for s in UNFINISHED))
    errors = _errors(runs)
    if not unfinished and errors.empty:
        return None
    items = []
    if unfinished:
        started = int(status.get("running", 0))
        why = "a run is still writing to this directory" if running else \
            (f"{unfinished - started} never started and {started} were interrupted while running (no run holds this "
             "directory now: it was stopped, killed, or ran out of time)")
        items.append(Text(f"{unfinished} of {len(runs)} trials {'has' if unfinished == 1 else 'have'} no result yet: "
                          f"{why}. Running the same 'sparsernn run' command again resumes them; the figures and "
                          "answers below use only the finished trials.", kind="warning"))
        per = runs[runs["status"].isin(UNFINISHED)].groupby(["study", "kind", "status"]).size()
        items.append(Table(per.rename("trials").reset_index(), "Trials without a result, per study and kind"))
    if not errors.empty:
        failed = int(errors["trials"].sum())
        items.append(Text(f"{failed} trial{'' if failed == 1 else 's'} failed or diverged; their errors, as stored "
                          "(a failed trial reruns with the same command; a diverged one is a result):",
                          kind="warning"))
        items.append(Table(errors, "Trials that failed or diverged, by error"))
    return Section("missing", "Missing results", items)
