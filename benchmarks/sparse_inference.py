"""How fast and how small is a pruned model run with sparse kernels (sparsernn.infer)?

Run from the repository root::

    python benchmarks/sparse_inference.py            # full run (~14 min), writes docs/benchmarks/sparse_inference.md
    python benchmarks/sparse_inference.py --quick    # a smoke run (hidden 256 and 512, 2 repetitions)

One torch thread throughout (``torch.set_num_threads(1)``), so the numbers are per core.
Sections of the report:

* **Machine**: memory bandwidth of this core, a 512 MiB tensor copied (``b.copy_(a)``,
  bytes read + written) and summed (bytes read).
* **Recurrent layers** (the issue's grid): one layer, input size = hidden ``H``,
  ``STEPS`` time steps, batch 1 and 16, masks from
  :func:`sparsernn.prune.prune_to_sparsity` (magnitude, per matrix, ``ih`` and ``hh``)
  on a seeded random initialisation, all sequences of full length. ``dense``:
  ``torch.nn.LSTM``/``GRU`` holding the effective weights ``W ⊙ M``
  (``MaskedLSTM.to_torch()``) on the padded batch; ``sparse``: the layer of a
  :class:`sparsernn.infer.SparseModel` computing the sparse way (its input projections
  and its loop over time steps: the code ``SparseModel.forward`` runs per layer) on the
  same inputs, packed; ``auto``: the layer ``kernel="auto"`` builds, timed too where it
  takes the fused way (torch's op on the packed batch). The final states agree to the
  printed difference. The dense layer and all variants of the five sparsities at one
  (cell, hidden, batch) take turns call by call, the order rotated every repetition;
  medians over the repetitions. *Weight traffic* counts the
  bytes of the weights a call must read at least: ``W_hh`` once per step, ``W_ih`` once
  per call (dense) or once per 32-symbol block (sparse); its rate is compared with the
  machine's copy bandwidth.
* **Kernels**: one product of a ``(4H, H)`` matrix with ``(b, H)`` states, MKL's CSR
  kernel (int32 indices) against the dense one, the measurement behind
  :data:`sparsernn.infer.DENSE_ABOVE`.
* **End to end**: ``SequenceClassifier(cell, vocab 9, embedding 50, hidden [H])`` pruned
  to 90 % (``ih``, ``hh``, ``ho``), on batches of random strings of lengths 11..40: the
  checkpoint's model (masked layers, torch's fused kernels) against the model file from
  ``sparsernn export`` loaded with :func:`sparsernn.infer.load`.
* **Model files**: the size of the exported file of that classifier against the same
  model as dense float32 tensors.
* **Peak memory**: the peak resident set size (``VmHWM``) of fresh processes classifying
  1000 strings: a worker that loads a model file with :func:`sparsernn.infer.load` and
  calls :func:`sparsernn.predict.predict`, and ``sparsernn predict`` (which imports
  every command's dependencies).
"""

from __future__ import annotations

import argparse
import copy
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from sparsernn import prune
from sparsernn.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from sparsernn.data import Vocabulary
from sparsernn.infer import DENSE_ABOVE, SMALL, export, load
from sparsernn.infer.engine import _CHUNK, _Layer, _matmul
from sparsernn.infer.storage import csr_from_mask
from sparsernn.nn import MaskedGRU, MaskedLSTM, SequenceClassifier

CELLS = {"lstm": MaskedLSTM, "gru": MaskedGRU}
GATES = {"lstm": 4, "gru": 3}
HIDDEN = (256, 512, 1024, 2048)
SPARSITIES = (0.5, 0.8, 0.9, 0.95, 0.99)
BATCHES = (1, 16)
STEPS = 32
VOCAB = Vocabulary.from_strings(["BTSXPVE"])  # 7 symbols, padding and <unk>: 9 token ids
EMBED = 50
MIN_LEN, MAX_LEN = 11, 40
GOAL_SPEEDUP, GOAL_FILE, GOAL_RSS = 3.0, 0.2, 500
MEMORY_STRINGS = 1000
OUTPUT = Path(__file__).resolve().parents[1] / "docs" / "benchmarks" / "sparse_inference.md"
MiB = 2**20


