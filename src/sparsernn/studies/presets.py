"""Built-in studies, by name. ``quick`` is what ``sparsernn run`` runs without a config.

A preset is one study or a list of studies that run one after the other into the same
results database.
"""

from __future__ import annotations

from ..errors import InputError
from .config import StudyConfig, study_from_dict

THESIS_MODEL = {"embedding_dim": 50, "hidden_sizes": [50, 50, 50]}
THESIS_TRAINING = {"batch_size": 32, "optimizer": "adam", "lr": 1e-3, "clip": 5.0}
# The thesis's data: 25,000 Reber strings, half valid; its 12,500 invalid ones are
# random walks of their own, 5,500 spelled with Reber letters and 7,000 with foreign ones
# (negatives "thesis", measured on its reber_sequences.csv).
THESIS_DATA = {"dataset": "reber", "num_strings": 25_000, "min_length": 11, "negatives": "thesis"}
THESIS_PRUNING = {"criteria": ["magnitude"], "targets": ["both", "ih", "hh"], "scopes": ["global"],
                  "sparsities": [round(0.1 * i, 1) for i in range(1, 11)], "schedules": ["one_shot"],
                  "retrain_epochs": 10}
# Budgets of the comparisons, in recurrent weights: of the 3x50 networks' 60,000 (LSTM)
# and 45,000 (GRU), 1.7-2.2 %, 5-6.7 % and 17-22 %.
COMPARE_BUDGETS = [1_000, 3_000, 10_000]
COMPARE_SECTION = {"budgets": COMPARE_BUDGETS, "generators": ["barabasi_albert", "watts_strogatz", "erdos_renyi"],
                   "retrain_epochs": 10}
THESIS_GRAPHS = {"generators": ["barabasi_albert", "watts_strogatz"], "sizes": [10, 50], "orientation": "index",
                 "recurrence": "layer", "readout": "sinks"}
PRUNE_STRUCTURE_SECTION = {"targets": ["ih", "hh", "both"], "sparsities": [round(0.1 * i, 1) for i in range(1, 10)],
                           "schedules": ["one_shot", "gradual"], "granularity": "connection", "scope": "global",
                           "retrain_epochs": 10, "gradual": {"start_epoch": 0, "prune_epochs": 5}}
TIMESERIES_EPOCHS = 50  # JapaneseVowels: test accuracy flat from about epoch 20 (LSTM and GRU, seed 0)
LM_EPOCHS, LM_RETRAIN_EPOCHS = 20, 3

