"""Run a study: expand it into trials, store them, run the unfinished ones, store results.

The driver (this module) is the only writer of the results database. Trials are
registered as ``pending`` before the first one runs; a trial that raises is stored as
``failed`` with its error, and the study goes on. Running the same study again skips the
trials that are finished (``done`` or ``diverged``) and redoes the others, so an
interrupted study resumes where it stopped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pandas as pd

from ..environment import environment
from ..errors import InputError
from ..store import FINISHED, Store, check_output_dir
from .config import StudyConfig
from .dense import TrialResult, expand_dense, run_dense_trial
from .executors import EXECUTORS, InlineExecutor, default_workers, make_executor, schedule
from .pruning import expand_pruning, run_pruning_trial
from .structure import expand_structure, pack_key, run_structure_pack, run_structure_trial
from .trial import Trial

# study kind -> its trials; trial kind -> the function that runs one
EXPANDERS: dict[str, Callable[[StudyConfig], list[Trial]]] = {
    "dense": expand_dense, "pruning": expand_pruning, "structure": expand_structure,
}
RUNNERS: dict[str, Callable[..., TrialResult]] = {
    "dense": run_dense_trial, "pruning": run_pruning_trial, "structure": run_structure_trial,
}
# trial kind -> (key: trials with equal keys run together, the function that runs them)
PACKERS: dict[str, tuple[Callable[[Trial], str | None], Callable[..., list[TrialResult]]]] = {
    "structure": (pack_key, run_structure_pack),
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
    and no trial is registered. (A structure study's graph files are read and checked
    when the study is expanded, which also happens before anything is stored.)
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


def units(trials: list[Trial]) -> list[list[Trial]]:
    """``trials`` grouped into units of work, in order: packs of trials that train
    together (see :data:`PACKERS`), every other trial alone."""
    groups: dict[str, list[Trial]] = {}
    result = []
    for trial in trials:
        key = PACKERS[trial.kind][0](trial) if trial.kind in PACKERS else None
        if key is None:
            result.append([trial])
        elif key in groups:
            groups[key].append(trial)
        else:
            groups[key] = [trial]
            result.append(groups[key])
    return result


def run_unit(trials: list[Trial], out: str | Path, reporter: Reporter | None = None) -> list[TrialResult]:
    """Run one unit of work (see :func:`units`); an exception fails all its trials."""
    if len(trials) == 1:
        return [run_trial(trials[0], out, reporter)]
    reporter = reporter or Reporter()
    try:
        return PACKERS[trials[0].kind][1](
            trials, out,
            on_epoch=lambda index, row: reporter.epoch_finished(trials[index], row),
            on_batch=lambda epoch, done, total: reporter.batch_finished(trials[0], epoch, done, total),
        )
    except Exception as exc:  # stored, not raised: one broken unit must not end a study
        return [TrialResult("failed", error=f"{type(exc).__name__}: {exc}") for _ in trials]


def run_study(config: StudyConfig, out: str | Path, *, reporter: Reporter | None = None,
              workers: int | None = 1, executor: str = "local", address: str | None = None,
              retries: int = 2) -> pd.DataFrame:
    """Run every unfinished trial of ``config``, storing results in ``out/results.sqlite``.

    Parameters
    ----------
    workers : int or None, default 1
        Trials run at once. With the ``local`` executor and ``workers > 1`` they run in
        that many worker processes (each with ``cpu_count // workers`` torch threads, so
        the cores are not oversubscribed); ``None`` means one per core, but no more than
        there are trials to run. With one local worker trials run in this process, and
        progress within a trial (batches, epochs) is reported.
    executor : {"local", "ray"}, default "local"
        See :mod:`sparsernn.studies.executors`.
    address : str, optional
        The Ray cluster (``"HOST:PORT"`` or ``"local"``); ``ray`` executor only.
    retries : int, default 2
        Times Ray reruns a trial whose worker died; ``ray`` executor only.

    A trial starts once its parent is done. This process is the only writer of the
    database, whichever executor runs the trials.

    Returns the study's runs as a DataFrame (one row per trial, with its status).
    """
    if workers is not None and (not isinstance(workers, int) or workers < 1):
        raise InputError(f"workers must be a positive int or None; got {workers!r}.")
    if executor not in EXECUTORS:
        raise InputError(f"Unknown executor {executor!r}; expected one of {', '.join(map(repr, EXECUTORS))}.")
    reporter = reporter or Reporter()
    out = check_output_dir(out)
    check_study(config)
    trials = expand(config)
    # a cluster is reached before anything is stored, so a wrong address leaves no trace
    backend = make_executor(executor, out, workers=workers, address=address, retries=retries) \
        if executor != "local" else None
    try:
        with Store(out) as store:
            store.add_runs(t.record() for t in trials)
            status = store.status_of(t.id for t in trials)
            todo = [t for t in trials if status[t.id] not in FINISHED]
            # a pack with a trial left to run runs whole; only its unfinished trials are stored
            work = [unit for unit in units(trials) if any(status[t.id] not in FINISHED for t in unit)]
            reporter.study_started(config, len(trials), len(todo))
            env = environment()

            def start(trial: Trial) -> None:
                store.start_run(trial.id, env)
                status[trial.id] = "running"
                reporter.trial_started(trial)

            def finish(trial: Trial, result: TrialResult) -> None:
                store.finish_run(trial.id, result.status, epochs=result.epochs, artefacts=result.artefacts,
                                 seconds=result.seconds, error=result.error, environment=result.environment)
                status[trial.id] = result.status
                reporter.trial_finished(trial, result)

            local_workers = workers or default_workers(len(work))
            if backend is None:
                backend = (make_executor("local", out, workers=local_workers) if local_workers > 1
                           else InlineExecutor(out, reporter))
            schedule(work, backend, status, start, finish, reporter)
            runs = store.runs()
    finally:
        if backend is not None:
            backend.close(cancel=True)  # a no-op after a finished schedule
    ids = {t.id for t in trials}
    return runs[runs["run_id"].isin(ids)].reset_index(drop=True)


def orphaned(trial: Trial, status: dict[str, str]) -> TrialResult | None:
    """A failed result for a trial whose parent did not finish, else None."""
    parent = status.get(trial.parent, "done") if trial.parent else "done"
    return None if parent == "done" else TrialResult("failed", error=f"its parent trial {trial.parent} is {parent}")
