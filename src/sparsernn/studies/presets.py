"""Built-in studies, by name. ``quick`` is what ``sparsernn run`` runs without a config."""

from __future__ import annotations

from ..errors import InputError
from .config import StudyConfig, study_from_dict

PRESETS: dict[str, dict] = {
    "quick": {
        "name": "quick",
        "kind": "dense",
        "cells": ["rnn_tanh", "rnn_relu", "lstm", "gru"],
        "seeds": [0],
        "data": {"dataset": "reber", "num_strings": 25_000, "min_length": 11},
        "model": {"embedding_dim": 50, "hidden_sizes": [50, 50, 50]},
        "training": {"epochs": 3, "batch_size": 32, "optimizer": "adam", "lr": 1e-3, "clip": 5.0},
    },
}


def preset(name: str) -> StudyConfig:
    """The built-in study called ``name``."""
    if name not in PRESETS:
        raise InputError(f"Unknown preset {name!r}; expected one of {', '.join(map(repr, PRESETS))}.")
    return study_from_dict(PRESETS[name], source=f"preset {name!r}")
