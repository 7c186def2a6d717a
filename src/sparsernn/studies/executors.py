"""Executors: where the trials of a study run while the driver stores their results.

An executor runs trials and hands back each :class:`~sparsernn.studies.trial.TrialResult`;
it never writes the results database (the driver, :func:`~sparsernn.studies.run_study`,
is its only writer). Two are built in:

``local``
    Worker processes on this machine (``spawn``ed, each with ``cpu_count // workers``
    torch threads so the cores are not oversubscribed), sharing the output directory;
    with one worker, this process itself (:class:`InlineExecutor`).
``ray``
    Ray tasks on an existing cluster (``address="HOST:PORT"``) or on one started for the
    run (``address="local"``). A task gets the files it reads from the output directory
    (a pruning child: its base's checkpoint) with its arguments and returns the files it
    wrote, which the driver stores, so the nodes need no shared file system. Only a CSV
    dataset is read where the config names it: it must be readable at that path on
    every node. A task whose worker dies is retried ``retries`` times by Ray.

Executors run *units*: a single trial, or a pack of trials that train as one network
(:func:`sparsernn.studies.units.units`). Every executor follows the :class:`Executor`
protocol, which :func:`sparsernn.studies.runner.schedule` drives.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import queue
import signal
import socket
import sys
import tempfile
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

import torch

from ..environment import environment
from ..errors import InputError
from .trial import Trial, TrialResult
from .units import Reporter, run_unit, unit_inputs

EXECUTORS = ("local", "ray")


class Executor(Protocol):
    """Where units of trials run. ``slots``: units in flight at most."""

    slots: int

    def submit(self, unit: list[Trial]) -> Any:
        """Start running ``unit``; return a handle."""

    def wait(self, handles: list) -> list:
        """The handles among ``handles`` that finished (possibly none, after a short timeout)."""

    def events(self) -> list[tuple[str, str, tuple]]:
        """Progress since the last call: ``(kind, trial id, args)``, kind ``"batch"`` or ``"epoch"``."""

    def result(self, handle) -> list[TrialResult]:
        """The results of a finished unit, one per trial (raises if its worker was lost)."""

    def close(self, cancel: bool) -> None:
        """Release the workers; with ``cancel``, stop what is still running."""


def default_workers(trials: int) -> int:
    """Worker processes for ``trials`` runnable trials: one per core, no more than trials."""
    return max(1, min(os.cpu_count() or 1, trials))


_events = None  # in a local worker process: the queue its progress goes to


def _die_with(parent: int) -> None:
    """End this worker process when ``parent`` (its driver) ends, however it ends: Linux
    sends SIGKILL on the parent's death (``PR_SET_PDEATHSIG``); elsewhere nothing is set."""
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1: PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            return
        if os.getppid() != parent:  # the driver died before the call
            os._exit(1)


def _init_worker(threads: int, events, parent: int) -> None:
    global _events
    _die_with(parent)
    torch.set_num_threads(threads)
    _events = events


class _Forward:
    """A worker's reporter: puts progress on the driver's queue, batches at most every 0.5 s."""

    def __init__(self, events):
        self.events, self.last = events, 0.0

    def batch_finished(self, trial: Trial, epoch: int, done: int, total: int) -> None:
        now = time.monotonic()
        if done == total or now - self.last > 0.5:
            self.last = now
            self.events.put(("batch", trial.id, (epoch, done, total)))

    def epoch_finished(self, trial: Trial, row: dict) -> None:
        self.events.put(("epoch", trial.id, (row,)))


def _run(unit: list[Trial], out: Path) -> list[TrialResult]:
    """Run a unit of trials in a worker, recording the worker's environment with the results."""
    reporter = Reporter()
    if _events is not None:
        forward = _Forward(_events)
        reporter.batch_finished, reporter.epoch_finished = forward.batch_finished, forward.epoch_finished
    results = run_unit(unit, out, reporter)
    here = environment()
    for result in results:
        result.environment = here
    return results


class _Ran:
    """A unit's results, as the handle of a unit that has already run."""

    def __init__(self, results: list[TrialResult]):
        self.results = results


class InlineExecutor:
    """Trials one at a time in this process, reporting their batches and epochs as they go."""

    slots = 1

    def __init__(self, out: str | Path, reporter=None):
        self.out, self.reporter = Path(out), reporter

    def submit(self, unit: list[Trial]) -> _Ran:
        return _Ran(run_unit(unit, self.out, self.reporter))

    def wait(self, handles: list) -> list:
        return handles  # each ran when it was submitted

    def events(self) -> list:
        return []  # reported directly

    def result(self, handle: _Ran) -> list[TrialResult]:
        return handle.results

    def close(self, cancel: bool) -> None:
        pass


