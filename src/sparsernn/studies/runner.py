"""Run a study: expand it into trials, store them, run the unfinished ones, store results.

The driver (this module) is the only writer of the results database. Trials are
registered as ``pending`` before the first one runs; a trial that raises is stored as
``failed`` with its error, and the study goes on. Running the same study again skips the
trials that are finished (``done`` or ``diverged``) and redoes the others, so an
interrupted study resumes where it stopped. A finished parent whose checkpoint has gone
missing or been damaged is trained again before its unfinished children run.
"""

from __future__ import annotations

import warnings
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from .. import registry
from ..checkpoint import load_checkpoint
from ..devices import resolve_device
from ..environment import environment
from ..errors import InputError
from ..store import FINISHED, OutputLock, Store, check_output_dir
from .config import StudyConfig
from .executors import EXECUTORS, Executor, InlineExecutor, WorkerLost, default_workers, make_executor
from .trial import Trial, TrialResult
from .units import Reporter, orphaned, units

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["check_study", "expand", "run_studies", "run_study", "schedule"]


def expand(config: StudyConfig) -> list[Trial]:
    """The trials of a study (its kind's ``expand``, for each combination of its
    ``sweep``), in the order they run: every parent before its children. With
    ``save_models: none`` only the parents keep their trained models."""
    kind = registry.get(config.kind)
    if kind.expand is None:
        raise InputError(f"kind {config.kind!r} only runs trials of other studies; it has no studies of its own.")
    if not config.sweep:
        trials = kind.expand(config)
    else:
        trials = [trial for point in config.points() for trial in _swept(kind.expand(point), tuple(config.sweep))]
    if config.save_models == "final":
        return trials
    parents = {trial.parent for trial in trials}
    return [replace(trial, save_model=trial.id in parents) for trial in trials]


def _swept(trials: list[Trial], keys: tuple[str, ...]) -> list[Trial]:
    """``trials`` (parents first) recording the swept ``keys`` in their specs, each child
    linked to its parent's new id."""
    renamed: dict[str, str] = {}
    out = []
    for trial in trials:
        new = replace(trial, spec=trial.spec.model_copy(update={"sweep": keys}),
                      parent=renamed.get(trial.parent, trial.parent))
        renamed[trial.id] = new.id
        out.append(new)
    return out


def check_study(config: StudyConfig) -> None:
    """Fail early, before anything is stored, on input that every trial would trip on.

    A CSV dataset is read and checked here, so a bad file is reported once, by row,
    and no trial is registered; then the kind's own ``check`` runs (e.g. a structure
    study's graph files are read and checked).
    """
    if config.data.is_file:
        config.data.load(seed=0)
    check = registry.get(config.kind).check
    if check is not None:
        check(config)


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
        Times a trial whose worker died (killed, out of memory) is run again before it
        counts as failed; with one local worker, trials run in this process and a death
        ends the run (which the same call resumes).

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
    _check_device(config, executor)
    trials = expand(config)
    # a cluster is reached before anything is stored, so a wrong address leaves no trace
    backend = make_executor(executor, out, workers=workers, address=address, retries=retries) \
        if executor != "local" else None
    try:
        with OutputLock(out), Store(out) as store:  # one writer per output directory
            store.add_runs(t.record() for t in trials)
            status = store.status_of(t.id for t in trials)
            _reopen_lost_parents(store, trials, status, out)
            # a pack with a trial left to run runs whole; only its unfinished trials are stored
            work = [unit for unit in units(trials) if any(status[t.id] not in FINISHED for t in unit)]
            reporter.study_started(config, len(trials), sum(status[t.id] not in FINISHED for t in trials))
            if backend is None:
                local_workers = workers or default_workers(len(work))
                backend = (make_executor("local", out, workers=local_workers, retries=retries) if local_workers > 1
                           else InlineExecutor(out, reporter))
            schedule(work, backend, status, *_bookkeeping(store, status, reporter), reporter)
            runs = store.runs()
    finally:
        if backend is not None:
            backend.close(cancel=True)  # a no-op after a finished schedule
    ids = {t.id for t in trials}
    return runs[runs["run_id"].isin(ids)].reset_index(drop=True)


def _check_device(config: StudyConfig, executor: str) -> None:
    """Refuse, before anything is stored, a ``training.device`` this machine lacks when
    the trials run here (a Ray task resolves its device on its node)."""
    if executor == "local":
        resolve_device(config.training.device)


def _lost_input(trial: Trial, out: Path) -> str | None:
    """Why a file ``trial`` reads from its parent (its kind's ``inputs``) cannot be used,
    or None: missing, or not a checkpoint that loads."""
    for name in registry.get(trial.kind).inputs(trial):
        try:
            load_checkpoint(out / name)
        except InputError as exc:
            return str(exc)
    return None


