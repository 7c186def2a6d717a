"""Structure studies: train a GraphRNN for every (cell, generator, graph seed, seed).

A trial names its graph by generator and graph seed, so every cell trains on the same
graphs. The graph's properties are measured on the DAG the trained model actually
uses, read back from its masks (:func:`sparsernn.nn.to_graph`), and stored with the
graph itself (edge-list JSON) as artefacts of the trial.
"""

from __future__ import annotations

import time
from pathlib import Path

import networkx as nx
import numpy as np
import torch

from ..data import Vocabulary
from ..graphs import (
    barabasi_albert, erdos_renyi, graph_properties, graph_to_json, to_dag, watts_strogatz,
)
from ..nn import GraphRNN, to_graph
from ..seeding import derive_seed
from ..train import BatchCallback, EpochCallback, TrainingConfig, encode_splits, fit
from .config import StudyConfig
from .dense import TrialResult, load_trial_data
from .trial import Trial


def expand_structure(config: StudyConfig) -> list[Trial]:
    """One trial per (cell, generator, graph seed, training seed)."""
    spec = config.structure
    graph_settings = spec.model_dump(mode="json", exclude={"generators", "graphs"})
    shared = {
        "data": config.data.model_dump(mode="json"),
        "model": {"embedding_dim": config.model.embedding_dim},
        "training": config.training.model_dump(mode="json"),
    }
    return [
        Trial(study=config.name, kind="structure", config={
            "cell": cell, "seed": seed, "graph": {"generator": generator, "graph_seed": g, **graph_settings},
            **shared,
        })
        for cell in config.cells
        for generator in spec.generators
        for g in range(spec.graphs)
        for seed in config.seeds
    ]


def trial_graph(spec: dict) -> nx.DiGraph:
    """The DAG a structure trial builds from its graph settings (deterministic)."""
    seed = derive_seed(spec["graph_seed"], "graph", spec["generator"])
    rng = np.random.default_rng(seed)
    low, high = spec["sizes"]
    if spec["generator"] == "erdos_renyi":
        graph = erdos_renyi(int(rng.integers(low, high + 1)), spec["erdos_renyi_p"], seed=rng)
    else:  # the thesis's rules (thesis_graph) for any range of sizes
        n = int(rng.integers(low, high + 1))
        graph = (barabasi_albert(n, max(n // 10, 1), seed=rng) if spec["generator"] == "barabasi_albert"
                 else watts_strogatz(n, n // 5, 1.0, seed=rng))
    return to_dag(graph, spec["orientation"], seed=derive_seed(seed, "orientation"))


def run_structure_trial(
    trial: Trial,
    out: str | Path,
    *,
    on_epoch: EpochCallback | None = None,
    on_batch: BatchCallback | None = None,
) -> TrialResult:
    """Build the trial's graph and GraphRNN, train it; return metrics, graph and properties."""
    start = time.perf_counter()
    spec = trial.config["graph"]
    dag = trial_graph(spec)
    splits = load_trial_data(trial)
    vocab = Vocabulary.from_strings(splits.train.strings)
    train, test, validation = encode_splits(vocab, splits)
    torch.manual_seed(derive_seed(trial.seed, "init"))
    model = GraphRNN(dag, trial.config["cell"], len(vocab), embedding_dim=trial.config["model"]["embedding_dim"],
                     recurrence=spec["recurrence"], readout=spec["readout"])
    result = fit(model, train, test, TrainingConfig(**trial.config["training"]),
                 seed=derive_seed(trial.seed, "order"), validation=validation, on_epoch=on_epoch, on_batch=on_batch)
    used = to_graph(model)  # the connectivity the network computed with
    artefacts = [
        {"kind": "graph", "name": "dag", "data": graph_to_json(used)},
        {"kind": "properties", "name": "dag", "data": graph_properties(used)},
        {"kind": "dataset", "name": splits.name, "data": splits.summary()},
    ]
    return TrialResult(result.status, result.epochs, artefacts, seconds=time.perf_counter() - start)
