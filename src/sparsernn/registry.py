"""The registry of study kinds: every part of sparsernn that depends on a kind asks here.

A **study kind** (dense training, pruning, graph-structured networks, ...) is one
module in :mod:`sparsernn.studies.kinds` that builds one :class:`StudyKind` and passes
it to :func:`register`. Config validation, the scheduler, the executors, the results
database's flat columns and the command line all look kinds up by name with
:func:`get`; none of them names a kind. The modules of :mod:`sparsernn.studies.kinds`
are imported (and so registered) the first time a kind is looked up; a kind defined
elsewhere (a plugin, a test) registers itself when its module is imported.

The same objects describe trials: every trial names the kind whose ``run`` runs it (a
pruning study's dense bases are trials of the dense kind).

This module imports nothing of sparsernn but :mod:`sparsernn.errors`, so every layer
may use it.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

from .errors import InputError

__all__ = ["StudyKind", "default_kind", "find", "get", "kinds", "lazy", "patched", "register", "unregister"]

KINDS_PACKAGE = "sparsernn.studies.kinds"


def _no_inputs(trial: Any) -> tuple[str, ...]:
    return ()


def _no_columns(config: dict) -> dict:
    return {}


def lazy(target: str) -> Callable[..., Any]:
    """The function ``target`` (``"package.module:name"``), imported when first called.

    A kind names its summary and analysis functions this way: they need pandas, scipy
    and sklearn, which a worker that only runs trials never imports.

    Examples
    --------
    >>> sqrt = lazy("math:sqrt")
    >>> sqrt(16.0), sqrt.__name__
    (4.0, 'sqrt')
    """
    module, _, name = target.partition(":")
    if not module or not name:
        raise ValueError(f"lazy expects 'package.module:name'; got {target!r}")

    def call(*args: Any, **kwargs: Any) -> Any:
        return getattr(importlib.import_module(module), name)(*args, **kwargs)

    call.__name__ = call.__qualname__ = name
    call.__doc__ = f":func:`{module}.{name}`, imported when called."
    call.target = target
    return call


@dataclass(frozen=True)
class StudyKind:
    """What sparsernn needs to know about one kind of study and its trials.

    Parameters
    ----------
    name : str
        The kind's name: a study's ``kind``, a trial's ``kind`` and the key of the
        kind's own config section.
    spec : type
        The frozen pydantic model of its trials' settings
        (:class:`~sparsernn.studies.trial.TrialSpec`).
    run : callable
        ``run(trial, out, *, on_epoch, on_batch) -> TrialResult``: run one trial; never
        touches the database.
    expand : callable, optional
        ``expand(study) -> list[Trial]``: a study's trials, parents before children.
        Without one the kind only runs trials that other kinds' studies expand to.
    section : type, optional
        The pydantic model of the study config's section named ``name``; a study of
        this kind always has one (default settings if the config leaves it out).
    check : callable, optional
        ``check(study)``: raise :class:`~sparsernn.errors.InputError` before anything
        is stored, for input every trial would trip on (e.g. an unusable graph file).
    pack_key, run_pack : callable, optional
        ``pack_key(trial) -> str | None``: trials with equal keys run together as one
        unit, with ``run_pack(trials, out, *, on_epoch(index, row), on_batch)``.
    inputs : callable
        ``inputs(trial) -> paths``: the checkpoints (relative to the output directory)
        a trial reads from its parent, which an executor ships to wherever the trial
        runs; a parent whose checkpoint is missing or does not load trains again.
    describe : callable, optional
        ``describe(trial) -> str``: a short label for progress lines.
    columns : callable
        ``columns(config) -> dict``: the results database's flat columns of a trial
        (``target``, ``target_sparsity``) from its stored config.
    swept : tuple of str
        The dotted settings a study of this kind varies by design
        (:func:`~sparsernn.ids.settings_id`).
    summary : callable, optional
        ``summary(runs, epochs, *, delta, columns, artefacts) -> list[(DataFrame, title)]``: the tables of
        ``sparsernn results --summary NAME``; ``markdown_summary`` likewise, with extra
        tables for the Markdown file.
    analyze : callable, optional
        ``analyze(runs, epochs, artefacts, **options) -> (tables, outputs)``: the
        tables of ``sparsernn analyze``.
    validate : callable, optional
        ``validate(study)``: raise ValueError if the study's sections do not fit
        together (run while the config is validated).
    resolve_paths : callable, optional
        ``resolve_paths(section, base) -> section``: the section (a plain mapping read
        from a config file) with relative file paths joined to the file's directory.
    default : bool
        Whether this is the kind of a study config that names none.
    """

    name: str
    spec: type
    run: Callable[..., Any]
    expand: Callable[[Any], list] | None = None
    section: type | None = None
    check: Callable[[Any], None] | None = None
    pack_key: Callable[[Any], str | None] | None = None
    run_pack: Callable[..., list] | None = None
    inputs: Callable[[Any], tuple[str, ...]] = _no_inputs
    describe: Callable[[Any], str] | None = None
    columns: Callable[[dict], dict] = _no_columns
    swept: tuple[str, ...] = ("seed", "cell")
    summary: Callable[..., list] | None = None
    markdown_summary: Callable[..., list] | None = None
    analyze: Callable[..., Any] | None = None
    validate: Callable[[Any], None] | None = None
    resolve_paths: Callable[[dict, Any], dict] | None = None
    default: bool = False


_KINDS: dict[str, StudyKind] = {}
_discovered = False


def register(kind: StudyKind) -> StudyKind:
    """Add ``kind`` (replacing a kind of the same name) and return it."""
    if not isinstance(kind, StudyKind):
        raise TypeError(f"register expects a StudyKind; got {type(kind).__name__}")
    _KINDS[kind.name] = kind
    return kind


def unregister(name: str) -> None:
    """Remove the kind called ``name`` (if registered)."""
    _KINDS.pop(name, None)


def _discover() -> None:
    """Import every module of :data:`KINDS_PACKAGE` once; each registers its kind."""
    global _discovered
    if _discovered:
        return
    _discovered = True
    package = importlib.import_module(KINDS_PACKAGE)
    for module in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"{KINDS_PACKAGE}.{module.name}")


def default_kind() -> StudyKind:
    """The kind of a study that names none."""
    _discover()
    return next(kind for kind in _KINDS.values() if kind.default)


def kinds() -> dict[str, StudyKind]:
    """Every registered kind, by name."""
    _discover()
    return dict(_KINDS)


def get(name: str, *, where: str = "kind") -> StudyKind:
    """The kind called ``name``; InputError naming the known kinds if there is none."""
    _discover()
    if name not in _KINDS:
        known = ", ".join(map(repr, sorted(_KINDS)))
        raise InputError(f"{where}: unknown study kind {name!r}; expected one of {known}.")
    return _KINDS[name]


def summary_kinds() -> list[str]:
    """The kinds with a summary table (``sparsernn results --summary KIND``)."""
    return sorted(name for name, kind in kinds().items() if kind.summary is not None)


def find(name: str) -> StudyKind | None:
    """The kind called ``name``, or None (e.g. a database written with a plugin not installed here)."""
    _discover()
    return _KINDS.get(name)


def swept(name: str, config: dict) -> tuple[str, ...]:
    """The dotted settings a stored trial's study varies on purpose: its kind's
    :attr:`StudyKind.swept` (``("seed",)`` for a kind not installed here) and the keys
    of the study's ``sweep``, which the trial's ``config`` records."""
    kind = find(name)
    return (kind.swept if kind is not None else ("seed",)) + tuple(config.get("sweep", ()))


@contextmanager
def patched(name: str, **changes):
    """Within the ``with`` block, the kind ``name`` has ``changes`` (e.g. ``run=...``);
    for tests that replace how a kind's trials run."""
    before = get(name)
    register(replace(before, **changes))
    try:
        yield get(name)
    finally:
        register(before)
