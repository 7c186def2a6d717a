"""How long do whole studies take on this machine, and how much memory does a worker need?

Run from the repository root on an otherwise idle machine::

    python benchmarks/end_to_end.py           # writes docs/benchmarks/end_to_end.md (about 30 min)
    python benchmarks/end_to_end.py --quick   # a smoke run (a few minutes)

Every measurement runs the real command line, ``python -m sparsernn.cli ...``, in a new
process with the default two workers on this 2-core machine, and times it end to end:

* **default run**: ``sparsernn run`` (the ``quick`` preset: every study kind, small), which
  ends by writing its HTML report and printing the main findings, repeated.
* **reference pruning protocol** (``--preset thesis-pruning --seeds 1``: 4 cells, a dense
  base of 50 epochs each and 30 children of 10 retraining epochs each) and **reference
  structure protocol** (``--preset thesis-structure``: 800 graphs, 25,000 strings, 15
  epochs). Both are *extrapolated* from two shortened runs of a subset of the same
  studies, A and B, which differ only in their epochs (pruning: the children of target
  ``both`` only, bases 1 and 3 epochs, children 1 and 2 retraining epochs; structure: 10
  graphs per generator, 1 and 2 epochs). From the trials' stored seconds
  (``runs.seconds``; a stack's time is shared among its members), the work of one more
  epoch of every base, child and graph is ``(Σ seconds in B - Σ seconds in A) / (epochs in
  B - epochs in A)`` and the rest of A's seconds is each role's fixed cost; the full
  protocol's work is that, scaled to its number of trials and epochs, and its wall time
  is estimated as that work split evenly over the two workers plus the part of B's wall
  time that no trial accounts for (start-up, data, storing).

Peak memory is the largest resident set size of any process of the command (the driver
or one of its workers; ``getrusage(RUSAGE_CHILDREN).ru_maxrss`` after it ends). The goals
are issue 13's: default run <= 60 s, pruning protocol <= 1 h, structure protocol <= 4 h,
peak memory <= 500 MiB per worker.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

OUTPUT = Path(__file__).resolve().parents[1] / "docs" / "benchmarks" / "end_to_end.md"
GOALS = {"default": 60.0, "pruning": 3600.0, "structure": 4 * 3600.0, "rss_mib": 500.0}
GRAPHS = 10  # graphs per generator measured; the full protocol has 100


# Runs the command line given to it and prints the largest resident set (KiB) of it and its processes.
MEASURE = ("import resource, subprocess, sys; code = subprocess.run(sys.argv[1:]).returncode; "
           "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); sys.exit(code)")


def command(*args: str) -> tuple[float, float]:
    """Run ``sparsernn ARGS`` to completion: (wall seconds, peak MiB of its largest process)."""
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", MEASURE, sys.executable, "-m", "sparsernn.cli", *args],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"sparsernn {' '.join(args)} failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    return seconds, int(done.stderr.strip().splitlines()[-1]) / 1024


def trial_seconds(out: Path) -> dict[str, float]:
    """Σ stored seconds of the finished trials of ``out``, by role: ``base``/``child`` (pruning), ``graph``."""
    with sqlite3.connect(out / "results.sqlite") as db:
        rows = db.execute("SELECT kind, parent, seconds FROM runs WHERE status = 'done'").fetchall()
    sums: dict[str, float] = {}
    for kind, parent, seconds in rows:
        role = "graph" if kind == "structure" else ("child" if parent else "base")
        sums[role] = sums.get(role, 0.0) + seconds
    return sums


def protocol(name: str, preset: list[str], shortened: dict[str, list[str]], epochs: dict[str, tuple[int, int, int]],
             scratch: Path, scale: dict[str, float]) -> dict:
    """Runs A and B of a protocol and its extrapolation; ``epochs[role] = (in A, in B, in full)``,
    ``scale[role]``: how many times more trials of that role the full protocol has."""
    walls, sums, peak = {}, {}, 0.0
    for run in ("A", "B"):
        out = scratch / f"{name}-{run}"
        walls[run], rss = command("run", *preset, *[a for s in shortened[run] for a in ("--set", s)], "--out", str(out))
        peak = max(peak, rss)
        sums[run] = trial_seconds(out)
        print(f"{name} {run}: {walls[run]:.0f} s, trials {json.dumps({k: round(v) for k, v in sums[run].items()})}",
              flush=True)
    work, per_epoch, fixed = 0.0, {}, {}  # seconds of trial work of the full protocol
    for role, (a, b, full) in epochs.items():
        per_epoch[role] = (sums["B"][role] - sums["A"][role]) / (b - a)
        fixed[role] = sums["A"][role] - a * per_epoch[role]  # building, pruning, epoch-0 evaluation, saving
        work += scale[role] * (fixed[role] + full * per_epoch[role])
    overhead = max(0.0, walls["B"] - sum(sums["B"].values()) / 2)  # start-up, data, storing: not in any trial
    return dict(walls=walls, sums=sums, per_epoch=per_epoch, fixed=fixed, work=work,
                estimate=work / 2 + overhead, rss=peak, scale=scale)


def hours(seconds: float) -> str:
    return f"{seconds / 3600:.2f} h ({seconds / 60:.0f} min)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller protocols, one repetition (smoke run)")
    parser.add_argument("--repetitions", type=int, default=None, help="default runs: default 3, quick 1")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args()
    repetitions = args.repetitions or (1 if args.quick else 3)

    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        default = {"total": [], "rss": 0.0}
        for rep in range(repetitions):
            wall, rss = command("run", "--out", str(scratch / f"default-{rep}"))
            default["total"].append(wall)
            default["rss"] = max(default["rss"], rss)
            print(f"default run {rep + 1}: {wall:.1f} s", flush=True)

        small = ["--set", "data.num_strings=2000"] if args.quick else []
        pruning = protocol(
            "pruning", ["--preset", "thesis-pruning", "--seeds", "1", "--set", "pruning.targets=[both]", *small],
            {"A": ["training.epochs=1", "pruning.retrain_epochs=1"],
             "B": ["training.epochs=3", "pruning.retrain_epochs=2"]},
            {"base": (1, 3, 50), "child": (1, 2, 10)}, scratch, scale={"base": 1, "child": 3})
        structure = protocol(
            "structure", ["--preset", "thesis-structure", "--set", f"structure.graphs={GRAPHS}", *small],
            {"A": ["training.epochs=1"], "B": ["training.epochs=2"]},
            {"graph": (1, 2, 15)}, scratch, scale={"graph": 100 / GRAPHS})

    med = {k: statistics.median(v) for k, v in default.items() if k != "rss"}
    rss = max(default["rss"], pruning["rss"], structure["rss"])
    verdict = lambda value, goal: "met" if value <= goal else "not met"
    script = "python benchmarks/end_to_end.py" + (" --quick" if args.quick else "")
    lines = [
        "# End to end: whole studies on a 2-core machine",
        "",
        f"Written by `{script}`; see the script's docstring for what is run and how the reference",
        "protocols are extrapolated from two shortened runs each. Wall times of the real command",
        "line with its default two workers.",
        "",
        f"- torch {torch.__version__}, Python {platform.python_version()}, {platform.machine()}, "
        f"{os.cpu_count()} cores",
        "",
        "| measurement | result | goal (issue 13) | |",
        "|---|---:|---:|---|",
        f"| default `sparsernn run`, its report included (median of {repetitions}) "
        f"| {med['total']:.1f} s | <= 60 s | {verdict(med['total'], GOALS['default'])} |",
        f"| reference pruning protocol, 4 cells, 1 seed (**extrapolated**) | {hours(pruning['estimate'])} "
        f"| <= 1 h | {verdict(pruning['estimate'], GOALS['pruning'])} |",
        f"| reference structure protocol, 800 graphs, 15 epochs (**extrapolated**) | {hours(structure['estimate'])} "
        f"| <= 4 h | {verdict(structure['estimate'], GOALS['structure'])} |",
        f"| peak resident memory of any one process (driver or worker), all of the above | {rss:.0f} MiB "
        f"| <= 500 MiB | {verdict(rss, GOALS['rss_mib'])} |",
        "",
        "## Default run",
        "",
        f"Wall time of each repetition: {', '.join(f'{v:.1f} s' for v in default['total'])}; median "
        f"{med['total']:.1f} s. Peak memory of one process: {default['rss']:.0f} MiB.",
        "",
    ]
    for name, result, full in (("Reference pruning protocol", pruning, "bases 50 epochs, children 10"),
                               ("Reference structure protocol", structure, "15 epochs")):
        lines += [f"## {name}", "", f"Full protocol: {full}.", "",
                  "| run | wall (s) | Σ trial seconds by role |", "|---|---:|---|"]
        for run in ("A", "B"):
            sums = ", ".join(f"{k} {v:.0f}" for k, v in sorted(result["sums"][run].items()))
            lines.append(f"| {run} | {result['walls'][run]:.0f} | {sums} |")
        per = ", ".join(f"{k} {v:.0f} s" for k, v in sorted(result["per_epoch"].items()))
        fixed = ", ".join(f"{k} {v:.0f} s" for k, v in sorted(result["fixed"].items()))
        scale = ", ".join(f"{k} x{v:g}" for k, v in sorted(result["scale"].items()))
        lines += ["", f"Trial seconds of one epoch of all measured trials of a role: {per}; the rest of their "
                  f"seconds (building, pruning, evaluating before training, saving): {fixed}. The full protocol "
                  f"has more trials ({scale}) and epochs: {result['work'] / 3600:.2f} core-hours of trial work, "
                  f"estimated wall time on 2 workers {hours(result['estimate'])}. Peak memory of one process: "
                  f"{result['rss']:.0f} MiB.", ""]
    lines += ["Measured subsets: the pruning protocol with target `both` only (its `ih` and `hh` children "
              "cost the same: x3), the structure protocol with "
              f"{GRAPHS} graphs per generator (a stack's cost is linear in its members: x{100 / GRAPHS:g}; an upper "
              "bound, as the preset trains stacks of 100, which cost less per member than stacks of "
              f"{GRAPHS}).", ""]
    if args.quick:
        lines += ["(--quick, a smoke run: 2,000 strings instead of 25,000; the estimates mean nothing.)", ""]
    text = "\n".join(lines)
    print(text)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    print(f"written to {args.output}")


if __name__ == "__main__":
    main()