class LocalExecutor:
    """Trials in ``workers`` processes on this machine, sharing the output directory.

    The workers send their progress (batches, epochs) back; :meth:`events` collects it.
    """

    def __init__(self, out: str | Path, workers: int):
        threads = max(1, (os.cpu_count() or 1) // workers)
        context = multiprocessing.get_context("spawn")  # torch's thread pools do not survive fork
        self.out, self.slots = Path(out), workers
        self.queue = context.Queue()
        self.pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker,
                                        initargs=(threads, self.queue, os.getpid()))

    def submit(self, unit: list[Trial]):
        return self.pool.submit(_run, unit, self.out)

    def wait(self, handles: list) -> list:
        return list(wait(handles, timeout=0.5, return_when=FIRST_COMPLETED)[0])

    def events(self) -> list[tuple[str, str, tuple]]:
        """Progress sent by the workers since the last call: ``(kind, trial id, args)``."""
        found = []
        while True:
            try:
                found.append(self.queue.get_nowait())
            except queue.Empty:
                return found

    def result(self, handle) -> list[TrialResult]:
        return handle.result()

    def close(self, cancel: bool) -> None:
        """Shut the pool down; with ``cancel`` (Ctrl-C, SIGTERM, an error) the workers are
        ended at once: a trial in a worker has stored nothing, so nothing is lost."""
        processes = list((getattr(self.pool, "_processes", None) or {}).values())
        self.pool.shutdown(wait=not cancel, cancel_futures=cancel)
        if cancel:
            for process in processes:
                process.terminate()
            for process in processes:
                process.join(timeout=10)


def run_unit_portable(unit: list[Trial], inputs: dict[str, bytes],
                      threads: int = 1) -> tuple[list[TrialResult], dict[str, bytes]]:
    """Run a unit of trials in a scratch output directory holding ``inputs``; return the
    results and the files written there (by relative path). Needs nothing from the
    caller's disk."""
    torch.set_num_threads(threads)
    with tempfile.TemporaryDirectory(prefix="sparsernn-trial-") as scratch:
        root = Path(scratch)
        for name, data in inputs.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_bytes(data)
        results = _run(unit, root)
        written = {p.relative_to(root).as_posix(): p.read_bytes()
                   for p in sorted(root.rglob("*")) if p.is_file() and p.relative_to(root).as_posix() not in inputs}
    return results, written


def store_outputs(out: Path, files: dict[str, bytes]) -> None:
    """Write a task's files under ``out``, each atomically; refuse paths that leave ``out``."""
    for name, data in files.items():
        relative = PurePosixPath(name)
        if relative.is_absolute() or ".." in relative.parts:
            raise ValueError(f"a trial returned a file outside the output directory: {name!r}")
        path = out.joinpath(*relative.parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        partial.write_bytes(data)
        os.replace(partial, path)


def ray_environment() -> None:
    """Keep a Ray runtime started from here on the loopback interface, without telemetry."""
    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")


def _reachable(address: str) -> str:
    """The host of ``address`` ("HOST:PORT") if something listens there, else InputError."""
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise InputError(f"A Ray address is HOST:PORT or 'local'; got {address!r}.")
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except OSError as error:
        raise InputError(f"cannot reach the Ray cluster at {address!r}: {error.strerror or error}.") from None
    return host


class RayExecutor:
    """Trials as Ray tasks (one CPU and one torch thread each) on a Ray cluster.

    ``address`` is ``"HOST:PORT"`` of a running cluster's head (``ray start --head``) or
    ``"local"`` to start a cluster for this run and stop it afterwards. ``workers`` caps
    the trials in flight (default: the cluster's CPUs).
    """

    function = staticmethod(run_unit_portable)  # what a task runs

    def __init__(self, out: str | Path, address: str, *, workers: int | None = None, retries: int = 2):
        host = None if address == "local" else _reachable(address)
        ray_environment()
        try:
            import ray
        except ImportError:
            raise InputError("The ray executor needs Ray: pip install 'sparsernn[ray]'.") from None
        if not isinstance(retries, int) or retries < 0:
            raise InputError(f"retries must be a non-negative int; got {retries!r}.")
        self.ray, self.out = ray, Path(out)
        self.started = not ray.is_initialized()
        if self.started:
            if address == "local":
                ray.init(address="local", num_cpus=workers, include_dashboard=False, _node_ip_address="127.0.0.1",
                         log_to_driver=False, logging_level=logging.WARNING)
            else:
                ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING,
                         **({"_node_ip_address": host} if host in ("127.0.0.1", "localhost") else {}))
        cpus = int(ray.cluster_resources().get("CPU", 1))
        self.slots = workers or max(1, cpus)
        self.task = ray.remote(num_cpus=1, max_retries=retries)(self.function)
        self.in_flight: set = set()

    def submit(self, unit: list[Trial]):
        handle = self.task.remote(unit, unit_inputs(unit, self.out), 1)
        self.in_flight.add(handle)
        return handle

    def wait(self, handles: list) -> list:
        ready, _ = self.ray.wait(handles, num_returns=1, timeout=0.5)
        return ready

    def events(self) -> list:
        return []  # a task's epochs arrive with its result

    def result(self, handle) -> list[TrialResult]:
        self.in_flight.discard(handle)
        results, files = self.ray.get(handle)
        store_outputs(self.out, files)
        return results

    def close(self, cancel: bool) -> None:
        if cancel:
            for handle in self.in_flight:
                self.ray.cancel(handle, force=True)
        if self.started:
            self.ray.shutdown()


def make_executor(name: str, out: str | Path, *, workers: int, address: str | None = None, retries: int = 2):
    """The executor called ``name`` (``"local"`` or ``"ray"``)."""
    if name == "local":
        return LocalExecutor(out, workers)
    if name == "ray":
        if not address:
            raise InputError("The ray executor needs an address: HOST:PORT of a cluster's head, or 'local'.")
        return RayExecutor(out, address, workers=workers, retries=retries)
    raise InputError(f"Unknown executor {name!r}; expected one of {', '.join(map(repr, EXECUTORS))}.")
