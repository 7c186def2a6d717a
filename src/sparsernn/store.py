"""The results database: one SQLite file (WAL mode) per output directory.

Tables
------
``runs``
    One row per trial: ``run_id`` (the trial's id), ``study``, ``kind``, ``parent``,
    ``status`` (``pending``, ``running``, ``done``, ``failed``, ``diverged``), the
    trial's resolved ``config`` (JSON), the ``environment`` it ran in (JSON), an
    ``error`` message, timestamps and ``seconds``.
``epochs``
    One row per (run, phase, epoch) with losses, accuracies, parameter counts and the
    epoch's wall time; metrics a study adds beyond these go to ``extra`` (JSON).
``artefacts``
    Anything else a run produced, by ``kind`` and ``name``: a checkpoint ``path``, or
    JSON ``data`` (dataset summary, histograms, graphs, ...).

Only one process writes (the driver of a study); every write is one transaction, so
an interrupted run leaves the file consistent. Everything else -- summaries, CSV
exports, analyses, reports -- reads from here, as pandas DataFrames.
"""

from __future__ import annotations

import functools
import json
import os
import socket
import sqlite3
import time
import urllib.parse
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from . import registry
from .errors import InputError, StorageError
from .ids import configuration_id, settings_id

if TYPE_CHECKING:
    import pandas as pd

try:
    import fcntl
except ImportError:  # Windows: no advisory locks
    fcntl = None

DB_NAME = "results.sqlite"
STATUSES = ("pending", "running", "done", "failed", "diverged")
FINISHED = ("done", "diverged")

EPOCH_METRICS = (
    "train_loss", "train_acc", "test_loss", "test_acc", "val_loss", "val_acc",
    "nonzero_params", "total_params", "seconds",
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id      TEXT PRIMARY KEY,
    study       TEXT NOT NULL,
    kind        TEXT NOT NULL,
    parent      TEXT,
    status      TEXT NOT NULL DEFAULT 'pending',
    config      TEXT NOT NULL,
    environment TEXT,
    error       TEXT,
    created     REAL NOT NULL,
    started     REAL,
    finished    REAL,
    seconds     REAL
);
CREATE TABLE IF NOT EXISTS epochs (
    run_id         TEXT NOT NULL REFERENCES runs(run_id),
    phase          TEXT NOT NULL,
    epoch          INTEGER NOT NULL,
    train_loss     REAL,
    train_acc      REAL,
    test_loss      REAL,
    test_acc       REAL,
    val_loss       REAL,
    val_acc        REAL,
    nonzero_params INTEGER,
    total_params   INTEGER,
    seconds        REAL,
    extra          TEXT,
    PRIMARY KEY (run_id, phase, epoch)
);
CREATE TABLE IF NOT EXISTS artefacts (
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    kind   TEXT NOT NULL,
    name   TEXT NOT NULL,
    path   TEXT,
    data   TEXT,
    PRIMARY KEY (run_id, kind, name)
);
"""


def check_output_dir(out: str | Path) -> Path:
    """Return ``out`` as a Path if results can be written there, else raise InputError.

    Nothing is created: a missing directory is fine if its parent is writable. A database
    already there must be ours, pass SQLite's ``PRAGMA quick_check`` and be writable
    (:class:`~sparsernn.errors.StorageError` otherwise), so a run never resumes into a
    corrupt file.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError(f"Output directory {str(out)!r} exists and is not a directory.")
    probe = out if out.exists() else next((p for p in out.absolute().parents if p.exists()), None)
    if probe is None or not _writable(probe):
        raise InputError(f"Output directory {str(out)!r} is not writable.")
    db = out / DB_NAME
    if db.exists() and db.stat().st_size:  # refuse a foreign, corrupt or read-only file before writing anything
        with Store(db, readonly=True) as store:
            store.quick_check()
        if not os.access(db, os.W_OK):
            raise StorageError(f"cannot write {str(db)!r}: it is read-only; make it writable or use another --out.")
    return out