PRESETS: dict[str, dict | list[dict]] = {
    # About two minutes on a 2-core CPU, report included. Every study reads the thesis's
    # kind of Reber data, small (56 % of the invalid strings are spelled with foreign
    # letters, which even a small network learns to spot in a few epochs): first the four
    # cells trained dense, then each pruned one-shot to 50 % and 90 % (input and recurrent
    # weights, global ranking) and retrained for one epoch; then 3 Barabasi-Albert and 3
    # Watts-Strogatz graphs of 10-20 vertices as GraphRNNs of each cell (one pack per
    # generator and cell); then every family of a budget-matched comparison at 500 and
    # 1,200 recurrent weights (LSTM), and two GraphRNNs per generator pruned edge by edge.
    "quick": [
        {
            "name": "quick-pruning",
            "kind": "pruning",
            "cells": ["rnn_tanh", "rnn_relu", "lstm", "gru"],
            "seeds": [0],
            "data": {**THESIS_DATA, "num_strings": 2_000},
            "model": THESIS_MODEL,
            "training": {**THESIS_TRAINING, "epochs": 3, "lr": 0.01},
            "pruning": {"criteria": ["magnitude"], "targets": ["both"], "scopes": ["global"], "sparsities": [0.5, 0.9],
                        "schedules": ["one_shot"], "retrain_epochs": 1},
        },
        {
            "name": "quick-structure",
            "kind": "structure",
            "cells": ["rnn_tanh", "rnn_relu", "lstm", "gru"],
            "seeds": [0],
            "data": {**THESIS_DATA, "num_strings": 1_000},
            "model": {"embedding_dim": 10},
            "training": {**THESIS_TRAINING, "epochs": 3, "lr": 0.01},  # a higher rate: 3 short epochs tell graphs apart
            "structure": {"generators": ["barabasi_albert", "watts_strogatz"], "graphs": 3, "sizes": [10, 20],
                          "orientation": "index", "recurrence": "layer", "readout": "sinks", "pack": 3},
        },
        {
            "name": "quick-compare",
            "kind": "compare",
            "cells": ["lstm"],
            "seeds": [0],
            "data": {**THESIS_DATA, "num_strings": 1_000},
            "model": {"embedding_dim": 10, "hidden_sizes": [20, 20]},
            "training": {**THESIS_TRAINING, "epochs": 3, "lr": 0.01},
            "compare": {"budgets": [500, 1_200], "generators": ["barabasi_albert", "watts_strogatz"],
                        "retrain_epochs": 1, "gradual": {"prune_epochs": 2}, "dynamic": {"frequency": 10}},
        },
        {
            "name": "quick-prune_structure",
            "kind": "prune_structure",
            "cells": ["lstm"],
            "seeds": [0],
            "data": {**THESIS_DATA, "num_strings": 1_000},
            "model": {"embedding_dim": 10, "hidden_sizes": [20, 20]},
            "training": {**THESIS_TRAINING, "epochs": 3, "lr": 0.01},
            "prune_structure": {"structure": {**THESIS_GRAPHS, "graphs": 2, "sizes": [10, 20], "pack": 2},
                                "targets": ["ih", "both"], "sparsities": [0.5, 0.9], "schedules": ["one_shot"],
                                "retrain_epochs": 1},
        },
    ],
    # The reference thesis's pruning protocol at full size: 25,000 Reber strings (its
    # kind of negatives), 3x50 layers, batches of 32, 50 base epochs, one-shot global
    # magnitude pruning of 10 ... 100 % of the input, recurrent or both weight sets, 10
    # retraining epochs.
    "thesis-pruning": {
        "name": "thesis-pruning",
        "kind": "pruning",
        "cells": ["rnn_tanh", "rnn_relu", "lstm", "gru"],
        "seeds": [0, 1, 2],
        "data": THESIS_DATA,
        "model": THESIS_MODEL,
        "training": {**THESIS_TRAINING, "epochs": 50},
        "pruning": THESIS_PRUNING,
    },
    # The reference thesis's structure study: 100 Barabasi-Albert (m = n//10, grown from
    # m unconnected vertices as networkx 2.4 did) and 100 Watts-Strogatz (k = n//5, p = 1)
    # graphs of 10-50 vertices, oriented lower -> higher id, trained for 15 epochs in
    # batches of 128 -- here the same graphs for every cell, all 100 of a generator at
    # once as one GraphRNNStack (each as it would train alone, about 11x faster).
    "thesis-structure": {
        "name": "thesis-structure",
        "kind": "structure",
        "cells": ["rnn_tanh", "rnn_relu", "lstm", "gru"],
        "seeds": [0],
        "data": THESIS_DATA,
        "model": {"embedding_dim": 50},
        "training": {**THESIS_TRAINING, "epochs": 15, "batch_size": 128},
        "structure": {"generators": ["barabasi_albert", "watts_strogatz"], "graphs": 100, "sizes": [10, 50],
                      "orientation": "index", "recurrence": "layer", "readout": "sinks", "pack": 100},
    },
    # The thesis's pruning protocol (3x50 layers, one-shot global magnitude pruning of
    # 10 ... 100 % of ih, hh or both, 10 retraining epochs) on a real multivariate time
    # series problem: JapaneseVowels (UEA archive, bundled in aeon: 270 training and 370
    # test utterances of 12 LPC channels, 9 speakers); --set data.dataset=ucr:NAME or
    # digits runs it on another. The dense bases train to a plateau (see docs/tasks.md).
    "timeseries-pruning": {
        "name": "timeseries-pruning",
        "kind": "pruning",
        "cells": ["lstm", "gru"],
        "seeds": [0, 1, 2],
        "data": {"dataset": "ucr:JapaneseVowels"},
        "model": THESIS_MODEL,
        "training": {**THESIS_TRAINING, "epochs": TIMESERIES_EPOCHS},
        "pruning": THESIS_PRUNING,
    },
    # Research question 3 at the thesis's scale: small dense, pruned (one-shot after the
    # thesis's training, and gradual), graph-structured (BA, WS, ER), random-mask controls
    # and dynamic sparse training (SET, RigL), each with 1,000, 3,000 and 10,000 recurrent
    # weights, trained as the thesis trained its graphs (15 epochs, batches of 128).
    "thesis-compare": {
        "name": "thesis-compare",
        "kind": "compare",
        "cells": ["lstm", "gru"],
        "seeds": [0, 1, 2],
        "data": THESIS_DATA,
        "model": THESIS_MODEL,
        "training": {**THESIS_TRAINING, "epochs": 15, "batch_size": 128},
        "compare": COMPARE_SECTION,
    },
    # Research question 5 at the thesis's scale: 10 BA and 10 WS graphs of the thesis's
    # kind per cell and seed, trained as it trained them, then pruned (input, recurrent or
    # both weight sets; 10 ... 90 % of what the graph left, edge by edge; one-shot and
    # gradual) and retrained for 10 epochs, next to the dense network pruned to the same
    # count.
    "thesis-prune-structure": {
        "name": "thesis-prune-structure",
        "kind": "prune_structure",
        "cells": ["lstm", "gru"],
        "seeds": [0, 1, 2],
        "data": THESIS_DATA,
        "model": THESIS_MODEL,
        "training": {**THESIS_TRAINING, "epochs": 15, "batch_size": 128},
        "prune_structure": {**PRUNE_STRUCTURE_SECTION, "structure": {**THESIS_GRAPHS, "graphs": 10, "pack": 10}},
    },
    # Both questions on JapaneseVowels (see timeseries-pruning), trained for 50 epochs; an
    # epoch is 9 steps, so gradual pruning steps every 5 (10 steps over its 5 epochs).
    "timeseries-compare": {
        "name": "timeseries-compare",
        "kind": "compare",
        "cells": ["lstm", "gru"],
        "seeds": [0, 1, 2],
        "data": {"dataset": "ucr:JapaneseVowels"},
        "model": THESIS_MODEL,
        "training": {**THESIS_TRAINING, "epochs": TIMESERIES_EPOCHS},
        "compare": {**COMPARE_SECTION, "gradual": {"start_epoch": 0, "prune_epochs": 5, "frequency": 5}},
    },
    "timeseries-prune-structure": {
        "name": "timeseries-prune-structure",
        "kind": "prune_structure",
        "cells": ["lstm", "gru"],
        "seeds": [0, 1, 2],
        "data": {"dataset": "ucr:JapaneseVowels"},
        "model": THESIS_MODEL,
        "training": {**THESIS_TRAINING, "epochs": TIMESERIES_EPOCHS},
        "prune_structure": {**PRUNE_STRUCTURE_SECTION, "structure": {**THESIS_GRAPHS, "graphs": 10, "pack": 10},
                            "gradual": {"start_epoch": 0, "prune_epochs": 5, "frequency": 5}},
    },
    # The same protocol on character-level language modelling of pydoc_data.topics
    # (bits per character: test loss / ln 2), fewer epochs: an epoch is 4,194 chunks of
    # 100 characters.
    "lm-pruning": {
        "name": "lm-pruning",
        "kind": "pruning",
        "cells": ["lstm", "gru"],
        "seeds": [0, 1, 2],
        "data": {"dataset": "pydoc-topics"},
        "model": THESIS_MODEL,
        "training": {**THESIS_TRAINING, "epochs": LM_EPOCHS},
        "pruning": {**THESIS_PRUNING, "retrain_epochs": LM_RETRAIN_EPOCHS},
    },
}


def preset_studies(name: str) -> list[StudyConfig]:
    """The studies of the built-in preset called ``name``, in the order they run."""
    if name not in PRESETS:
        raise InputError(f"Unknown preset {name!r}; expected one of {', '.join(map(repr, PRESETS))}.")
    studies = PRESETS[name] if isinstance(PRESETS[name], list) else [PRESETS[name]]
    return [study_from_dict(study, source=f"preset {name!r}") for study in studies]


def preset(name: str) -> StudyConfig:
    """The built-in study called ``name`` (a preset of one study)."""
    studies = preset_studies(name)
    if len(studies) > 1:
        raise InputError(f"Preset {name!r} holds {len(studies)} studies; use preset_studies.")
    return studies[0]
