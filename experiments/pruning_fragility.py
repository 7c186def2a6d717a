"""Why do the reference thesis's models survive one-shot pruning before retraining, and ours not?

A controlled experiment: GRUs (3x50, embedding 50, Adam 1e-3, batch 32, clip 5) trained
on Reber strings, then one-shot global magnitude pruning of the input-to-hidden and
hidden-to-hidden weights (``both``) and of each set alone, evaluated right after pruning
(no retraining) -- the thesis's "safe pruning" measure. Two factors are crossed, one at a
time, with everything else equal (model class, loss, initialisation, data order, seeds):

``readout``
    ``packed``: the toolkit's readout, the top layer's state at each string's true last
    symbol (packed sequences). ``padded``: the thesis's readout, the top layer's state at
    the last step of the zero-padded batch, after the shorter strings have read trailing
    padding tokens (whose embedding is learned, as the thesis's ASCII embedding had no
    padding index).
``data``
    ``toolkit``: ``reber`` with the thesis preset's negatives (56 % foreign letters, made
    by corrupting positives, so negatives have the positives' lengths). ``thesis``: the
    thesis's own 25,000 strings (its ``train_data.csv`` + ``test_data.csv``, re-split
    75/25 with the seed), whose negatives are shorter than its positives and whose
    foreign-letter negatives come from a second automaton. Follow-ups (``--data``):
    ``thesis_reber_letters``, the thesis's 5,500 negatives made of Reber letters only and
    5,500 of its positives; ``toolkit_thesis``, ``reber`` with the toolkit's generator of
    the thesis's negatives (``negatives: thesis``, the thesis preset's data).

The bases are pruned after 2, 5 and ``--epochs`` epochs, so training length is a third
(observed, not crossed) factor. Writes one CSV row per (data, readout, seed, epoch,
target, level) with the accuracy right after pruning, and the base's weight norm.

Usage::

    python experiments/pruning_fragility.py --thesis-data PATH/TO/thesis/Implementations/dataset \
        --seeds 3 --epochs 10 --out docs/results/fragility/fragility.csv

where PATH is a checkout of the reference thesis's repository (harshildarji/thesis);
its data files are read, not shipped.
"""

from __future__ import annotations

import argparse
import copy
import csv
import sys
import time
from pathlib import Path

import pandas as pd
import torch

from sparsernn import prune
from sparsernn.data import Vocabulary, load_dataset
from sparsernn.nn import SequenceClassifier
from sparsernn.seeding import derive_seed
from sparsernn.train import TrainingConfig, encode_splits, evaluate, fit

LEVELS = [round(0.1 * i, 1) for i in range(4, 11)]  # 10-30 % never cost anything
TARGETS = {"both": ("ih", "hh"), "ih": ("ih",), "hh": ("hh",)}


