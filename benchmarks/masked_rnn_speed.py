"""How much does masking cost? Masked LSTM classifiers against plain torch.nn.LSTM ones.

Run from the repository root::

    python benchmarks/masked_rnn_speed.py            # full run, writes docs/benchmarks/masked_rnn_speed.md
    python benchmarks/masked_rnn_speed.py --quick    # a smoke run (same table, fewer batches)

Variants, all with the same weights (copied from the plain model) on the same batches:

* ``plain``          Embedding -> torch.nn.LSTM(50, 50, num_layers=3) -> Linear (the reference)
* ``masked``         the same with sparsernn's MaskedLSTM(50, 50, num_layers=3)
* ``stacked_plain``  Embedding -> three single-layer torch.nn.LSTM -> Linear
* ``classifier``     sparsernn's SequenceClassifier("lstm", hidden_sizes=(50, 50, 50)):
  three single-layer MaskedLSTM and a MaskedLinear readout

``stacked_plain`` separates the cost of running three modules instead of one fused
three-layer op from the cost of masking. Every variant runs its recurrent layers over the
padded batch (torch's fused kernel; oneDNN on a CPU) and reads each sequence at its true
last symbol, as SequenceClassifier does. Variants take turns batch by batch (order
rotated every batch), so load bursts on a shared, noisy machine hit them all alike; the table gives
per-variant medians and ratios measured in this one process.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from sparsernn.nn import MaskedLSTM, SequenceClassifier
from sparsernn.nn.classifier import last_step

VOCAB = 10  # 9 symbols + padding id 0
EMBED = HIDDEN = 50
LAYERS = 3
BATCH = 32
MIN_LEN, MAX_LEN = 11, 40
OUTPUT = Path(__file__).resolve().parents[1] / "docs" / "benchmarks" / "masked_rnn_speed.md"


class FusedClassifier(nn.Module):
    """Embedding -> one multi-layer recurrent module -> Linear on the last layer's h_n."""

    def __init__(self, rnn: nn.LSTM) -> None:
        super().__init__()
        self.embed = nn.Embedding(VOCAB, EMBED, padding_idx=0)
        self.rnn = rnn
        self.readout = nn.Linear(HIDDEN, 2)

    def forward(self, tokens, lengths):
        out, _ = self.rnn(self.embed(tokens))  # (B, T, H), run over the padded batch
        return self.readout(last_step(out, lengths))  # (B, 2), each sequence at its last symbol


class StackedPlainClassifier(nn.Module):
    """Embedding -> single-layer torch.nn.LSTM modules in a row -> Linear."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(VOCAB, EMBED, padding_idx=0)
        self.layers = nn.ModuleList(nn.LSTM(EMBED, HIDDEN, batch_first=True) for _ in range(LAYERS))
        self.readout = nn.Linear(HIDDEN, 2)

    def forward(self, tokens, lengths):
        h = self.embed(tokens)
        for layer in self.layers:
            h, _ = layer(h)  # (B, T, H), over the padded batch
        return self.readout(last_step(h, lengths))  # (B, 2)


def make_batches(n_batches: int, seed: int) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """Reber-like random batches: tokens (B, T) with 0-padding, lengths (B,), labels (B,)."""
    rng = np.random.default_rng(seed)
    batches = []
    for _ in range(n_batches):
        lengths = rng.integers(MIN_LEN, MAX_LEN + 1, size=BATCH)
        tokens = rng.integers(1, VOCAB, size=(BATCH, lengths.max()))
        tokens[np.arange(lengths.max())[None, :] >= lengths[:, None]] = 0
        labels = rng.integers(0, 2, size=BATCH)
        batches.append((torch.from_numpy(tokens), torch.from_numpy(lengths), torch.from_numpy(labels)))
    return batches


def copy_stacked(target: nn.Module, plain: FusedClassifier) -> None:
    """Copy the fused model's weights into a model with ``embed``, ``layers`` and ``readout``."""
    with torch.no_grad():
        target.embed.weight.copy_(plain.embed.weight)
        target.readout.weight.copy_(plain.readout.weight)
        target.readout.bias.copy_(plain.readout.bias)
        for k, layer in enumerate(target.layers):
            for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                getattr(layer, f"{kind}_l0").copy_(getattr(plain.rnn, f"{kind}_l{k}"))


def build_variants(seed: int) -> dict[str, nn.Module]:
    torch.manual_seed(seed)
    plain = FusedClassifier(nn.LSTM(EMBED, HIDDEN, num_layers=LAYERS, batch_first=True))
    masked = FusedClassifier(MaskedLSTM.from_torch(plain.rnn))
    masked.load_state_dict(plain.state_dict(), strict=False)  # embedding and readout
    stacked_plain = StackedPlainClassifier()
    copy_stacked(stacked_plain, plain)
    classifier = SequenceClassifier("lstm", vocab_size=VOCAB, hidden_sizes=(HIDDEN,) * LAYERS, embedding_dim=EMBED)
    copy_stacked(classifier, plain)
    return {"plain": plain, "masked": masked, "stacked_plain": stacked_plain, "classifier": classifier}


def check_same_function(variants: dict[str, nn.Module], batch) -> float:
    """Largest logit difference to ``plain`` on one batch (all masks are all True)."""
    tokens, lengths, _ = batch
    with torch.no_grad():
        reference = variants["plain"].eval()(tokens, lengths)
        return max(float((m.eval()(tokens, lengths) - reference).abs().max()) for m in variants.values())


