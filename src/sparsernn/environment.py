"""The environment a trial ran in, recorded with every run for reproducibility."""

from __future__ import annotations

import platform
import socket
import sys
from importlib import metadata

import torch

PACKAGES = ("sparsernn", "torch", "numpy", "networkx", "pandas", "scipy", "scikit-learn", "pydantic")


def environment() -> dict:
    """Library versions, torch's thread counts, host and platform."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "host": socket.gethostname(),
        "packages": versions,
        "torch_threads": torch.get_num_threads(),
        "torch_interop_threads": torch.get_num_interop_threads(),
        "cuda": torch.cuda.is_available(),
    }
