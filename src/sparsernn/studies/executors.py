"""Executors: where the trials of a study run while the driver stores their results.

An executor runs trials and hands back each :class:`~sparsernn.studies.trial.TrialResult`;
it never writes the results database (the driver, :func:`~sparsernn.studies.run_study`,
is its only writer). Two are built in:

``local``
    Worker processes on this machine (``spawn``ed, each with ``cpu_count // workers``
    torch threads so the cores are not oversubscribed), sharing the output directory;
    with one worker, this process itself (:class:`InlineExecutor`). A unit whose worker
    dies runs again in a fresh worker, ``retries`` times at most; the other workers go on.
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

Devices: a unit trains on its trials' ``training.device``
(:func:`~sparsernn.devices.resolve_device`), resolved where it runs: local worker ``i``
(0 in the driver's process) maps ``"cuda"`` to ``cuda:{i mod k}`` of this machine's
``k`` GPUs, one device per worker. A Ray task asks Ray for one GPU when its device is
``"cuda"`` or ``"cuda:N"`` and resolves it as worker 0 on the node that runs it (Ray
shows it its GPU as ``cuda:0``, so give ``"cuda"`` there). The device a unit trained on
is recorded as ``device`` in its results' environment; a device the worker lacks fails
the unit's trials with a one-line error.
"""

from __future__ import annotations

import ctypes
import dataclasses
import logging
import multiprocessing
import os
import signal
import socket
import sys
import tempfile
import time
from multiprocessing import connection
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

import torch

from ..devices import resolve_device
from ..environment import environment
from ..errors import InputError
from .trial import Trial, TrialResult
from .units import Reporter, failed, run_unit, unit_inputs

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


_events = None  # in a local worker process: how its progress reaches the driver


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


class _Forward:
    """A worker's reporter: sends progress to the driver, batches at most every 0.5 s."""

    def __init__(self, send):
        self.send, self.last = send, 0.0

    def batch_finished(self, trial: Trial, epoch: int, done: int, total: int) -> None:
        now = time.monotonic()
        if done == total or now - self.last > 0.5:
            self.last = now
            self.send(("batch", trial.id, (epoch, done, total)))

    def epoch_finished(self, trial: Trial, row: dict) -> None:
        self.send(("epoch", trial.id, (row,)))


def unit_device_name(unit: list[Trial]) -> str | None:
    """The ``training.device`` of a unit's trials (None for a kind without training settings)."""
    return getattr(getattr(unit[0].spec, "training", None), "device", None)


def on_device(unit: list[Trial], device: torch.device | None) -> list[Trial]:
    """``unit`` with each trial's ``training.device`` set to ``device`` (None: unchanged).
    The trials keep their ids: the device is not part of a trial's JSON."""
    if device is None:
        return unit
    moved = []
    for trial in unit:
        training = getattr(trial.spec, "training", None)
        if training is not None:
            spec = trial.spec.model_copy(update={"training": training.model_copy(update={"device": str(device)})})
            trial = dataclasses.replace(trial, spec=spec)
        moved.append(trial)
    return moved


def _run(unit: list[Trial], out: Path, worker: int = 0, reporter: Reporter | None = None) -> list[TrialResult]:
    """Run a unit of trials as worker ``worker``, on its device, recording the environment
    with the results, and in it that ``device`` ("cpu" where none is set: every kind builds
    its models there). Progress goes to ``reporter``, else to this worker's driver."""
    if reporter is None:
        reporter = Reporter()
        if _events is not None:
            forward = _Forward(_events)
            reporter.batch_finished, reporter.epoch_finished = forward.batch_finished, forward.epoch_finished
    try:
        device = resolve_device(unit_device_name(unit), worker=worker)
    except InputError as exc:  # e.g. a node without the GPU asked for: its trials fail, the study goes on
        results, where = [failed(exc) for _ in unit], None
    else:
        results = run_unit(on_device(unit, device), out, reporter)
        where = "cpu" if device is None else str(device)
    here = {**environment(), "device": where}
    for result in results:
        result.environment = here
    return results


