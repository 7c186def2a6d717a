"""How much faster does a study run with ``--workers 2`` than with ``--workers 1``?

Run from the repository root on an otherwise idle machine::

    python benchmarks/workers_speedup.py          # writes docs/benchmarks/workers_speedup.md
    python benchmarks/workers_speedup.py --quick  # a smoke run (tiny study, one repetition)

The study: dense LSTMs (embedding 50, 3x50 layers, Adam, batch 32) on 4,000 Reber strings,
6 epochs, seeds 0-7 (eight trials of equal size, about 8 s each). Each repetition runs the real command,
``sparsernn run STUDY --workers N --out FRESH_DIR``, in a new process, for N = 1 and
N = 2 in turn (alternating which goes first), and times it end to end (start-up, data,
training, storing). ``--workers 1`` trains in the driver process with torch's default
threads; ``--workers 2`` uses two worker processes with ``cpu_count // 2`` threads each.
The speed-up is the median of the paired ratios ``time(1) / time(2)``.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

OUTPUT = Path(__file__).resolve().parents[1] / "docs" / "benchmarks" / "workers_speedup.md"
STUDY = """name: workers-benchmark
kind: dense
cells: [lstm]
seeds: [0, 1, 2, 3, 4, 5, 6, 7]
data: {{dataset: reber, num_strings: {strings}}}
model: {{embedding_dim: 50, hidden_sizes: [50, 50, 50]}}
training: {{epochs: {epochs}}}
"""


def run_once(config: Path, workers: int, scratch: Path) -> float:
    out = Path(tempfile.mkdtemp(dir=scratch))
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "sparsernn.cli", "run", str(config), "--workers", str(workers),
                    "--out", str(out)], check=True, capture_output=True, env=env)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny study, one repetition (smoke run)")
    parser.add_argument("--repetitions", type=int, default=None, help="default 2, quick 1")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args()
    repetitions = args.repetitions or (1 if args.quick else 2)
    strings, epochs = (400, 1) if args.quick else (4000, 6)

    times: dict[int, list[float]] = {1: [], 2: []}
    with tempfile.TemporaryDirectory() as scratch:
        config = Path(scratch) / "study.yaml"
        config.write_text(STUDY.format(strings=strings, epochs=epochs))
        for rep in range(repetitions):
            for workers in ((1, 2) if rep % 2 == 0 else (2, 1)):
                times[workers].append(run_once(config, workers, Path(scratch)))
                print(f"repetition {rep + 1}, --workers {workers}: {times[workers][-1]:.1f} s", flush=True)

    ratios = [a / b for a, b in zip(times[1], times[2])]
    command = "python benchmarks/workers_speedup.py" + (" --quick" if args.quick else "")
    lines = [
        "# Speed-up of `--workers 2` over `--workers 1`",
        "",
        f"Written by `{command}`; see the script's docstring for the study. Wall time of the",
        "whole command, medians over repetitions in one session; the speed-up is the median",
        "of paired ratios. Goal: >= 1.7x on 2 cores.",
        "",
        f"- torch {torch.__version__}, Python {platform.python_version()}, {platform.machine()}, "
        f"{os.cpu_count()} cores, torch's default threads {torch.get_num_threads()}",
        f"- study: 8 dense LSTM trials, {strings} Reber strings, {epochs} epochs each; {repetitions} repetitions",
        "",
        "| workers | median wall time (s) | all (s) |",
        "|---:|---:|---|",
    ]
    for workers, values in times.items():
        lines.append(f"| {workers} | {statistics.median(values):.1f} | {', '.join(f'{v:.1f}' for v in values)} |")
    lines += ["", f"**Speed-up: {statistics.median(ratios):.2f}x** (paired ratios: "
                  f"{', '.join(f'{r:.2f}' for r in ratios)})", ""]
    text = "\n".join(lines)
    print(text)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    print(f"written to {args.output}")


if __name__ == "__main__":
    main()
