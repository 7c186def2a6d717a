"""Seeds: every random choice in sparsernn takes one, and none is ambient.

A trial has one seed; each independent source of randomness (data generation, data
order, weight initialisation, graph generation, pruning) draws its own seed from it with
:func:`derive_seed`, so changing how one of them is used never reshuffles the others.
"""

from __future__ import annotations

import hashlib

import numpy as np

from .errors import InputError


def derive_seed(seed: int, *keys: object) -> int:
    """Return a 63-bit seed derived from ``seed`` and ``keys``, stable across runs.

    Examples
    --------
    >>> derive_seed(0, "data") == derive_seed(0, "data")
    True
    >>> derive_seed(0, "data") != derive_seed(0, "init")
    True
    """
    text = repr((int(seed),) + tuple(str(k) for k in keys)).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big") >> 1


def check_random_state(seed: int | np.random.Generator) -> np.random.Generator:
    """Turn ``seed`` (an int or a :class:`numpy.random.Generator`) into a Generator."""
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        return np.random.default_rng(int(seed))
    raise InputError(f"seed must be an int or a numpy.random.Generator; got {seed!r}.")

