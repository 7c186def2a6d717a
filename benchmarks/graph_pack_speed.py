"""How much faster do many small GraphRNNs train as one GraphRNNPack or GraphRNNStack?

Run from the repository root::

    python benchmarks/graph_pack_speed.py            # full run, writes docs/benchmarks/graph_pack_speed.md
    python benchmarks/graph_pack_speed.py --quick    # a smoke run (4 graphs, packs of 1, 2, 4, few batches)
    python benchmarks/graph_pack_speed.py --threads 1 --graphs 128 --packs 16 --stacks 16,64,128

``N`` thesis-like graphs (Watts–Strogatz, ``n`` uniform in [10, 50], ``k = n // 5``,
``p = 1``, index orientation: :func:`sparsernn.studies.kinds.structure.trial_graph` with graph
seeds ``0..N-1``) become GraphRNNs (default LSTM, embedding 50, recurrence "layer",
readout "sinks"). Variants, all training the same N models on the same batches:

* ``separate``  each model with its own Adam, one step as :func:`sparsernn.train.fit` takes it
  (forward, cross-entropy, backward, ``clip_grad_norm_``, step)
* ``pack k``    the models in packs of ``k`` (member order = graph seed; the last pack may
  be smaller), one step per pack as :func:`sparsernn.train.fit_pack` takes it (per-member
  clipping and divergence checks included)
* ``stack k``   the models in :class:`~sparsernn.nn.GraphRNNStack` s of ``k`` (per-member blocks along a
  member axis, cost linear in ``k``), stepped like the packs

Issue 13's goal for stacks: at the best stack size, at least 10 times faster than ``separate``.

One *round* is one training step of all N models. Variants take turns round by round
(order rotated every batch), so load bursts on a shared, noisy machine hit them all
alike; the table gives per-variant medians over repetitions measured in this one process.
"""

from __future__ import annotations

import argparse
import platform
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from sparsernn.data.batches import Batch
from sparsernn.nn import GraphRNN, GraphRNNPack, GraphRNNStack
from sparsernn.studies.kinds.structure import trial_graph
from sparsernn.tasks import TASKS
from sparsernn.train import TrainingConfig, _PackTrainer, make_optimizer

VOCAB = 10  # 9 symbols + padding id 0
EMBED = 50
BATCH = 32
MIN_LEN, MAX_LEN = 11, 40
OUTPUT = Path(__file__).resolve().parents[1] / "docs" / "benchmarks" / "graph_pack_speed.md"


def make_batches(n_batches: int, seed: int) -> list[Batch]:
    """Reber-like random batches: tokens (B, T) with 0-padding, lengths (B,), labels (B,)."""
    rng = np.random.default_rng(seed)
    batches = []
    for _ in range(n_batches):
        lengths = rng.integers(MIN_LEN, MAX_LEN + 1, size=BATCH)
        tokens = rng.integers(1, VOCAB, size=(BATCH, lengths.max()))
        tokens[np.arange(lengths.max())[None, :] >= lengths[:, None]] = 0
        labels = rng.integers(0, 2, size=BATCH)
        batches.append(Batch(torch.from_numpy(tokens), torch.from_numpy(lengths), torch.from_numpy(labels)))
    return batches


def make_models(n_graphs: int, cell: str, seed: int) -> list[GraphRNN]:
    """One GraphRNN per graph seed, each initialised from its own torch seed."""
    models = []
    for g in range(n_graphs):
        dag = trial_graph({"generator": "watts_strogatz", "graph_seed": g, "sizes": [10, 50],
                           "orientation": "index", "erdos_renyi_p": 0.1, "recurrence": "layer",
                           "readout": "sinks"})
        torch.manual_seed(seed + g)
        models.append(GraphRNN(dag, cell, VOCAB, embedding_dim=EMBED))
    return models


