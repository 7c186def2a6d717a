"""Devices: which torch device a model trains on, from the name a user gives.

A device name is one of:

``"auto"``
    A GPU (as ``"cuda"``) if torch sees CUDA here, else the CPU.
``"cpu"``
    The CPU.
``"cuda"``
    A GPU. With ``k`` GPUs, the worker with index ``i`` takes ``cuda:{i mod k}``, so the
    workers of a study spread over the GPUs, one device per worker.
``"cuda:N"``
    GPU ``N`` (0-based), whichever worker asks.

``None`` (the default of ``training.device``) leaves a model where it is: on the CPU,
where sparsernn builds every model. :func:`check_device_name` checks a name's spelling
(a config is checked when it is read); :func:`resolve_device` turns a name into a
:class:`torch.device` on the machine that trains, and refuses a device it does not have.

Examples
--------
>>> resolve_device("cpu"), resolve_device(None)
(device(type='cpu'), None)
>>> check_device_name("cuda:1")
'cuda:1'
>>> check_device_name("tpu")
Traceback (most recent call last):
...
sparsernn.errors.InputError: a device must be 'auto', 'cpu', 'cuda' or 'cuda:N' (N a GPU index); got 'tpu'.
"""

from __future__ import annotations

import re

import torch

from .checks import is_int
from .errors import InputError

__all__ = ["DEVICE_NAMES", "check_device_name", "on_cpu", "resolve_device"]

DEVICE_NAMES = "'auto', 'cpu', 'cuda' or 'cuda:N' (N a GPU index)"
_NAME = re.compile(r"(auto|cpu|cuda(:[0-9]+)?)")


def check_device_name(name: object) -> str | None:
    """Return ``name`` if it is None or spells a device (see the module docstring), else
    raise :class:`~sparsernn.errors.InputError`. Whether this machine has it is not checked."""
    if name is None or (isinstance(name, str) and _NAME.fullmatch(name)):
        return name
    raise InputError(f"a device must be {DEVICE_NAMES}; got {name!r}.")


def _gpus() -> str:
    """What CUDA devices this machine has, for messages."""
    if not torch.cuda.is_available():
        build = "" if torch.version.cuda else f" (torch {torch.__version__} is built without CUDA)"
        return f"this machine has no CUDA device{build}; use 'cpu' or 'auto'"
    count = torch.cuda.device_count()
    return f"this machine has {count} CUDA device{'s' if count != 1 else ''} (cuda:0 to cuda:{count - 1})"


def on_cpu(name: str | None) -> bool:
    """Whether a model trained with the device name ``name`` computes on the CPU: None
    (models are built there and stay), ``"cpu"``, or ``"auto"`` where torch has no CUDA.

    Examples
    --------
    >>> on_cpu(None), on_cpu("cpu"), on_cpu("cuda")
    (True, True, False)
    """
    return name in (None, "cpu") or (name == "auto" and not torch.cuda.is_available())


def resolve_device(name: str | None, *, worker: int = 0) -> torch.device | None:
    """The device that worker ``worker`` trains on for the device name ``name``.

    Parameters
    ----------
    name : str or None
        ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:N"``, or None (the model stays where
        it is; returns None).
    worker : int, default 0
        The index of the worker process asking (0 in the driver's own process).
        ``"cuda"`` (and ``"auto"`` where CUDA exists) with ``k`` GPUs gives
        ``cuda:{worker mod k}``.

    Raises
    ------
    InputError
        A misspelt name, a negative or non-int ``worker``, CUDA asked for where torch
        has none, or a GPU index beyond ``torch.cuda.device_count()``: one line saying
        what was asked for and what this machine has.
    """
    check_device_name(name)
    if not is_int(worker) or worker < 0:
        raise InputError(f"The 'worker' parameter of resolve_device must be an int >= 0; got {worker!r}.")
    if name is None:
        return None
    if on_cpu(name):
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise InputError(f"device {name!r} was asked for, but {_gpus()}.")
    count = torch.cuda.device_count()
    index = int(name.partition(":")[2] or worker % count)
    if index >= count:
        raise InputError(f"device {name!r} was asked for, but {_gpus()}.")
    return torch.device("cuda", index)
