"""Run a study: expand it into trials, store them, run the unfinished ones, store results.

The driver (this module) is the only writer of the results database. Trials are
registered as ``pending`` before the first one runs; a trial that raises is stored as
``failed`` with its error, and the study goes on. Running the same study again skips the
trials that are finished (``done`` or ``diverged``) and redoes the others, so an
interrupted study resumes where it stopped.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Callable

import pandas as pd
import torch

from ..environment import environment
from ..errors import InputError
from ..store import FINISHED, Store, check_output_dir
from .config import StudyConfig
from .dense import TrialResult, expand_dense, run_dense_trial
from .pruning import expand_pruning, run_pruning_trial
from .structure import expand_structure, run_structure_trial
from .trial import Trial

# study kind -> its trials; trial kind -> the function that runs one
EXPANDERS: dict[str, Callable[[StudyConfig], list[Trial]]] = {
    "dense": expand_dense, "pruning": expand_pruning, "structure": expand_structure,
}
RUNNERS: dict[str, Callable[..., TrialResult]] = {
    "dense": run_dense_trial, "pruning": run_pruning_trial, "structure": run_structure_trial,
}


class Reporter:
    """Progress callbacks of :func:`run_study`; the base class ignores them all."""

    def study_started(self, config: StudyConfig, total: int, todo: int) -> None: ...
    def trial_started(self, trial: Trial) -> None: ...
    def batch_finished(self, trial: Trial, epoch: int, done: int, total: int) -> None: ...
    def epoch_finished(self, trial: Trial, row: dict) -> None: ...
    def trial_finished(self, trial: Trial, result: TrialResult) -> None: ...


def expand(config: StudyConfig) -> list[Trial]:
    """The trials of a study, in the order they run: every parent before its children."""
    return EXPANDERS[config.kind](config)


def check_study(config: StudyConfig) -> None:
    """Fail early, before anything is stored, on input that every trial would trip on.

    A CSV dataset is read and checked here, so a bad file is reported once, by row,
    and no trial is registered.
    """
    if config.data.is_file:
        config.data.load(seed=0)


def run_trial(trial: Trial, out: str | Path, reporter: Reporter | None = None) -> TrialResult:
    """Run one trial, turning an exception into a ``failed`` result."""
    reporter = reporter or Reporter()
    try:
        return RUNNERS[trial.kind](
            trial, out,
            on_epoch=lambda row: reporter.epoch_finished(trial, row),
            on_batch=lambda epoch, done, total: reporter.batch_finished(trial, epoch, done, total),
        )
    except Exception as exc:  # stored, not raised: one broken trial must not end a study
        return TrialResult("failed", error=f"{type(exc).__name__}: {exc}")


def run_study(config: StudyConfig, out: str | Path, *, reporter: Reporter | None = None,
              workers: int = 1) -> pd.DataFrame:
    """Run every unfinished trial of ``config``, storing results in ``out/results.sqlite``.

    With ``workers > 1`` trials run in that many worker processes (each with
    ``cpu_count // workers`` torch threads, so the cores are not oversubscribed); a
    trial starts once its parent is done. This process stays the only writer of the
    database. Progress within a trial (batches, epochs) is only reported with one worker.

    Returns the study's runs as a DataFrame (one row per trial, with its status).
    """
    if not isinstance(workers, int) or workers < 1:
        raise InputError(f"workers must be a positive int; got {workers!r}.")
    reporter = reporter or Reporter()
    out = check_output_dir(out)
    check_study(config)
    trials = expand(config)
    with Store(out) as store:
        store.add_runs(t.record() for t in trials)
        status = store.status_of(t.id for t in trials)
        todo = [t for t in trials if status[t.id] not in FINISHED]
        reporter.study_started(config, len(trials), len(todo))
        env = environment()

        def start(trial: Trial) -> None:
            store.start_run(trial.id, env)
            status[trial.id] = "running"
            reporter.trial_started(trial)

        def finish(trial: Trial, result: TrialResult) -> None:
            store.finish_run(trial.id, result.status, epochs=result.epochs, artefacts=result.artefacts,
                             seconds=result.seconds, error=result.error)
            status[trial.id] = result.status
            reporter.trial_finished(trial, result)

        if workers > 1:
            _schedule(todo, _ProcessPool(out, workers), status, start, finish)
        else:
            for trial in todo:  # parents come before their children
                start(trial)
                finish(trial, _orphaned(trial, status) or run_trial(trial, out, reporter))
        runs = store.runs()
    ids = {t.id for t in trials}
    return runs[runs["run_id"].isin(ids)].reset_index(drop=True)


def _orphaned(trial: Trial, status: dict[str, str]) -> TrialResult | None:
    """A failed result for a trial whose parent did not finish, else None."""
    parent = status.get(trial.parent, "done") if trial.parent else "done"
    return None if parent == "done" else TrialResult("failed", error=f"its parent trial {trial.parent} is {parent}")


def _init_worker(threads: int) -> None:
    torch.set_num_threads(threads)


class _ProcessPool:
    """Trials in worker processes on this machine, sharing the output directory."""

    def __init__(self, out: Path, workers: int):
        threads = max(1, (os.cpu_count() or 1) // workers)
        context = multiprocessing.get_context("spawn")  # torch's thread pools do not survive fork
        self.out, self.slots = out, workers
        self.pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker, initargs=(threads,))

    def submit(self, trial: Trial):
        return self.pool.submit(run_trial, trial, self.out)

    def wait(self, handles) -> list:
        return list(wait(handles, return_when=FIRST_COMPLETED)[0])

    def result(self, handle) -> TrialResult:
        return handle.result()

    def close(self, cancel: bool) -> None:
        self.pool.shutdown(wait=not cancel, cancel_futures=cancel)


def _schedule(todo: list[Trial], backend, status: dict[str, str], start, finish) -> None:
    """Run ``todo`` on ``backend``, at most ``backend.slots`` at once, a child after its parent."""
    waiting, running = list(todo), {}
    try:
        while waiting or running:
            for trial in list(waiting):
                if len(running) >= backend.slots:
                    break
                if trial.parent and status.get(trial.parent) in ("pending", "running"):
                    continue  # its parent has not finished yet
                waiting.remove(trial)
                start(trial)
                orphaned = _orphaned(trial, status)
                if orphaned is not None:
                    finish(trial, orphaned)
                else:
                    running[backend.submit(trial)] = trial
            if not running:
                if waiting:  # cannot happen while parents are expanded before their children
                    raise RuntimeError(f"trials wait on parents that are not running: {waiting[0].parent}")
                continue
            for handle in backend.wait(list(running)):
                trial = running.pop(handle)
                try:
                    result = backend.result(handle)
                except Exception as exc:  # the worker died (killed, out of memory) and retries ran out
                    result = TrialResult("failed", error=f"worker lost: {type(exc).__name__}: {exc}")
                finish(trial, result)
    except BaseException:
        backend.close(cancel=True)
        raise
    backend.close(cancel=False)