def _serve(conn, threads: int, parent: int, worker: int = 0) -> None:
    """Local worker process number ``worker``: run the units the driver sends on ``conn``
    until it sends None or goes away; progress and results go back on ``conn``."""
    global _events
    _die_with(parent)
    torch.set_num_threads(threads)
    _events = lambda event: conn.send(("event", event))  # noqa: E731
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        try:
            results = ("results", _run(*job, worker=worker))
        except Exception as exc:  # run_unit stores a trial's errors; this is the worker's own
            results = ("error", f"{type(exc).__name__}: {exc}")
        conn.send(results)


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
        return _Ran(_run(unit, self.out, worker=0, reporter=self.reporter or Reporter()))

    def wait(self, handles: list) -> list:
        return handles  # each ran when it was submitted

    def events(self) -> list:
        return []  # reported directly

    def result(self, handle: _Ran) -> list[TrialResult]:
        return handle.results

    def close(self, cancel: bool) -> None:
        pass


class WorkerLost(RuntimeError):
    """The process running a unit died (killed, out of memory) and its retries ran out."""


class _Job:
    """A unit submitted to a :class:`LocalExecutor`: its handle."""

    def __init__(self, unit: list[Trial], retries: int):
        self.unit, self.retries = unit, retries
        self.results: list[TrialResult] | None = None
        self.error: str | None = None

    @property
    def finished(self) -> bool:
        return self.results is not None or self.error is not None


class _Worker:
    """Worker process number ``index``, the driver's end of its pipe, and the job it runs (or None)."""

    def __init__(self, context, threads: int, index: int = 0):
        self.index = index  # its device: resolve_device(training.device, worker=index)
        self.conn, theirs = context.Pipe()
        self.process = context.Process(target=_serve, args=(theirs, threads, os.getpid(), self.index), daemon=True)
        self.process.start()
        theirs.close()
        self.job: _Job | None = None

    def stop(self, cancel: bool) -> None:
        """Ask the process to end (or, with ``cancel``, end it) and wait for it."""
        if not cancel:
            try:
                self.conn.send(None)
            except OSError:
                pass
            self.process.join(timeout=10)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(timeout=10)
        self.conn.close()


class LocalExecutor:
    """Trials in ``workers`` processes on this machine, sharing the output directory.

    Each worker runs one unit at a time and sends its progress (batches, epochs) back;
    :meth:`events` collects it. A worker that dies (killed, out of memory) costs only the
    unit it ran: a fresh process takes its place (with its index, so its device) and the
    unit runs again, ``retries`` times at most, after which :meth:`result` raises
    :class:`WorkerLost`. Worker ``i`` trains on ``resolve_device(training.device, worker=i)``.
    """

    def __init__(self, out: str | Path, workers: int, retries: int = 2):
        self.threads = max(1, (os.cpu_count() or 1) // workers)
        self.context = multiprocessing.get_context("spawn")  # torch's thread pools do not survive fork
        self.out, self.slots, self.retries = Path(out), workers, retries
        self.workers = [_Worker(self.context, self.threads, index) for index in range(workers)]
        self.buffer: list[tuple[str, str, tuple]] = []

    def submit(self, unit: list[Trial]) -> _Job:
        job = _Job(unit, self.retries)
        self._assign(job)
        return job

    def _assign(self, job: _Job) -> None:
        """Give ``job`` to an idle worker, replacing one that died while idle."""
        index = next(i for i, w in enumerate(self.workers) if w.job is None)
        for _ in range(2):
            worker = self.workers[index]
            try:
                worker.conn.send((job.unit, self.out))
                worker.job = job
                return
            except OSError:  # it died while idle
                self._replace(index)
        raise WorkerLost("cannot start a worker process")

    def _replace(self, index: int) -> None:
        self.workers[index].stop(cancel=True)
        self.workers[index] = _Worker(self.context, self.threads, index)

    def wait(self, handles: list) -> list:
        busy = [w for w in self.workers if w.job is not None]
        if busy:
            connection.wait([w.conn for w in busy] + [w.process.sentinel for w in busy], timeout=0.5)
            for worker in busy:
                self._collect(self.workers.index(worker))
        return [handle for handle in handles if handle.finished]

    def _collect(self, index: int) -> None:
        """Read what worker ``index`` sent; if it died, rerun or fail its job."""
        worker = self.workers[index]
        try:
            while worker.conn.poll():
                kind, payload = worker.conn.recv()
                if kind == "event":
                    self.buffer.append(payload)
                    continue
                worker.job.results, worker.job.error = (payload, None) if kind == "results" else (None, payload)
                worker.job = None
                return
        except (EOFError, OSError):  # its end of the pipe closed: it died
            worker.process.join(timeout=5)
        if worker.process.is_alive():
            return
        job, code = worker.job, worker.process.exitcode
        self._replace(index)
        if job.retries > 0:
            job.retries -= 1
            self._assign(job)
        else:
            died = f"killed by signal {-code}" if code is not None and code < 0 else f"exit status {code}"
            job.error = f"worker lost: its process died ({died}), {self.retries} retries used"

    def events(self) -> list[tuple[str, str, tuple]]:
        """Progress sent by the workers since the last call: ``(kind, trial id, args)``."""
        found, self.buffer = self.buffer, []
        return found

    def result(self, handle: _Job) -> list[TrialResult]:
        if handle.error is not None:
            raise WorkerLost(handle.error)
        return handle.results

    def close(self, cancel: bool) -> None:
        """Stop the workers; with ``cancel`` (Ctrl-C, SIGTERM, an error) they are ended
        at once: a trial in a worker has stored nothing, so nothing is lost."""
        for worker in self.workers:
            worker.stop(cancel)
        self.workers = []


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


HTTP2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0])  # + empty SETTINGS


