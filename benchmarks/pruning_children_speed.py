"""How much faster do the pruned children of one base retrain as one ClassifierStack?

Run from the repository root::

    python benchmarks/pruning_children_speed.py --threads 1         # writes docs/benchmarks/pruning_children_speed.md
    python benchmarks/pruning_children_speed.py --quick             # a smoke run

A dense base with the reference thesis's shape (:class:`~sparsernn.nn.SequenceClassifier`,
embedding 50, three layers of 50, default LSTM) is pruned ``N`` times, one-shot magnitude
pruning of ``both`` (ih + hh) at sparsities spread over 0.1..1.0 -- the children of one
base in a pruning study. Variants, all retraining the same N children on the same batches:

* ``separate``  each child with its own Adam, one step as :func:`sparsernn.train.fit` takes it
  (forward, cross-entropy, backward, ``clip_grad_norm_``, step)
* ``stack``     the N children as one :class:`~sparsernn.nn.ClassifierStack`, one step as
  :func:`sparsernn.train.fit_pack` takes it (per-member clipping and divergence checks)

One *round* is one training step of all N children. Variants take turns round by round
(order rotated every batch), so load bursts on a shared, noisy machine hit them all alike;
the table gives medians over repetitions measured in this one process, for each N. The
evaluation passes of an epoch (every member on the test set) are timed the same way.
"""

from __future__ import annotations

import argparse
import copy
import platform
import resource
import statistics
import sys
import time
from pathlib import Path

import torch
from graph_pack_speed import BATCH, MAX_LEN, MIN_LEN, VOCAB, make_batches
from torch import nn

from sparsernn import prune
from sparsernn.nn import ClassifierStack, SequenceClassifier
from sparsernn.tasks import TASKS
from sparsernn.train import Split, TrainingConfig, _evaluate_pack, _PackTrainer, evaluate, make_optimizer

OUTPUT = Path(__file__).resolve().parents[1] / "docs" / "benchmarks" / "pruning_children_speed.md"
GOAL = 5.0  # issue 13: at least 5x the throughput of one-by-one retraining at N = 30


def make_children(n: int, cell: str, seed: int) -> list[SequenceClassifier]:
    torch.manual_seed(seed)
    base = SequenceClassifier(cell, VOCAB, hidden_sizes=(50, 50, 50), embedding_dim=50)
    children = []
    for i in range(n):
        child = copy.deepcopy(base)
        prune.prune_to_sparsity(child, round(0.1 + 0.9 * i / max(n - 1, 1), 3), targets=("ih", "hh"))
        children.append(child)
    return children


class Separate:
    def __init__(self, models, config):
        self.models, self.clip = models, config.clip
        self.optimizers = [make_optimizer(m, config) for m in models]

    def step(self, batch):
        for model, optimizer in zip(self.models, self.optimizers):
            loss = nn.functional.cross_entropy(model(batch.inputs, batch.lengths), batch.labels)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), self.clip)
            optimizer.step()

    def evaluate(self, split):
        for model in self.models:
            evaluate(model, split)


class Stacked:
    def __init__(self, models, config):
        self.stack = ClassifierStack(models)
        self.trainer = _PackTrainer(self.stack, make_optimizer(self.stack, config), config.clip, TASKS["classify"])

    def step(self, batch):
        self.trainer.step(batch)

    def evaluate(self, split):
        _evaluate_pack(self.stack, split, list(range(self.stack.num_members)), batch_size=1024,
                       task=TASKS["classify"])