class Separate:
    """The N models trained one by one, as fit steps them."""

    def __init__(self, models: list[GraphRNN], config: TrainingConfig) -> None:
        self.models = models
        self.optimizers = [make_optimizer(m, config) for m in models]
        self.clip = config.clip

    def step(self, batch: Batch) -> None:
        for model, optimizer in zip(self.models, self.optimizers):
            loss = nn.functional.cross_entropy(model(batch.inputs, batch.lengths), batch.labels)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), self.clip)
            optimizer.step()


class Packed:
    """The N models in packs (``kind`` GraphRNNPack or GraphRNNStack) of ``size``, as fit_pack steps them."""

    def __init__(self, models: list[GraphRNN], size: int, config: TrainingConfig, kind: type = GraphRNNPack) -> None:
        self.packs = [kind(models[i:i + size]) for i in range(0, len(models), size)]
        self.trainers = [_PackTrainer(p, make_optimizer(p, config), config.clip, TASKS["classify"]) for p in self.packs]

    def step(self, batch: Batch) -> None:
        for trainer in self.trainers:
            trainer.step(batch)


def check_same_function(models: list[GraphRNN], packed: Packed, batch: Batch) -> float:
    """Largest difference between a member's own logits and its logits in the pack, as trained
    (with gradients: a GraphRNNStack evaluates without them member by member)."""
    with torch.no_grad():
        own = torch.stack([m(batch.inputs, batch.lengths) for m in models], dim=1)  # (B, N, C)
    in_packs = torch.cat([p(batch.inputs, batch.lengths).detach() for p in packed.packs], dim=1)  # (B, N, C)
    return float((own - in_packs).abs().max())


def run(n_graphs: int, pack_sizes: list[int], cell: str, n_batches: int, repetitions: int,
        seed: int, stack_sizes: tuple[int, ...] = (),
        ) -> tuple[dict[str, list[float]], float, list[int], dict[str, int]]:
    """Return ``{variant: [seconds of n_batches rounds, per repetition]}``, the largest logit
    difference pack/own, the graphs' vertex counts and ``{variant: parameter elements}``."""
    config = TrainingConfig(clip=5.0)  # the reference protocol: Adam, lr 1e-3, clip 5
    batches = make_batches(n_batches, seed)
    models = make_models(n_graphs, cell, seed)
    variants: dict[str, Separate | Packed] = {}
    # every variant trains its own copy of the same initial models
    variants["separate"] = Separate([GraphRNN.from_hparams(m.hparams) for m in models], config)
    for model, copy in zip(models, variants["separate"].models):
        copy.load_state_dict(model.state_dict())
    for size in pack_sizes:
        variants[f"pack {size}"] = Packed(models, size, config)
    for size in stack_sizes:
        variants[f"stack {size}"] = Packed(models, size, config, GraphRNNStack)
    elements = {name: sum(p.numel() for m in (v.models if isinstance(v, Separate) else v.packs)
                          for p in m.parameters()) for name, v in variants.items()}
    max_diff = max(check_same_function(models, v, batches[0]) for v in variants.values() if isinstance(v, Packed))
    names = list(variants)
    for name in names:  # warm-up: allocator, oneDNN primitives, optimiser state
        for batch in batches[:2]:
            variants[name].step(batch)
    times = {name: [] for name in names}
    for _ in range(repetitions):
        epoch = dict.fromkeys(names, 0.0)
        for i, batch in enumerate(batches):
            for name in names[i % len(names):] + names[: i % len(names)]:
                start = time.perf_counter()
                variants[name].step(batch)
                epoch[name] += time.perf_counter() - start
        for name in names:
            times[name].append(epoch[name])
    sizes = [len(m.hparams["vertices"]) for m in models]
    return times, max_diff, sizes, elements


