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


def run_study(config: StudyConfig, out: str | Path, *, reporter: Reporter | None = None) -> pd.DataFrame:
    """Run every unfinished trial of ``config``, storing results in ``out/results.sqlite``.

    Returns the study's runs as a DataFrame (one row per trial, with its status).
    """
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
        for trial in todo:  # parents come before their children
            store.start_run(trial.id, env)
            reporter.trial_started(trial)
            parent_status = store.status_of([trial.parent]).get(trial.parent) if trial.parent else "done"
            if parent_status != "done":
                result = TrialResult("failed", error=f"its parent trial {trial.parent} is {parent_status}")
            else:
                result = run_trial(trial, out, reporter)
            store.finish_run(
                trial.id, result.status, epochs=result.epochs, artefacts=result.artefacts,
                seconds=result.seconds, error=result.error,
            )
            reporter.trial_finished(trial, result)
        runs = store.runs()
    ids = {t.id for t in trials}
    return runs[runs["run_id"].isin(ids)].reset_index(drop=True)