class OutputLock:
    """The one-writer lock of an output directory, held while a study runs.

    An exclusive ``fcntl`` lock on ``OUT/results.sqlite.lock``, which the operating
    system releases when the holder exits, however it ends; the file names the holder
    (PID and host). A second writer gets :class:`~sparsernn.errors.InputError` naming
    the holder; readers need no lock. Where ``fcntl`` is missing (Windows) it locks
    nothing.
    """

    def __init__(self, out: str | Path):
        self.out = Path(out)
        self.path = self.out / (DB_NAME + ".lock")
        self.file = None

    def __enter__(self) -> OutputLock:
        self.out.mkdir(parents=True, exist_ok=True)
        self.file = open(self.path, "a+", encoding="utf-8")
        if fcntl is not None:
            try:
                fcntl.flock(self.file, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                self.file.close()
                holder = self.path.read_text(encoding="utf-8").strip() or "another process"
                raise InputError(f"Output directory {str(self.out)!r} is in use by another sparsernn run "
                                 f"({holder}); wait for it to end or use another --out.") from None
        self.file.seek(0)
        self.file.truncate()
        self.file.write(f"PID {os.getpid()} on {socket.gethostname()}\n")
        self.file.flush()
        return self

    def __exit__(self, *exc) -> None:
        if fcntl is not None:
            fcntl.flock(self.file, fcntl.LOCK_UN)
        self.file.close()

    @staticmethod
    def holder(out: str | Path) -> str | None:
        """Who holds the lock of ``out`` (e.g. ``"PID 12 on host"``), or None if no run
        does; the lock file is only read. Without ``fcntl`` nobody can tell: ``"unknown"``."""
        path = Path(out) / (DB_NAME + ".lock")
        if fcntl is None:
            return "unknown"
        try:
            with open(path, encoding="utf-8") as file:
                try:
                    fcntl.flock(file, fcntl.LOCK_SH | fcntl.LOCK_NB)
                except OSError:
                    return file.read().strip() or "another process"
                fcntl.flock(file, fcntl.LOCK_UN)
        except OSError:  # no lock file: no run has held it
            return None
        return None


def _writable(path: Path) -> bool:
    return os.access(path, os.W_OK | os.X_OK)


TABLES = ("runs", "epochs", "artefacts")


def _storage_error(path: Path, exc: sqlite3.Error) -> StorageError:
    """One line for an SQLite error on ``path``, saying what to do about it."""
    text = str(exc)
    if "disk is full" in text or "disk I/O error" in text:
        return StorageError(f"cannot write {str(path)!r}: {text} (what was stored before is kept); "
                            "free some space and run the same command again.")
    if "readonly" in text or "read-only" in text:
        return StorageError(f"cannot write {str(path)!r}: it is read-only; make it writable or use another --out.")
    if isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, sqlite3.OperationalError) \
            or "malformed" in text:
        return StorageError(f"{str(path)!r} is corrupt ({text}); restore it from a backup, or recover what it "
                            "holds with the sqlite3 shell's .recover into a new file.")
    return StorageError(f"cannot use the results database {str(path)!r}: {text}.")


def _guarded(method):
    """Turn an SQLite error inside ``method`` into one line (:class:`StorageError`)."""
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except sqlite3.Error as exc:
            raise _storage_error(self.path, exc) from None
    return wrapper


def _connect(path: Path, readonly: bool) -> sqlite3.Connection:
    """A connection to ``path``; read-only ones never write, not even in a read-only
    directory (where a database in WAL mode is opened as immutable)."""
    if not readonly:
        return sqlite3.connect(path, timeout=30.0)
    uri = "file:" + urllib.parse.quote(str(path.absolute()))
    conn = sqlite3.connect(uri + "?mode=ro", uri=True, timeout=30.0)
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return conn
    except sqlite3.OperationalError:  # WAL mode needs its -shm file, which it cannot create here
        conn.close()
        wal = path.with_name(path.name + "-wal")
        if wal.exists() and wal.stat().st_size:
            raise
        return sqlite3.connect(uri + "?immutable=1", uri=True)