def median_seconds(call, repetitions: int) -> float:
    call()
    times = []
    for _ in range(repetitions):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bandwidth() -> dict[str, float]:
    """GB/s of one core: copy (read + write) and read of a 512 MiB float32 tensor."""
    a = torch.ones(512 * MiB // 4)
    b = torch.empty_like(a)
    copy_s = median_seconds(lambda: b.copy_(a), 7)
    read_s = median_seconds(lambda: a.sum(), 7)
    return {"copy": 2 * a.numel() * 4 / copy_s / 1e9, "read": a.numel() * 4 / read_s / 1e9}


def matrix_bytes(weight: torch.Tensor) -> int:
    """Bytes a kernel reads for one product with ``weight`` (dense, or CSR with int32 indices)."""
    if weight.layout == torch.sparse_csr:
        return 8 * weight.values().numel() + 4 * (weight.shape[0] + 1)
    return 4 * weight.numel()


# --- recurrent layers ----------------------------------------------------------------------


def pruned_layer(cell: str, sparsity: float, base: torch.nn.Module) -> tuple[torch.nn.Module, dict[str, _Layer]]:
    """The dense torch layer holding W ⊙ M of ``base`` pruned to ``sparsity``, and the
    SparseModel layer of it computing the sparse way and (if it differs) the way "auto" takes."""
    masked = copy.deepcopy(base)
    prune.prune_to_sparsity(masked, sparsity, targets=("ih", "hh"), scope="layer")
    weights = {name: csr_from_mask(getattr(masked, name), mask) for name, mask in masked.masks().items()}
    weights.update(bias_ih_l0=masked.bias_ih_l0.detach().clone(), bias_hh_l0=masked.bias_hh_l0.detach().clone())
    layers = {"sparse": _Layer(cell, weights, "sparse")}
    auto = _Layer(cell, weights, "auto")
    if auto.way != "sparse":
        layers["auto"] = auto
    return masked.to_torch().eval(), layers


def layer_groups(cell: str, hidden: int, repetitions: int, seed: int) -> list[dict]:
    """Rows for every sparsity and batch at one (cell, hidden): the dense layer, the sparse
    way and the way "auto" takes, measured interleaved (one group per batch size)."""
    torch.manual_seed(seed)
    base = CELLS[cell](hidden, hidden, batch_first=True).requires_grad_(False)
    pruned = {sparsity: pruned_layer(cell, sparsity, base) for sparsity in SPARSITIES}
    reference = pruned[0.9][0]  # the dense layer's speed does not depend on its zeros
    rows = []
    for batch in BATCHES:
        x = torch.randn(batch, STEPS, hidden)  # (B, T, H)
        packed = x.transpose(0, 1).reshape(STEPS * batch, hidden).contiguous()  # (T·B, H), time-major as packed
        sizes = torch.full((STEPS,), batch)
        calls, group = {"dense": lambda x=x: reference(x)}, []
        for sparsity, (dense, layers) in pruned.items():
            with torch.no_grad():
                expected = dense(x)[1]
                expected = (expected[0] if cell == "lstm" else expected)[0]  # (B, H)
                difference = 0.0
                for way, layer in layers.items():
                    calls[(sparsity, way)] = lambda layer=layer, p=packed, s=sizes: layer.run(p, s, False)[1]
                    difference = max(difference, float((calls[(sparsity, way)]() - expected).abs().max()))
            sparse = layers["sparse"]
            traffic = STEPS * matrix_bytes(sparse.w_hh) + math.ceil(STEPS * batch / _CHUNK) * matrix_bytes(sparse.w_ih)
            group.append(dict(cell=cell, hidden=hidden, batch=batch, sparsity=sparsity, traffic=traffic,
                              auto=layers["auto"].way if "auto" in layers else "sparse", difference=difference))
        times = interleaved(calls, repetitions)
        dense_s = times["dense"]
        for row in group:
            sparse_s = times[(row["sparsity"], "sparse")]
            auto_s = times.get((row["sparsity"], "auto"), sparse_s)
            row.update(dense_ms=dense_s * 1e3, sparse_ms=sparse_s * 1e3, auto_ms=auto_s * 1e3,
                       speedup=dense_s / sparse_s, auto_speedup=dense_s / auto_s,
                       dense_gbs=4 * GATES[cell] * hidden * hidden * (STEPS + 1) / dense_s / 1e9,
                       sparse_gbs=row["traffic"] / sparse_s / 1e9)
        rows += group
    return rows


def interleaved(calls: dict, repetitions: int) -> dict:
    """Median seconds of each call, the calls taking turns, their order rotated every repetition."""
    names = list(calls)
    times = {name: [] for name in names}
    with torch.no_grad():
        for name in names:
            calls[name]()  # warm-up
        for repetition in range(repetitions):
            shift = repetition % len(names)
            for name in names[shift:] + names[:shift]:
                start = time.perf_counter()
                calls[name]()
                times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


# --- kernels ---------------------------------------------------------------------------------


def kernel_rows(hiddens, repetitions: int, seed: int) -> list[dict]:
    generator = torch.Generator().manual_seed(seed)
    rows = []
    for hidden in hiddens:
        weight = torch.randn(4 * hidden, hidden, generator=generator)
        for density in (0.5, 0.35, 0.2, 0.1, 0.05, 0.01):
            mask = torch.rand(weight.shape, generator=generator) < density
            dense, csr = weight * mask, csr_from_mask(weight, mask)
            for batch in BATCHES:
                h = torch.randn(batch, hidden, generator=generator)
                calls = {"dense": lambda w=dense, h=h: _matmul(w, h), "csr": lambda w=csr, h=h: _matmul(w, h)}
                times = {name: [] for name in calls}
                for repetition in range(repetitions):
                    for name in (list(calls) if repetition % 2 else list(calls)[::-1]):
                        start = time.perf_counter()
                        for _ in range(3):
                            calls[name]()
                        times[name].append((time.perf_counter() - start) / 3)
                rows.append(dict(hidden=hidden, density=density, batch=batch,
                                 dense_us=statistics.median(times["dense"]) * 1e6,
                                 csr_us=statistics.median(times["csr"]) * 1e6))
    return rows


# --- end to end, files, memory -----------------------------------------------------------------


def random_strings(count: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    symbols = [s for s in VOCAB.symbols if not s.startswith("<")]
    return ["".join(rng.choice(symbols, size=rng.integers(MIN_LEN, MAX_LEN + 1))) for _ in range(count)]


def classifier(cell: str, hidden: int, sparsity: float, seed: int) -> SequenceClassifier:
    torch.manual_seed(seed)
    model = SequenceClassifier(cell, len(VOCAB), hidden_sizes=[hidden], embedding_dim=EMBED).eval()
    prune.prune_to_sparsity(model, sparsity, targets=("ih", "hh", "ho"), scope="layer")
    return model.requires_grad_(False)


def end_to_end(cell: str, hidden: int, directory: Path, repetitions: int, seed: int) -> list[dict]:
    model = classifier(cell, hidden, 0.9, seed)
    checkpoint = save_checkpoint(directory / f"{cell}{hidden}.pt", model, VOCAB, classes=["invalid", "valid"])
    written = export(load_checkpoint(checkpoint), directory / f"{cell}{hidden}.safetensors")
    variants = {"checkpoint": load_checkpoint(checkpoint).model.eval(), "model file": load(written.path).model}
    rows = []
    for batch in BATCHES:
        batches = [VOCAB.encode(random_strings(batch, seed + i)) for i in range(repetitions)]
        with torch.no_grad():
            difference = max(float((variants["model file"](*b) - variants["checkpoint"](*b)).abs().max())
                             for b in batches)
            for variant in variants.values():
                variant(*batches[0])  # warm-up
            times = {name: [] for name in variants}
            for i, tokens_lengths in enumerate(batches):
                for name in (list(variants) if i % 2 else list(variants)[::-1]):
                    start = time.perf_counter()
                    variants[name](*tokens_lengths)
                    times[name].append(time.perf_counter() - start)
        symbols = statistics.mean(int(lengths.sum()) for _, lengths in batches)
        rows.append(dict(cell=cell, hidden=hidden, batch=batch, symbols=symbols, difference=difference,
                         **{f"{name}_ms": statistics.median(t) * 1e3 for name, t in times.items()}))
    return rows


def file_rows(hiddens, directory: Path, seed: int) -> list[dict]:
    rows = []
    for hidden in hiddens:
        for sparsity in SPARSITIES:
            model = classifier("lstm", hidden, sparsity, seed)
            written = export(Checkpoint(model, VOCAB, ("invalid", "valid")), directory / "size.safetensors")
            rows.append(dict(hidden=hidden, sparsity=sparsity, file=written.file_bytes, dense=written.dense_bytes,
                             ratio=written.ratio, storage=written.storage["layers.0.weight_hh_l0"]))
    return rows


# VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent across fork and exec
HWM = "print(next(line.split()[1] for line in open('/proc/self/status') if line.startswith('VmHWM:')))"
CLI = f"import sys; from sparsernn.cli import main; code = main(sys.argv[1:]); {HWM}; sys.exit(code)"
WORKER = ("import sys; from sparsernn.infer import load; from sparsernn.predict import predict; "
          "saved = load(sys.argv[1]); strings = open(sys.argv[2]).read().split(); "
          f"predict(saved, strings, batch_size=int(sys.argv[3])); {HWM}")


def peak_rss(code: str, *args: str) -> float:
    """MiB: the peak RSS (VmHWM) of a fresh ``python -c code args`` (one torch thread)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, check=True)
    return int(done.stdout.strip().splitlines()[-1]) / 1024  # kB


def memory_rows(hiddens, directory: Path, seed: int) -> list[dict]:
    """Peak RSS of worker processes (the library: load + predict) and of the command line."""
    strings = directory / "strings.txt"
    strings.write_text("\n".join(random_strings(MEMORY_STRINGS, seed)) + "\n")
    rows = [dict(what="`python -c 'import torch'`: the floor", worker=False, mib=peak_rss(f"import torch; {HWM}"))]
    files = {}
    for hidden in hiddens:
        model = classifier("lstm", hidden, 0.9, seed)
        checkpoint = save_checkpoint(directory / f"m{hidden}.pt", model, VOCAB, classes=["invalid", "valid"])
        files[hidden] = checkpoint, export(load_checkpoint(checkpoint), directory / f"m{hidden}.safetensors")
        for batch in (16, 1024):
            rows.append(dict(what=f"worker: `infer.load` + `predict`, LSTM hidden {hidden}, sparsity 0.9, "
                                  f"batch {batch}", worker=True,
                             mib=peak_rss(WORKER, str(files[hidden][1].path), str(strings), str(batch))))
    checkpoint, written = files[hiddens[0]]  # the command line with the smaller model: a dense run takes long
    name = f"LSTM hidden {hiddens[0]}, sparsity 0.9"
    predict = ["--input", str(strings), "--output", os.devnull]
    rows += [dict(what=f"`sparsernn predict MODEL` (batch 1024), {name}", worker=False,
                  mib=peak_rss(CLI, "predict", str(written.path), *predict)),
             dict(what=f"`sparsernn predict CHECKPOINT` (batch 1024), {name}", worker=False,
                  mib=peak_rss(CLI, "predict", str(checkpoint), *predict)),
             dict(what="`sparsernn --version`: the command line's imports alone", worker=False,
                  mib=peak_rss(CLI, "--version"))]
    return rows


# --- report ------------------------------------------------------------------------------------


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def verdict(met: bool) -> str:
    return "met" if met else "**not met**"


def report(args, machine, layers, kernels, e2e, files, memory, seconds) -> str:
    point = ("lstm", 1024, 0.9, 1)
    headline = next((r for r in layers if (r["cell"], r["hidden"], r["sparsity"], r["batch"]) == point), None)
    file_90 = [r for r in files if r["sparsity"] == 0.9]
    worst_rss = max(r["mib"] for r in memory if r["worker"])
    worst_difference = max([r["difference"] for r in layers] + [r["difference"] for r in e2e])
    command = "python benchmarks/sparse_inference.py" + (" --quick" if args.quick else "")
    lines = [
        "# Sparse inference: speed, file size, memory",
        "",
        f"Written by `{command}` ({seconds / 60:.1f} min); see the script's docstring for what each table "
        "measures. One torch thread; medians of interleaved repetitions in one process. The machine is "
        "shared and noisy: compare numbers within a table, not across runs.",
        "",
        f"- {cpu_name()}, {os.cpu_count()} cores; torch {torch.__version__} "
        f"(BLAS: {'MKL' if torch.backends.mkl.is_available() else 'other'}), Python {platform.python_version()}",
        f"- memory bandwidth of one core: copy {machine['copy']:.1f} GB/s (read + written), "
        f"read {machine['read']:.1f} GB/s",
        f"- repetitions: {args.repetitions} per variant (layers, end to end), {STEPS} time steps per layer call",
        f"- largest difference of a sparse result from the dense one: {worst_difference:.1e}",
        "",
        "## Goals",
        "",
        "| goal | result | |",
        "|---|---|---|",
    ]
    if headline:
        lines.append(f"| ≥ {GOAL_SPEEDUP:.0f}× faster than torch's dense `nn.LSTM`, hidden 1024, sparsity 0.9, "
                     f"batch 1 | {headline['speedup']:.1f}× ({headline['dense_ms']:.1f} → "
                     f"{headline['sparse_ms']:.1f} ms) | {verdict(headline['speedup'] >= GOAL_SPEEDUP)} |")
    for row in file_90:
        lines.append(f"| model file ≤ {GOAL_FILE}× dense fp32 (LSTM hidden {row['hidden']}, sparsity 0.9) | "
                     f"{row['ratio']:.3f}× | {verdict(row['ratio'] <= GOAL_FILE)} |")
    lines.append(f"| peak RSS per worker (`infer.load` + `predict`) ≤ {GOAL_RSS} MiB | {worst_rss:.0f} MiB "
                 f"(largest worker below) | {verdict(worst_rss <= GOAL_RSS)} |")
    lines.append(f"| sparse = masked dense to 1e-5 | largest difference {worst_difference:.1e} | "
                 f"{verdict(worst_difference <= 1e-5)} |")
    lines += layer_tables(layers, machine) + kernel_table(kernels) + e2e_table(e2e) + file_table(files)
    lines += ["", "## Peak memory", "", f"Fresh processes classifying {MEMORY_STRINGS} random strings with a model "
              "file (or a checkpoint), one torch thread; peak resident set size (VmHWM).", "",
              "| process | peak RSS (MiB) |", "|---|---:|"]
    lines += [f"| {r['what']} | {r['mib']:.0f} |" for r in memory]
    return "\n".join(lines) + "\n"


def layer_tables(layers, machine) -> list[str]:
    lines = ["", "## Recurrent layers", "",
             f"One layer, input size = hidden, {STEPS} steps, ms per call. *sparse*: the sparse way (CSR kernels, "
             "the loop over time in Python); speed-up = dense / sparse. *auto*: the way `kernel=\"auto\"` takes "
             f"(sparse unless `W_hh` keeps more than {DENSE_ABOVE} of its weights or has at most {SMALL} entries; "
             "then torch's fused dense op), and its speed-up. Weight traffic: see the docstring; \"% copy\" = "
             "the sparse way's rate as a share of the copy bandwidth above.", ""]
    for cell in CELLS:
        for batch in BATCHES:
            rows = [r for r in layers if r["cell"] == cell and r["batch"] == batch]
            if not rows:
                continue
            lines += [f"### {cell.upper()}, batch {batch}", "",
                      "| hidden | sparsity | dense | sparse | speed-up | auto | auto speed-up | dense traffic (GB/s) "
                      "| sparse traffic (GB/s) | % copy |",
                      "|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|"]
            for r in rows:
                lines.append(f"| {r['hidden']} | {r['sparsity']} | {r['dense_ms']:.2f} | {r['sparse_ms']:.2f} | "
                             f"{r['speedup']:.2f}× | {r['auto']} | {r['auto_speedup']:.2f}× | {r['dense_gbs']:.1f} | "
                             f"{r['sparse_gbs']:.1f} | {100 * r['sparse_gbs'] / machine['copy']:.0f} % |")
            lines.append("")
    return lines


def kernel_table(kernels) -> list[str]:
    lines = ["## Kernels", "", "One product of a (4H, H) matrix with (b, H) states, µs; CSR / dense < 1: CSR "
             "is faster.", "", "| hidden | density | b | dense (µs) | CSR (µs) | CSR / dense |",
             "|---:|---:|---:|---:|---:|---:|"]
    for r in kernels:
        lines.append(f"| {r['hidden']} | {r['density']} | {r['batch']} | {r['dense_us']:.0f} | {r['csr_us']:.0f} | "
                     f"{r['csr_us'] / r['dense_us']:.2f} |")
    return lines


def e2e_table(e2e) -> list[str]:
    lines = ["", "## End to end", "",
             f"`SequenceClassifier(cell, vocab {len(VOCAB)}, embedding {EMBED}, hidden [H])` pruned to 90 %; "
             f"random strings of lengths {MIN_LEN}..{MAX_LEN}; per batch, ms.", "",
             "| cell | hidden | batch | symbols | checkpoint (ms) | model file (ms) | speed-up | largest difference |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in e2e:
        lines.append(f"| {r['cell']} | {r['hidden']} | {r['batch']} | {r['symbols']:.0f} | {r['checkpoint_ms']:.2f} | "
                     f"{r['model file_ms']:.2f} | {r['checkpoint_ms'] / r['model file_ms']:.2f}× | "
                     f"{r['difference']:.1e} |")
    return lines


def file_table(files) -> list[str]:
    lines = ["", "## Model files", "",
             f"`SequenceClassifier(\"lstm\", vocab {len(VOCAB)}, embedding {EMBED}, hidden [H])` pruned to each "
             "sparsity (`ih`, `hh`, `ho`), written by `sparsernn export`; dense fp32 = its parameters as float32.", "",
             "| hidden | sparsity | file (MB) | dense fp32 (MB) | file / dense | `W_hh` stored as |",
             "|---:|---:|---:|---:|---:|---|"]
    for r in files:
        lines.append(f"| {r['hidden']} | {r['sparsity']} | {r['file'] / 1e6:.3f} | {r['dense'] / 1e6:.3f} | "
                     f"{r['ratio']:.3f} | {r['storage']} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="hidden 256 and 512 only, 2 repetitions (smoke run)")
    parser.add_argument("--repetitions", type=int, default=None, help="default 5, quick 2")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args()
    args.repetitions = args.repetitions or (2 if args.quick else 5)
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", message=".*[Ss]parse.*")
    hiddens = HIDDEN[:2] if args.quick else HIDDEN
    began = time.perf_counter()
    machine = bandwidth()
    print(f"bandwidth: {machine}", flush=True)
    layers = []
    for hidden in hiddens:
        for cell in CELLS:
            layers += layer_groups(cell, hidden, args.repetitions, args.seed)
            print(f"{time.perf_counter() - began:.0f}s layers {cell} {hidden}: "
                  + ", ".join(f"{r['sparsity']}/{r['batch']}: {r['speedup']:.2f}x" for r in layers[-10:]), flush=True)
    kernels = kernel_rows(hiddens, args.repetitions, args.seed)
    with tempfile.TemporaryDirectory() as directory:
        directory = Path(directory)
        e2e = [row for cell in CELLS for hidden in (hiddens[0], hiddens[-1] if args.quick else 1024)
               for row in end_to_end(cell, hidden, directory, max(args.repetitions, 10), args.seed)]
        print("end to end done", flush=True)
        files = file_rows(hiddens, directory, args.seed)
        memory = memory_rows(hiddens[-2:], directory, args.seed)
    text = report(args, machine, layers, kernels, e2e, files, memory, time.perf_counter() - began)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    print(text)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss >> 10
    print(f"written to {args.output}; this process peaked at {peak} MiB")


if __name__ == "__main__":
    main()