def train_step(model, optimizer, batch) -> float:
    tokens, lengths, labels = batch
    start = time.perf_counter()
    optimizer.zero_grad(set_to_none=True)
    loss = nn.functional.cross_entropy(model(tokens, lengths), labels)
    loss.backward()
    optimizer.step()
    return time.perf_counter() - start


@torch.no_grad()
def forward_step(model, batch) -> float:
    tokens, lengths, _ = batch
    start = time.perf_counter()
    model(tokens, lengths)
    return time.perf_counter() - start


def run(n_batches: int, repetitions: int, seed: int) -> tuple[dict, float]:
    """Return ``{variant: {"train": [epoch seconds per repetition], "forward": [...]}}``.

    The variants take turns batch by batch (order rotated every batch), so a burst of
    load from other processes slows them all alike; an epoch's time is the sum of its
    variant's step times.
    """
    batches = make_batches(n_batches, seed)
    variants = build_variants(seed)
    max_diff = check_same_function(variants, batches[0])
    optimizers = {name: torch.optim.Adam(m.parameters(), lr=1e-3) for name, m in variants.items()}
    names = list(variants)
    for name in names:  # warm-up: allocator, oneDNN primitives, Adam state
        variants[name].train()
        for batch in batches[:5]:
            train_step(variants[name], optimizers[name], batch)
    times = {name: {"train": [], "forward": []} for name in names}
    for _ in range(repetitions):
        for phase in ("train", "forward"):
            for model in variants.values():
                model.train(phase == "train")
            epoch = dict.fromkeys(names, 0.0)
            for i, batch in enumerate(batches):
                for name in names[i % len(names) :] + names[: i % len(names)]:
                    if phase == "train":
                        epoch[name] += train_step(variants[name], optimizers[name], batch)
                    else:
                        epoch[name] += forward_step(variants[name], batch)
            for name in names:
                times[name][phase].append(epoch[name])
    return times, max_diff


def report(times: dict, max_diff: float, n_batches: int, repetitions: int, quick: bool) -> str:
    med = {name: {phase: statistics.median(v) for phase, v in d.items()} for name, d in times.items()}
    comparisons = [
        ("(a) MaskedLSTM(num_layers=3) / nn.LSTM(num_layers=3)", "masked", "plain"),
        ("(b) SequenceClassifier (3 stacked MaskedLSTM) / nn.LSTM(num_layers=3)", "classifier", "plain"),
        ("stacking alone: 3 stacked nn.LSTM / nn.LSTM(num_layers=3)", "stacked_plain", "plain"),
        ("classifier alone (masks, input checks, masked readout): SequenceClassifier / 3 stacked nn.LSTM",
         "classifier", "stacked_plain"),
    ]
    lines = [
        "# Masked LSTM speed",
        "",
        "Written by `python benchmarks/masked_rnn_speed.py" + (" --quick" if quick else "") + "`; "
        "see the script's docstring for the variants. Medians over interleaved repetitions in one process; "
        "only the ratios are meaningful on a shared machine.",
        "",
        f"- torch {torch.__version__}, {torch.get_num_threads()} intra-op threads, Python {platform.python_version()}, "
        f"{platform.machine()}, CPU",
        f"- epoch: {n_batches} batches of {BATCH} sequences, lengths {MIN_LEN}..{MAX_LEN}, "
        f"{VOCAB - 1} symbols + padding, embedding {EMBED}, LSTM hidden {HIDDEN} x {LAYERS} layers, Adam",
        f"- repetitions: {repetitions} epochs per variant, "
        "variants interleaved batch by batch (after a 5-batch warm-up)",
        f"- largest logit difference to `plain` before training (all masks True): {max_diff:.1e}",
        "",
        "| variant | train epoch (s) | forward epoch (s) |",
        "|---|---:|---:|",
    ]
    for name in times:
        lines.append(f"| `{name}` | {med[name]['train']:.3f} | {med[name]['forward']:.3f} |")
    def paired(num, den, phase):
        return statistics.median(a / b for a, b in zip(times[num][phase], times[den][phase], strict=True))

    lines += [
        "",
        "Ratios: of the medians above, and in brackets the median of the per-repetition ratios.",
        "",
        "| ratio (goal <= 1.10) | train | forward |",
        "|---|---:|---:|",
    ]
    for label, num, den in comparisons:
        cells = [
            f"{med[num][phase] / med[den][phase]:.3f} ({paired(num, den, phase):.3f})" for phase in ("train", "forward")
        ]
        lines.append(f"| {label} | {cells[0]} | {cells[1]} |")
    lines += ["", "Per-repetition train-epoch times (s):", ""]
    for name in times:
        lines.append(f"- `{name}`: " + ", ".join(f"{t:.3f}" for t in times[name]["train"]))
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="30 batches x 3 repetitions (smoke run)")
    parser.add_argument("--batches", type=int, default=None, help="batches per epoch (default 300, quick 30)")
    parser.add_argument("--repetitions", type=int, default=None, help="default 7, quick 3")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    n_batches = args.batches or (30 if args.quick else 300)
    repetitions = args.repetitions or (3 if args.quick else 7)

    times, max_diff = run(n_batches, repetitions, args.seed)
    text = report(times, max_diff, n_batches, repetitions, args.quick)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    print(text)
    print(f"written to {args.output}")


if __name__ == "__main__":
    main()