class Store:
    """Read and write one results database.

    Parameters
    ----------
    path : str or Path
        The SQLite file, or a directory holding ``results.sqlite``.
    create : bool
        Create the file (and directory) if missing; otherwise a missing file is an
        InputError.
    readonly : bool
        Only read (implies ``create=False``): the file is opened read-only (works in a
        read-only directory) and never altered.

    A file that is not a sparsernn results database (another program's SQLite file, an
    empty file when reading) is refused, never modified; a corrupt one, or an SQLite
    error later on (disk full, a read-only file), is a one-line
    :class:`~sparsernn.errors.StorageError`.
    """

    def __init__(self, path: str | Path, *, create: bool = True, readonly: bool = False):
        path = Path(path)
        create = create and not readonly
        if path.is_dir() or (create and path.suffix != ".sqlite"):
            path = path / DB_NAME
        if not path.exists():
            if not create:
                raise InputError(f"No results database at {str(path)!r}.")
            path.parent.mkdir(parents=True, exist_ok=True)
        self.path, self.readonly = path, readonly
        try:
            self._conn = _connect(path, readonly)
            self._check_tables()
            if not readonly:
                self._conn.execute("PRAGMA journal_mode=WAL")
                self._conn.execute("PRAGMA foreign_keys=ON")
                with self._conn:
                    self._conn.executescript(SCHEMA)
        except sqlite3.Error as exc:
            if "file is not a database" in str(exc):
                raise StorageError(f"{str(path)!r} is not a sparsernn results database (not an SQLite file).") \
                    from None
            raise _storage_error(path, exc) from None

    def _check_tables(self) -> None:
        """Refuse a database that is not ours: one with other tables, or (to a reader) none."""
        tables = {row[0] for row in self._conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if not tables and not self.readonly:
            return  # a new (or empty) file: ours to set up
        cols = {row[1] for row in self._conn.execute("PRAGMA table_info(runs)")}
        if not set(TABLES) <= tables or not {"run_id", "study", "status", "config"} <= cols:
            what = "an empty file" if not tables else f"its tables are {', '.join(sorted(tables))}"
            raise StorageError(f"{str(self.path)!r} is not a sparsernn results database ({what}); "
                               "it was left as it is.")

    @_guarded
    def quick_check(self) -> None:
        """Raise :class:`~sparsernn.errors.StorageError` if SQLite's ``PRAGMA quick_check``
        finds the file corrupt."""
        problems = [row[0] for row in self._conn.execute("PRAGMA quick_check")]
        if problems != ["ok"]:
            raise StorageError(f"{str(self.path)!r} is corrupt ({problems[0]}); restore it from a backup, or "
                               "recover what it holds with the sqlite3 shell's .recover into a new file.")

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- writing ---------------------------------------------------------------------

    @_guarded
    def add_runs(self, runs: Iterable[dict]) -> int:
        """Register runs as ``pending``; runs already present are left alone.

        Each dict needs ``run_id, study, kind, config`` and may give ``parent``.
        Returns the number of runs added.
        """
        now = time.time()
        rows = [
            (r["run_id"], r["study"], r["kind"], r.get("parent"), json.dumps(r["config"], sort_keys=True), now)
            for r in runs
        ]
        with self._conn:
            before = self._conn.total_changes
            self._conn.executemany(
                "INSERT OR IGNORE INTO runs (run_id, study, kind, parent, config, created) VALUES (?,?,?,?,?,?)",
                rows,
            )
            return self._conn.total_changes - before

    @_guarded
    def start_run(self, run_id: str, environment: dict) -> bool:
        """Mark a trial ``running``, dropping whatever an earlier, unfinished attempt stored.

        A finished trial (``done`` or ``diverged``) is never touched: returns False.
        """
        unfinished = "run_id = ? AND status NOT IN ('done', 'diverged')"
        with self._conn:
            if self._conn.execute(f"SELECT 1 FROM runs WHERE {unfinished}", (run_id,)).fetchone() is None:
                return False
            self._conn.execute(f"DELETE FROM epochs WHERE run_id IN (SELECT run_id FROM runs WHERE {unfinished})",
                               (run_id,))
            self._conn.execute(f"DELETE FROM artefacts WHERE run_id IN (SELECT run_id FROM runs WHERE {unfinished})",
                               (run_id,))
            self._conn.execute(
                "UPDATE runs SET status='running', environment=?, error=NULL, started=?, finished=NULL,"
                f" seconds=NULL WHERE {unfinished}",
                (json.dumps(environment, sort_keys=True), time.time(), run_id),
            )
        return True

    @_guarded
    def reopen_run(self, run_id: str, reason: str) -> None:
        """Set a finished trial back to ``pending`` (with ``reason`` as its error) so that it
        runs again; what it stored stays until it does."""
        with self._conn:
            self._conn.execute("UPDATE runs SET status='pending', error=? WHERE run_id=?", (reason, run_id))

    @_guarded
    def finish_run(
        self,
        run_id: str,
        status: str,
        *,
        epochs: Sequence[dict] = (),
        artefacts: Sequence[dict] = (),
        seconds: float | None = None,
        error: str | None = None,
        environment: dict | None = None,
    ) -> None:
        """Store a run's epochs and artefacts and set its final status, in one transaction.

        ``environment``, if given, replaces the one recorded by :meth:`start_run` (a
        worker's own, measured where the trial ran).
        """
        if status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}; got {status!r}.")
        extra_keys = lambda row: {k: v for k, v in row.items() if k not in EPOCH_METRICS + ("phase", "epoch")}
        epoch_rows = [
            (run_id, row["phase"], row["epoch"], *(row.get(k) for k in EPOCH_METRICS),
             json.dumps(extra_keys(row), sort_keys=True) if extra_keys(row) else None)
            for row in epochs
        ]
        artefact_rows = [
            (run_id, a["kind"], a["name"], a.get("path"),
             None if a.get("data") is None else json.dumps(a["data"], sort_keys=True))
            for a in artefacts
        ]
        with self._conn:
            self._conn.execute("DELETE FROM epochs WHERE run_id = ?", (run_id,))
            self._conn.execute("DELETE FROM artefacts WHERE run_id = ?", (run_id,))
            self._conn.executemany(
                f"INSERT INTO epochs (run_id, phase, epoch, {', '.join(EPOCH_METRICS)}, extra)"
                f" VALUES ({', '.join('?' * (len(EPOCH_METRICS) + 4))})",
                epoch_rows,
            )
            self._conn.executemany(
                "INSERT INTO artefacts (run_id, kind, name, path, data) VALUES (?,?,?,?,?)", artefact_rows
            )
            self._conn.execute(
                "UPDATE runs SET status=?, error=?, finished=?, seconds=? WHERE run_id=?",
                (status, error, time.time(), seconds, run_id),
            )
            if environment is not None:
                self._conn.execute("UPDATE runs SET environment=? WHERE run_id=?",
                                   (json.dumps(environment, sort_keys=True), run_id))

    # -- reading ---------------------------------------------------------------------

    @_guarded
    def status_of(self, run_ids: Iterable[str]) -> dict[str, str]:
        """Map each known run id to its status."""
        ids = list(run_ids)
        out: dict[str, str] = {}
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            q = f"SELECT run_id, status FROM runs WHERE run_id IN ({','.join('?' * len(chunk))})"
            out.update(dict(self._conn.execute(q, chunk).fetchall()))
        return out

    @_guarded
    def runs(self) -> pd.DataFrame:
        """All trials, one row each, with the config's common fields as columns.

        Besides the table's own columns (``created``, ``started`` and ``finished`` as
        UTC timestamps): ``cell, dataset, seed``; from the trial's kind
        (:attr:`~sparsernn.registry.StudyKind.columns`): ``target``, the weights a
        pruning trial targets, and ``target_sparsity``, the fraction of the *targeted*
        weights it removes (0 for dense trials); ``model_sparsity``, the fraction of all
        maskable weights (every layer's input-to-hidden and hidden-to-hidden matrices and
        the readout) masked when the trial ended (0 for dense trials, missing where not
        recorded);
        ``configuration``, the label of every setting but the seed
        (:func:`~sparsernn.ids.configuration_id`: trials with one label are seeds of one
        experiment), and ``settings``, the label of every setting the study does not
        sweep (:func:`~sparsernn.ids.settings_id`: its kind's axes and the keys of the
        study's ``sweep``).
        """
        import pandas as pd  # heavy: only the readers need it, not a run's driver or its workers

        df = pd.read_sql_query("SELECT * FROM runs ORDER BY created, rowid", self._conn)
        configs = [json.loads(c) for c in df["config"]]
        for column in ("created", "started", "finished"):
            df[column] = pd.to_datetime(df[column], unit="s", utc=True)
        for column in ("cell", "dataset", "seed"):
            df[column] = [_config_field(c, column) for c in configs]
        kinds = [registry.find(kind) for kind in df["kind"]]
        flat = [kind.columns(c) if kind is not None else {} for kind, c in zip(kinds, configs)]
        df["target"] = [f.get("target") for f in flat]
        df["target_sparsity"] = [f.get("target_sparsity") for f in flat]
        final = dict(self._conn.execute(
            "SELECT run_id, json_extract(data, '$.overall') FROM artefacts WHERE kind='sparsity' AND name='final'"))
        df["model_sparsity"] = [final.get(run_id, f.get("model_sparsity")) for run_id, f in zip(df["run_id"], flat)]
        df["target_sparsity"] = df["target_sparsity"].astype(float)
        df["model_sparsity"] = df["model_sparsity"].astype(float)
        df["configuration"] = [configuration_id(k, c) for k, c in zip(df["kind"], configs)]
        df["settings"] = [settings_id(name, c, registry.swept(name, c)) for name, c in zip(df["kind"], configs)]
        return df

    @_guarded
    def epochs(self) -> pd.DataFrame:
        """One flat row per (trial, phase, epoch), joined with the trial's fields.

        Columns: ``run_id, study, kind, parent, configuration, cell, dataset, seed,
        target, target_sparsity, model_sparsity, phase, epoch, train_loss, train_acc,
        test_loss, test_acc, val_loss, val_acc, nonzero_params, total_params, seconds,
        status, finished`` (see :meth:`runs`) and then any extra metrics.
        """
        import pandas as pd

        runs = self.runs()
        runs["_order"] = range(len(runs))
        epochs = pd.read_sql_query("SELECT rowid AS _row, * FROM epochs", self._conn)
        extras = pd.DataFrame([json.loads(e) if isinstance(e, str) else {} for e in epochs.pop("extra")],
                              index=epochs.index)
        epochs = pd.concat([epochs, extras], axis=1)
        keys = ["run_id", "study", "kind", "parent", "configuration", "cell", "dataset", "seed", "target",
                "target_sparsity", "model_sparsity"]
        df = runs[keys + ["status", "finished", "_order"]].merge(epochs, on="run_id", how="inner")
        df = df.sort_values(["_order", "_row"])  # rows in the order each trial made them
        columns = keys + ["phase", "epoch", *EPOCH_METRICS, "status", "finished"]
        return df[columns + [c for c in extras.columns if c not in columns]].reset_index(drop=True)

    @_guarded
    def artefacts(self, kind: str | None = None) -> pd.DataFrame:
        """Artefacts, optionally of one ``kind``, with ``data`` decoded from JSON."""
        import pandas as pd

        q, args = "SELECT * FROM artefacts", ()
        if kind is not None:
            q, args = q + " WHERE kind = ?", (kind,)
        df = pd.read_sql_query(q, self._conn, params=args)
        df["data"] = [json.loads(d) if isinstance(d, str) else None for d in df["data"]]
        return df


def _config_field(config: dict, name: str):
    """Find a field in a trial config (top level first, then one level down)."""
    if name in config:
        return config[name]
    for value in config.values():
        if isinstance(value, dict) and name in value:
            return value[name]
    return None