class PaddedReadout(SequenceClassifier):
    """The thesis's readout: the top layer's output at the last step of the padded batch.

    The padding token's embedding is learned (the thesis embedded ASCII codes, NUL
    included, without a padding index)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.embed.padding_idx = None
        with torch.no_grad():
            self.embed.weight[0].normal_()  # nn.Embedding's own initialisation of a row

    def forward(self, inputs, lengths):
        self._check_inputs(inputs, lengths)
        h = self.embed(inputs)  # (B, T, E), padding included
        for layer in self.layers:
            h, _ = layer(h)  # (B, T, H)
        return self.readout(h[:, -1])  # the last padded step


def thesis_csv(directory: Path, reber_letters_only: bool = False) -> Path:
    """The thesis's train and test files as one ``string,valid`` CSV (re-split by the loader).

    With ``reber_letters_only``, only its 5,500 negatives made of Reber letters and as
    many of its positives (the first ones), so both classes use the same letters."""
    df = pd.concat([pd.read_csv(directory / name)[["string", "valid"]] for name in ("train_data.csv", "test_data.csv")])
    if reber_letters_only:
        negatives = df[(df["valid"] == 0) & df["string"].map(lambda s: set(s) <= set("BTPSXVE"))]
        df = pd.concat([df[df["valid"] == 1].head(len(negatives)), negatives])
    path = Path(f"/tmp/thesis_reber_strings{'_letters' if reber_letters_only else ''}.csv")
    df.to_csv(path, index=False)
    return path


def load(data: str, seed: int, thesis: Path | None):
    if data.startswith("thesis"):
        return load_dataset(thesis_csv(thesis, data == "thesis_reber_letters"), seed=derive_seed(seed, "data"))
    if data == "toolkit_thesis":  # the toolkit's generator of the thesis's negatives
        return load_dataset("reber", seed=derive_seed(seed, "data"), num_strings=25_000, min_length=11,
                            negatives="thesis")
    return load_dataset("reber", seed=derive_seed(seed, "data"), num_strings=25_000, min_length=11,
                        negatives="mixed", foreign_fraction=0.56)


def weight_norm(model) -> float:
    return float(torch.sqrt(sum((p.detach() ** 2).sum() for n, p in model.named_parameters() if "weight" in n)))


def pruned_accuracies(model, test, batch_size: int) -> list[dict]:
    rows = []
    for target, targets in TARGETS.items():
        for level in LEVELS:
            copy_ = copy.deepcopy(model)
            prune.magnitude(copy_, level, targets=targets, scope="global")
            loss, acc = evaluate(copy_, test, batch_size=batch_size)
            rows.append({"target": target, "level": level, "pruned_acc": acc})
    return rows


def _per_seed(values) -> str:
    return " ".join(f"{v:.3f}".rstrip("0").rstrip(".") if round(v, 3) < 1 or v == 1 else f"{v:.4f}" for v in values)


def summarise(csv_path: Path) -> str:
    """Markdown tables of the accuracy right after pruning, per seed, by factor and level."""
    df = pd.read_csv(csv_path).sort_values("seed")
    lines = []
    for epoch in sorted(df["epoch"].unique()):
        for target in TARGETS:
            part = df[(df["epoch"] == epoch) & (df["target"] == target)]
            levels = sorted(part["level"].unique())
            lines += [f"### {target}, after {epoch} training epochs: test accuracy right after pruning, per seed", "",
                      "| data | readout | base | " + " | ".join(f"{lv:g}" for lv in levels) + " |",
                      "|---|---|---|" + "---|" * len(levels)]
            order = {name: i for i, name in enumerate(["toolkit", "thesis", "toolkit_thesis", "thesis_reber_letters"])}
            groups = sorted(part.groupby(["data", "readout"]), key=lambda kv: (order[kv[0][0]], kv[0][1]))
            for (data, readout), group in groups:
                base = _per_seed(group.drop_duplicates("seed")["base_acc"])
                cells = [_per_seed(group[group["level"] == lv]["pruned_acc"]) for lv in levels]
                lines.append(f"| {data} | {readout} | {base} | " + " | ".join(cells) + " |")
            lines.append("")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--summarise", type=Path, metavar="CSV", help="Print Markdown tables of a finished run.")
    parser.add_argument("--thesis-data", type=Path)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--cell", default="gru")
    parser.add_argument("--data", nargs="+", default=["toolkit", "thesis"],
                        choices=["toolkit", "thesis", "thesis_reber_letters", "toolkit_thesis"])
    parser.add_argument("--readouts", nargs="+", default=["packed", "padded"], choices=["packed", "padded"])
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    if args.summarise:
        print(summarise(args.summarise))
        return 0
    if args.thesis_data is None or args.out is None:
        parser.error("--thesis-data and --out are needed to run")
    torch.set_num_threads(1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    done = set()
    if args.out.exists():
        prior = pd.read_csv(args.out)
        done = set(zip(prior["data"], prior["readout"], prior["seed"]))
    checkpoints = sorted({2, 5, args.epochs})
    config = TrainingConfig(epochs=args.epochs, batch_size=32, optimizer="adam", lr=1e-3, clip=5.0)
    fields = ["cell", "data", "readout", "seed", "epoch", "base_acc", "weight_norm", "target", "level", "pruned_acc"]
    with args.out.open("a", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        if handle.tell() == 0:
            writer.writeheader()
        for seed in range(args.seeds):
            for data in args.data:
                splits = load(data, seed, args.thesis_data)
                vocab = Vocabulary.from_strings(splits.train.strings)
                train, test, _ = encode_splits(vocab, splits)
                for readout in args.readouts:
                    if (data, readout, seed) in done:
                        continue
                    start = time.time()
                    torch.manual_seed(derive_seed(seed, "init"))
                    model_class = PaddedReadout if readout == "padded" else SequenceClassifier
                    model = model_class(args.cell, len(vocab), (50, 50, 50), embedding_dim=50)

                    def on_epoch(row, model=model, test=test, data=data, readout=readout, seed=seed, start=start):
                        if row["epoch"] not in checkpoints:
                            return
                        base = evaluate(model, test, batch_size=32)[1]  # the thesis's test batches
                        norm = weight_norm(model)
                        for pruned in pruned_accuracies(model, test, 32):
                            writer.writerow({"cell": args.cell, "data": data, "readout": readout, "seed": seed,
                                             "epoch": row["epoch"], "base_acc": base, "weight_norm": norm, **pruned})
                        handle.flush()
                        print(f"{data} {readout} seed {seed} epoch {row['epoch']}: base {base:.4f} "
                              f"({time.time() - start:.0f}s)", flush=True)

                    fit(model, train, test, config, seed=derive_seed(seed, "order"), on_epoch=on_epoch)
    return 0


if __name__ == "__main__":
    sys.exit(main())
