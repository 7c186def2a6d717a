"""How much faster is GraphRNN than a per-time-step Python loop over the same network?

Run from the repository root::

    python benchmarks/graph_rnn_loop_speed.py --threads 1   # writes docs/benchmarks/graph_rnn_loop_speed.md
    python benchmarks/graph_rnn_loop_speed.py --quick       # a smoke run

The reference thesis ran its graph-structured RNNs step by step in Python: for every
layer and every time step, one masked cell call (``F.linear`` of the input and of the
state), with padded sequences read at the padded end. ``Loop`` below is that approach
applied to exactly the network a :class:`~sparsernn.nn.GraphRNN` computes (the same
parameters and masks, the same layered inputs, each sequence's state kept at its true
last symbol), so both give the same logits (checked to 1e-5 before timing). Variants
train copies of the same models on the same batches:

* ``loop``      the per-time-step Python loop (LSTM cells written out, padded batch)
* ``graphrnn``  sparsernn's GraphRNN: one fused torch LSTM call per layer over the padded batch (oneDNN on a CPU)

A round is one Adam step (clip 5) of every model; variants take turns round by round
(order rotated every batch) and the table gives medians over repetitions in this one process.
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
from graph_pack_speed import BATCH, MAX_LEN, MIN_LEN, VOCAB, make_batches, make_models
from torch import nn

from sparsernn.nn import GraphRNN

OUTPUT = Path(__file__).resolve().parents[1] / "docs" / "benchmarks" / "graph_rnn_loop_speed.md"
GOAL = 10.0  # issue 13: GraphRNN at least 10x faster than the per-time-step loop


class Loop(nn.Module):
    """The network of ``model`` (a GraphRNN of LSTM cells) run time step by time step in Python."""

    def __init__(self, model: GraphRNN) -> None:
        super().__init__()
        self.model = model  # its parameters and masks; its forward is not used

    def forward(self, inputs: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        m = self.model
        x = m.embed(inputs)  # (B, T, E)
        B, T = inputs.shape
        alive = torch.arange(T)[None, :] < lengths[:, None]  # (B, T): steps within each sequence
        outputs, finals = [], []  # per layer: (B, T, w_l) outputs, (B, w_l) final states
        for index, cell in enumerate(m.layers):
            w_ih, w_hh = cell.weight_ih_l0 * cell.mask_ih_l0, cell.weight_hh_l0 * cell.mask_hh_l0
            source = x if index == 0 else torch.cat(outputs, dim=2)  # (B, T, In)
            h = source.new_zeros(B, cell.hidden_size)
            c = source.new_zeros(B, cell.hidden_size)
            steps = []
            for t in range(T):
                gates = (nn.functional.linear(source[:, t], w_ih, cell.bias_ih_l0)
                         + nn.functional.linear(h, w_hh, cell.bias_hh_l0))
                i, f, g, o = gates.chunk(4, dim=1)
                c_new = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
                h_new = torch.sigmoid(o) * torch.tanh(c_new)
                keep = alive[:, t, None]
                h, c = torch.where(keep, h_new, h), torch.where(keep, c_new, c)
                steps.append(h_new)
            outputs.append(torch.stack(steps, dim=1))
            finals.append(h)
        return m.readout(torch.cat(finals, dim=1))


class Trainer:
    def __init__(self, models: list[nn.Module]) -> None:
        self.models = models
        self.optimizers = [torch.optim.Adam(model.parameters(), lr=1e-3) for model in models]

    def step(self, batch) -> None:
        for model, optimizer in zip(self.models, self.optimizers):
            loss = nn.functional.cross_entropy(model(batch.inputs, batch.lengths), batch.labels)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            optimizer.step()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 graphs, 2 x 2 rounds (smoke run)")
    parser.add_argument("--graphs", type=int, default=None, help="models per round (default 8, quick 2)")
    parser.add_argument("--batches", type=int, default=None, help="rounds per repetition (default 5, quick 2)")
    parser.add_argument("--repetitions", type=int, default=None, help="default 5, quick 2")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    n_graphs = args.graphs or (2 if args.quick else 8)
    n_batches = args.batches or (2 if args.quick else 5)
    repetitions = args.repetitions or (2 if args.quick else 5)

    models = make_models(n_graphs, "lstm", args.seed)
    batches = make_batches(n_batches, args.seed)
    with torch.no_grad():
        diff = max(float((Loop(m)(b.inputs, b.lengths) - m(b.inputs, b.lengths)).abs().max())
                   for m in models for b in batches[:1])
    assert diff < 1e-5, f"the loop computes another network (difference {diff})"
    variants = {"loop": Trainer([Loop(copy.deepcopy(m)) for m in models]),
                "graphrnn": Trainer([copy.deepcopy(m) for m in models])}
    names = list(variants)
    for name in names:
        variants[name].step(batches[0])  # warm-up
    times = {name: [] for name in names}
    for _ in range(repetitions):
        spent = dict.fromkeys(names, 0.0)
        for i, batch in enumerate(batches):
            for name in names[i % 2:] + names[: i % 2]:
                start = time.perf_counter()
                variants[name].step(batch)
                spent[name] += time.perf_counter() - start
        for name in names:
            times[name].append(spent[name])

    med = {name: statistics.median(v) for name, v in times.items()}
    paired = statistics.median(a / b for a, b in zip(times["loop"], times["graphrnn"], strict=True))
    sizes = [len(m.hparams["vertices"]) for m in models]
    depth = [len(m.layers) for m in models]
    command = "python benchmarks/graph_rnn_loop_speed.py" + "".join(f" {a}" for a in sys.argv[1:])
    lines = [
        "# GraphRNN against a per-time-step Python loop",
        "",
        f"Written by `{command}`; see the script's docstring for the variants. Medians over interleaved "
        "repetitions in one process; only the ratios are meaningful on a shared machine.",
        "",
        f"- torch {torch.__version__}, {torch.get_num_threads()} intra-op threads, Python {platform.python_version()}, "
        f"{platform.machine()}, CPU",
        f"- {n_graphs} Watts–Strogatz GraphRNNs (lstm, embedding 50, recurrence layer, readout sinks), "
        f"{min(sizes)}..{max(sizes)} vertices, {min(depth)}..{max(depth)} layers",
        f"- a round: one Adam step (clip 5) of every model on a batch of {BATCH} sequences, lengths "
        f"{MIN_LEN}..{MAX_LEN}, {VOCAB - 1} symbols + padding; {repetitions} x {n_batches} rounds per variant",
        f"- largest logit difference loop / GraphRNN before training: {diff:.1e}",
        f"- goal (issue 13): GraphRNN at least {GOAL:g}x faster than the loop",
        f"- peak resident memory of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB",
        "",
        "| variant | ms per model step | speed-up of GraphRNN (paired median) |",
        "|---|---:|---:|",
        f"| `loop` | {1e3 * med['loop'] / n_batches / n_graphs:.1f} | |",
        f"| `graphrnn` | {1e3 * med['graphrnn'] / n_batches / n_graphs:.1f} | "
        f"{med['loop'] / med['graphrnn']:.2f} ({paired:.2f}) |",
        "",
        f"Per-repetition times of {n_batches} rounds (s):",
        "",
    ]
    lines += [f"- `{name}`: " + ", ".join(f"{t:.3f}" for t in values) for name, values in times.items()]
    text = "\n".join(lines) + "\n"
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    print(text)
    print(f"written to {args.output}")


if __name__ == "__main__":
    main()