def report(times: dict, max_diff: float, sizes: list[int], cell: str, n_batches: int, repetitions: int,
           command: str, elements: dict[str, int] | None = None) -> str:
    n_graphs = len(sizes)
    med = {name: statistics.median(v) for name, v in times.items()}
    lines = [
        "# GraphRNNPack and GraphRNNStack speed",
        "",
        f"Written by `{command}`; see the script's docstring for the variants. Medians over interleaved "
        "repetitions in one process; only the ratios are meaningful on a shared machine.",
        "",
        f"- torch {torch.__version__}, {torch.get_num_threads()} intra-op threads, Python {platform.python_version()}, "
        f"{platform.machine()}, CPU",
        f"- {n_graphs} Watts–Strogatz GraphRNNs ({cell}, embedding {EMBED}, recurrence layer, readout sinks), "
        f"{min(sizes)}..{max(sizes)} vertices (mean {statistics.mean(sizes):.1f})",
        f"- a round: one Adam step (clip 5) of every model on a batch of {BATCH} sequences, lengths "
        f"{MIN_LEN}..{MAX_LEN}, {VOCAB - 1} symbols + padding",
        f"- repetitions: {repetitions} x {n_batches} rounds per variant, variants interleaved round by round "
        "(after a 2-round warm-up)",
        f"- largest difference between a model's own logits and its logits in a pack or stack: {max_diff:.1e}",
        f"- peak RSS of the whole run (all variants in one process): "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB",
        "- parameter elements: all variants' parameters, padding included (Adam keeps two more of each)",
        "",
        "| variant | s per round | ms per model step | speed-up vs separate (paired median) | parameter elements |",
        "|---|---:|---:|---:|---:|",
    ]
    elements = elements or {}
    for name in times:
        paired = statistics.median(a / b for a, b in zip(times["separate"], times[name], strict=True))
        lines.append(f"| `{name}` | {med[name] / n_batches:.3f} | {1e3 * med[name] / n_batches / n_graphs:.2f} "
                     f"| {med['separate'] / med[name]:.2f} ({paired:.2f}) | {elements.get(name, 0):,} |")
    stacks = [name for name in times if name.startswith("stack ")]
    if stacks:
        best = max(stacks, key=lambda name: med["separate"] / med[name])
        speedup = med["separate"] / med[best]
        lines += ["", f"Goal (issue 13): a GraphRNNStack at least 10 times faster than `separate` at the best "
                      f"stack size. Measured: `{best}`, {speedup:.2f} times: goal "
                      f"{'met' if speedup >= 10 else 'not met'} in this run."]
    lines += ["", f"Per-repetition times of {n_batches} rounds (s):", ""]
    for name in times:
        lines.append(f"- `{name}`: " + ", ".join(f"{t:.3f}" for t in times[name]))
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="4 graphs, packs of 1, 2, 4, 2 x 2 rounds (smoke run)")
    parser.add_argument("--graphs", type=int, default=None, help="number of graphs N (default 32, quick 4)")
    parser.add_argument("--packs", type=str, default=None, help="comma-separated pack sizes (default 1,8,16,32)")
    parser.add_argument("--stacks", type=str, default=None,
                        help="comma-separated GraphRNNStack sizes (default 8,16,32, quick 2,4)")
    parser.add_argument("--cell", default="lstm", choices=["rnn_tanh", "rnn_relu", "lstm", "gru"])
    parser.add_argument("--batches", type=int, default=None, help="rounds per repetition (default 10, quick 2)")
    parser.add_argument("--repetitions", type=int, default=None, help="default 5, quick 2")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    n_graphs = args.graphs or (4 if args.quick else 32)
    default_packs = [1, 2, 4] if args.quick else [1, 8, 16, 32]
    pack_sizes = [int(k) for k in args.packs.split(",")] if args.packs else default_packs
    n_batches = args.batches or (2 if args.quick else 10)
    default_stacks = [2, 4] if args.quick else [8, 16, 32]
    stack_sizes = [int(k) for k in args.stacks.split(",")] if args.stacks else default_stacks
    repetitions = args.repetitions or (2 if args.quick else 5)

    times, max_diff, sizes, elements = run(n_graphs, pack_sizes, args.cell, n_batches, repetitions, args.seed,
                                           stack_sizes)
    command = "python benchmarks/graph_pack_speed.py" + "".join(f" {a}" for a in sys.argv[1:])
    text = report(times, max_diff, sizes, args.cell, n_batches, repetitions, command, elements)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    print(text)
    print(f"written to {args.output}")


if __name__ == "__main__":
    main()
