"""Units of work: running one trial, or one pack of trials that train together.

Everything here dispatches through the registry of study kinds
(:mod:`sparsernn.registry`): a trial's kind says how to run it, which trials share a
pack, and which files it reads. Nothing here touches the results database.
"""

from __future__ import annotations

from pathlib import Path

from .. import registry
from .trial import Trial, TrialResult

__all__ = ["Reporter", "failed", "orphaned", "run_trial", "run_unit", "unit_inputs", "units"]


class Reporter:
    """Progress callbacks of :func:`~sparsernn.studies.runner.run_study`; the base class ignores them all."""

    def study_started(self, config, total: int, todo: int) -> None: ...
    def trial_started(self, trial: Trial) -> None: ...
    def batch_finished(self, trial: Trial, epoch: int, done: int, total: int) -> None: ...
    def epoch_finished(self, trial: Trial, row: dict) -> None: ...
    def trial_finished(self, trial: Trial, result: TrialResult) -> None: ...


def failed(exc: BaseException) -> TrialResult:
    """A ``failed`` result carrying ``exc`` as its error."""
    return TrialResult("failed", error=f"{type(exc).__name__}: {exc}")


def run_trial(trial: Trial, out: str | Path, reporter: Reporter | None = None) -> TrialResult:
    """Run one trial with its kind's ``run``, turning an exception into a ``failed`` result."""
    reporter = reporter or Reporter()
    try:
        return registry.get(trial.kind).run(
            trial, out,
            on_epoch=lambda row: reporter.epoch_finished(trial, row),
            on_batch=lambda epoch, done, total: reporter.batch_finished(trial, epoch, done, total),
        )
    except Exception as exc:  # stored, not raised: one broken trial must not end a study
        return failed(exc)


def _pack_key(trial: Trial) -> str | None:
    pack_key = registry.get(trial.kind).pack_key
    return None if pack_key is None else pack_key(trial)


def units(trials: list[Trial]) -> list[list[Trial]]:
    """``trials`` grouped into units of work, in order: packs of trials of one kind whose
    ``pack_key`` is equal (they train together), every other trial alone."""
    groups: dict[tuple[str, str], list[Trial]] = {}
    result = []
    for trial in trials:
        key = _pack_key(trial)
        if key is None:
            result.append([trial])
        elif (trial.kind, key) in groups:
            groups[trial.kind, key].append(trial)
        else:
            groups[trial.kind, key] = [trial]
            result.append(groups[trial.kind, key])
    return result


def run_unit(trials: list[Trial], out: str | Path, reporter: Reporter | None = None) -> list[TrialResult]:
    """Run one unit of work (see :func:`units`); an exception fails all its trials."""
    if len(trials) == 1:
        return [run_trial(trials[0], out, reporter)]
    reporter = reporter or Reporter()
    try:
        return registry.get(trials[0].kind).run_pack(
            trials, out,
            on_epoch=lambda index, row: reporter.epoch_finished(trials[index], row),
            on_batch=lambda epoch, done, total: reporter.batch_finished(trials[0], epoch, done, total),
        )
    except Exception as exc:  # stored, not raised: one broken unit must not end a study
        return [failed(exc) for _ in trials]


def unit_inputs(unit: list[Trial], out: str | Path) -> dict[str, bytes]:
    """The files under ``out`` that the trials of ``unit`` read (their kinds' ``inputs``),
    by path relative to ``out``."""
    out = Path(out)
    names = sorted({name for trial in unit for name in registry.get(trial.kind).inputs(trial)})
    return {name: (out / name).read_bytes() for name in names if (out / name).exists()}


def orphaned(trial: Trial, status: dict[str, str]) -> TrialResult | None:
    """A failed result for a trial whose parent did not finish, else None."""
    parent = status.get(trial.parent, "done") if trial.parent else "done"
    return None if parent == "done" else TrialResult("failed", error=f"its parent trial {trial.parent} is {parent}")