def _reachable(address: str, timeout: float = 5.0) -> str:
    """The host of ``address`` ("HOST:PORT") if a Ray head answers there, else InputError.

    A Ray head's port serves gRPC, so it answers an HTTP/2 connection preface with a
    SETTINGS frame; anything else there (a web server, a database, a silent port) is
    refused within ``timeout`` seconds instead of hanging ``ray.init``.
    """
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise InputError(f"A Ray address is HOST:PORT or 'local'; got {address!r}.")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout) as conn:
            conn.sendall(HTTP2_PREFACE)
            reply = _read(conn, 9, timeout)
    except OSError as error:
        raise InputError(f"cannot reach the Ray cluster at {address!r}: {error.strerror or error}.") from None
    if len(reply) < 9 or reply[3] != 4:  # a frame header: 3 bytes length, 1 byte type (4: SETTINGS)
        raise InputError(f"{address!r} is not a Ray cluster's head: something listens there but it does not "
                         f"answer as Ray's gRPC server does (within {timeout:g} s).")
    return host


def _read(conn: socket.socket, size: int, timeout: float) -> bytes:
    """Up to ``size`` bytes from ``conn``, waiting ``timeout`` seconds in all; fewer if
    the peer closes or stays silent."""
    data, deadline = b"", time.monotonic() + timeout
    while len(data) < size and (left := deadline - time.monotonic()) > 0:
        conn.settimeout(left)
        try:
            chunk = conn.recv(size - len(data))
        except (TimeoutError, ConnectionResetError):
            break
        if not chunk:
            break
        data += chunk
    return data


class RayExecutor:
    """Trials as Ray tasks (one CPU and one torch thread each) on a Ray cluster.

    ``address`` is ``"HOST:PORT"`` of a running cluster's head (``ray start --head``) or
    ``"local"`` to start a cluster for this run and stop it afterwards. ``workers`` caps
    the trials in flight (default: the cluster's CPUs).

    A unit whose ``training.device`` is ``"cuda"`` or ``"cuda:N"`` also asks Ray for one
    GPU (``num_gpus=1``): Ray runs it on a node with a free GPU and shows the task that
    GPU alone, as ``cuda:0``, where the device is resolved (so ``"cuda:N"`` with ``N > 0``
    fails there; give ``"cuda"``). ``"auto"`` asks for none and trains on a GPU only if
    the task sees one; ``"cpu"`` and None train on the node's CPU.
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
        gpu = (unit_device_name(unit) or "").startswith("cuda")
        task = self.task.options(num_gpus=1) if gpu else self.task
        handle = task.remote(unit, unit_inputs(unit, self.out), 1)
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
        return LocalExecutor(out, workers, retries)
    if name == "ray":
        if not address:
            raise InputError("The ray executor needs an address: HOST:PORT of a cluster's head, or 'local'.")
        return RayExecutor(out, address, workers=workers, retries=retries)
    raise InputError(f"Unknown executor {name!r}; expected one of {', '.join(map(repr, EXECUTORS))}.")