def _reopen_lost_parents(store: Store, trials: list[Trial], status: dict[str, str], out: Path) -> None:
    """Set back to ``pending`` each finished parent whose unfinished children cannot read
    what it left (a checkpoint deleted or damaged since), so it trains again first."""
    checked: set[str] = set()
    for trial in trials:
        parent = trial.parent
        if not parent or parent in checked or status[trial.id] in FINISHED or status.get(parent) != "done":
            continue
        checked.add(parent)
        problem = _lost_input(trial, out)
        if problem is not None:
            warnings.warn(f"trial {parent} is done but its children cannot start from it ({problem}); "
                          "training it again", stacklevel=2)
            store.reopen_run(parent, problem)
            status[parent] = "pending"


def _bookkeeping(store: Store, status: dict[str, str], reporter: Reporter):
    """The ``start`` and ``finish`` callbacks of :func:`schedule`: store, track, report."""
    env = environment()

    def start(trial: Trial) -> None:
        store.start_run(trial.id, env)  # never erases a finished trial
        status[trial.id] = "running"
        reporter.trial_started(trial)

    def finish(trial: Trial, result: TrialResult) -> None:
        store.finish_run(trial.id, result.status, epochs=result.epochs, artefacts=result.artefacts,
                         seconds=result.seconds, error=result.error, environment=result.environment)
        status[trial.id] = result.status
        reporter.trial_finished(trial, result)

    return start, finish


def run_studies(studies: list[StudyConfig], out: str | Path, *, reporters=None, **execution) -> list[pd.DataFrame]:
    """Run ``studies`` one after the other into ``out`` (see :func:`run_study` for
    ``execution``). Every study is checked and expanded before the first one runs, so a
    later study's bad input stops nothing half-way. ``reporters`` (optional) makes one
    :class:`Reporter` per study (called with the study)."""
    for study in studies:
        check_study(study)
        _check_device(study, execution.get("executor", "local"))
        expand(study)
    results = []
    for study in studies:
        reporter = reporters(study) if reporters is not None else None
        results.append(run_study(study, out, reporter=reporter, **execution))
    return results


def schedule(work: list[list[Trial]], executor: Executor, status: dict[str, str], start, finish,
             reporter: Reporter | None = None) -> None:
    """Run the units of ``work`` on ``executor``, at most ``executor.slots`` at once, a
    child after its parent.

    A unit is a list of trials that run together (see
    :func:`sparsernn.studies.units.units`). ``start(trial)`` is called for each of its
    unfinished trials before it is submitted and ``finish(trial, result)`` when its
    results are in (or it could not run: its parent did not finish, or its worker was lost
    and retries ran out); progress from the workers goes to ``reporter``'s
    ``batch_finished`` and ``epoch_finished``. On an exception (Ctrl-C included) the
    executor's pending work is cancelled and the exception propagates.
    """
    waiting, running = list(work), {}
    by_id = {t.id: t for unit in work for t in unit}
    try:
        while waiting or running:
            _submit_ready(waiting, running, executor, status, start, finish)
            if not running:
                if waiting:  # cannot happen while parents are expanded before their children
                    raise RuntimeError(f"trials wait on parents that are not running: {waiting[0][0].parent}")
                continue
            finished = executor.wait(list(running))
            if reporter is not None:
                for kind, trial_id, args in executor.events():
                    getattr(reporter, f"{kind}_finished")(by_id[trial_id], *args)
            for handle in finished:
                unit, left = running.pop(handle)
                try:
                    results = executor.result(handle)
                except Exception as exc:  # the worker died (killed, out of memory) and retries ran out
                    error = str(exc) if isinstance(exc, WorkerLost) else f"worker lost: {type(exc).__name__}: {exc}"
                    results = [TrialResult("failed", error=error)] * len(unit)
                for trial, result in zip(unit, results):
                    if trial in left:
                        finish(trial, result)
    except BaseException:
        executor.close(cancel=True)
        raise
    executor.close(cancel=False)


def _submit_ready(waiting: list, running: dict, executor: Executor, status: dict[str, str], start, finish) -> None:
    """Submit the waiting units whose parents are done, while ``executor`` has free slots;
    a unit whose parent did not finish fails without running."""
    for unit in list(waiting):
        if len(running) >= executor.slots:
            return
        if unit[0].parent and status.get(unit[0].parent) in ("pending", "running"):
            continue  # its parent has not finished yet
        waiting.remove(unit)
        left = [t for t in unit if status[t.id] not in FINISHED]
        for trial in left:
            start(trial)
        lost_parent = orphaned(unit[0], status)
        if lost_parent is not None:
            for trial in left:
                finish(trial, lost_parent)
        else:
            running[executor.submit(unit)] = (unit, left)
