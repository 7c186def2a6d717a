"""Seeds: every random choice in sparsernn takes one, and none is ambient.

A trial has one seed; each independent source of randomness (data generation, data
order, weight initialisation, graph generation, pruning) draws its own seed from it with
:func:`derive_seed`, so changing how one of them is used never reshuffles the others.
:func:`rng` turns a seed (an int or a :class:`numpy.random.Generator`) into the
Generator that a function draws from, and :func:`check_seed` checks one.
"""

from __future__ import annotations

import hashlib

import numpy as np

from .checks import is_int
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


SEED_TYPES = "an int or a numpy.random.Generator"


def check_seed(seed: object, func: str, *, expected: str = SEED_TYPES) -> int | np.random.Generator:
    """Return ``seed`` (an int as ``int``) if it is an int or a numpy Generator, else raise.

    Parameters
    ----------
    seed : object
        What the caller passed as ``seed``.
    func : str
        The function it was passed to, for the message.
    expected : str, optional
        What the message says was expected, for a caller that also accepts other seeds
        (a ``torch.Generator``, say) and has handled those already.

    Raises
    ------
    InputError
        "The 'seed' parameter of f must be an int or a numpy.random.Generator; got ...".
        Bools are refused.
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if is_int(seed):
        return int(seed)
    raise InputError(f"The 'seed' parameter of {func} must be {expected}; got {seed!r}.")


def rng(seed: int | np.random.Generator, func: str, *, derive: tuple = (),
        expected: str = SEED_TYPES) -> np.random.Generator:
    """Turn ``seed`` into a :class:`numpy.random.Generator`: the one way sparsernn does it.

    Parameters
    ----------
    seed : int or numpy.random.Generator
        A Generator is returned as is (and advanced by the caller's draws); an int gives
        ``numpy.random.default_rng(seed)``.
    func : str
        The public function ``seed`` was passed to, for the error message.
    derive : tuple, optional
        If given, an int ``seed`` is first replaced by ``derive_seed(seed, *derive)``, so
        that uses with different keys do not share a stream (a Generator is used as is).
    expected : str, optional
        As in :func:`check_seed`.

    Raises
    ------
    InputError
        If ``seed`` is neither an int nor a Generator (see :func:`check_seed`).

    Examples
    --------
    >>> float(rng(0, "f").random()) == float(np.random.default_rng(0).random())
    True
    >>> g = np.random.default_rng(0)
    >>> rng(g, "f") is g
    True
    >>> int(rng(0, "f", derive=("a",)).integers(10**6)) == int(rng(derive_seed(0, "a"), "f").integers(10**6))
    True
    >>> rng("0", "shuffle")
    Traceback (most recent call last):
    ...
    sparsernn.errors.InputError: The 'seed' parameter of shuffle must be an int or a numpy.random.Generator; got '0'.
    """
    seed = check_seed(seed, func, expected=expected)
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(derive_seed(seed, *derive) if derive else seed)


def check_random_state(seed: int | np.random.Generator) -> np.random.Generator:
    """``rng(seed, "check_random_state")``; kept for old callers, use :func:`rng`."""
    return rng(seed, "check_random_state")