def measure(n: int, cell: str, n_batches: int, repetitions: int, seed: int) -> dict:
    config = TrainingConfig()  # the reference protocol: Adam, lr 1e-3, clip 5
    batches = make_batches(n_batches, seed)
    held_out = make_batches(8, seed + 1)  # 256 sequences, padded to one length
    test = Split(torch.cat([nn.functional.pad(b.inputs, (0, MAX_LEN - b.inputs.shape[1])) for b in held_out]),
                 torch.cat([b.lengths for b in held_out]), torch.cat([b.labels for b in held_out]))
    children = make_children(n, cell, seed)
    variants = {"separate": Separate([copy.deepcopy(c) for c in children], config),
                "stack": Stacked([copy.deepcopy(c) for c in children], config)}
    own = torch.stack([c(batches[0].inputs, batches[0].lengths) for c in children], dim=1)  # as they train
    diff = float((own - variants["stack"].stack(batches[0].inputs, batches[0].lengths)).abs().max().detach())
    names = list(variants)
    for name in names:  # warm-up
        for batch in batches[:2]:
            variants[name].step(batch)
    steps = {name: [] for name in names}
    evals = {name: [] for name in names}
    for _ in range(repetitions):
        spent = dict.fromkeys(names, 0.0)
        for i, batch in enumerate(batches):
            for name in names[i % 2:] + names[: i % 2]:
                start = time.perf_counter()
                variants[name].step(batch)
                spent[name] += time.perf_counter() - start
        for name in names:
            steps[name].append(spent[name])
        for name in names:
            start = time.perf_counter()
            variants[name].evaluate(test)
            evals[name].append(time.perf_counter() - start)
    return {"steps": steps, "evals": evals, "diff": diff, "test": len(test.labels)}


def report(results: dict, cell: str, n_batches: int, repetitions: int, command: str) -> str:
    lines = [
        "# Pruning children: one by one or as one ClassifierStack",
        "",
        f"Written by `{command}`; see the script's docstring for the variants. Medians over interleaved "
        "repetitions in one process; only the ratios are meaningful on a shared machine.",
        "",
        f"- torch {torch.__version__}, {torch.get_num_threads()} intra-op threads, Python {platform.python_version()}, "
        f"{platform.machine()}, CPU",
        f"- N children of one {cell} base (embedding 50, layers 50, 50, 50), one-shot magnitude pruning of ih + hh at "
        "sparsities spread evenly over 0.1..1.0",
        f"- a round: one Adam step (clip 5) of every child on a batch of {BATCH} sequences, lengths "
        f"{MIN_LEN}..{MAX_LEN}, {VOCAB - 1} symbols + padding; an evaluation: every child on "
        f"{results[min(results)]['test']} sequences",
        f"- repetitions: {repetitions} x {n_batches} rounds per variant, interleaved round by round (after a 2-round "
        "warm-up), then one evaluation each",
        f"- goal (issue 13): the stack retrains at least {GOAL:g}x faster than one by one at N = 30",
        f"- peak resident memory of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB",
        "",
        "| N | separate: ms per child step | stack: ms per child step | training speed-up (paired median) "
        "| evaluation speed-up | largest logit difference |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for n, r in results.items():
        sep, stk = statistics.median(r["steps"]["separate"]), statistics.median(r["steps"]["stack"])
        paired = statistics.median(a / b for a, b in zip(r["steps"]["separate"], r["steps"]["stack"], strict=True))
        ev = statistics.median(r["evals"]["separate"]) / statistics.median(r["evals"]["stack"])
        lines.append(f"| {n} | {1e3 * sep / n_batches / n:.2f} | {1e3 * stk / n_batches / n:.2f} | "
                     f"{sep / stk:.2f} ({paired:.2f}) | {ev:.2f} | {r['diff']:.1e} |")
    lines += ["", f"Per-repetition times of {n_batches} rounds (s):", ""]
    for n, r in results.items():
        for name, values in r["steps"].items():
            lines.append(f"- N = {n}, `{name}`: " + ", ".join(f"{t:.3f}" for t in values))
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="N = 2, 4; 2 x 2 rounds (smoke run)")
    parser.add_argument("--children", type=str, default=None, help="comma-separated N (default 10,30)")
    parser.add_argument("--cell", default="lstm", choices=["rnn_tanh", "rnn_relu", "lstm", "gru"])
    parser.add_argument("--batches", type=int, default=None, help="rounds per repetition (default 5, quick 2)")
    parser.add_argument("--repetitions", type=int, default=None, help="default 5, quick 2")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    sizes = [int(n) for n in args.children.split(",")] if args.children else ([2, 4] if args.quick else [10, 30])
    n_batches = args.batches or (2 if args.quick else 5)
    repetitions = args.repetitions or (2 if args.quick else 5)
    results = {n: measure(n, args.cell, n_batches, repetitions, args.seed) for n in sizes}
    command = "python benchmarks/pruning_children_speed.py" + "".join(f" {a}" for a in sys.argv[1:])
    text = report(results, args.cell, n_batches, repetitions, command)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    print(text)
    print(f"written to {args.output}")


if __name__ == "__main__":
    main()
