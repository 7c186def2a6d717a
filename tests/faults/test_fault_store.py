"""The results database under faults: corrupt pages, another program's file, read-only
files and directories, a full disk. Each ends in one line and exit status 2 (or a clean
run), and never loses or alters what was stored."""

import contextlib
import os
import sqlite3
import subprocess
from pathlib import Path

import pytest

from sparsernn.cli import main
from sparsernn.store import DB_NAME, Store

TRAIN = ["train", "--cell", "gru", "--num-strings", "100", "--hidden", "4", "--embedding", "4", "--epochs", "1"]
READERS = [["results"], ["status"], ["results", "--summary", "pruning"], ["analyze"]]


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    """A directory with two finished trials (seeds 0 and 1)."""
    out = tmp_path_factory.mktemp("finished")
    for seed in ("0", "1"):
        assert main([*TRAIN, "--seed", seed, "--out", str(out)]) == 0
    return out


@pytest.fixture
def copy(finished, tmp_path) -> Path:
    out = tmp_path / "copy"
    out.mkdir()
    (out / DB_NAME).write_bytes((finished / DB_NAME).read_bytes())
    return out


def _one_error(capsys, code) -> str:
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err, err
    line, = err.strip().splitlines()
    assert line.startswith("sparsernn: error: ")
    return line


def _corrupt(db: Path, table: str) -> None:
    """Overwrite the root page of ``table`` with garbage."""
    with contextlib.closing(sqlite3.connect(db)) as conn:
        root, = conn.execute("SELECT rootpage FROM sqlite_master WHERE name=?", (table,)).fetchone()
        size, = conn.execute("PRAGMA page_size").fetchone()
    with open(db, "r+b") as f:
        f.seek((root - 1) * size)
        f.write(b"\xa5" * size)


@pytest.mark.parametrize("command", [["run"], *READERS], ids=lambda c: " ".join(c))
@pytest.mark.fault("a corrupt page in the runs table", outcome="one line: corrupt, with the recovery hint; the "
                   "file is left as it is", exit=2, section="Results database")
def test_a_corrupt_runs_page_is_one_line(copy, capsys, command):
    _corrupt(copy / DB_NAME, "runs")
    before = (copy / DB_NAME).read_bytes()
    argv = [*TRAIN, "--out", str(copy)] if command == ["run"] else [*command, str(copy)]
    line = _one_error(capsys, main(argv))
    assert "is corrupt" in line and ".recover" in line
    assert (copy / DB_NAME).read_bytes() == before


@pytest.mark.parametrize("command", [["run"], *READERS], ids=lambda c: " ".join(c))
@pytest.mark.fault("a corrupt page in the epochs table (the runs table intact)",
                   outcome="refused before resuming or reading (PRAGMA quick_check), one line", exit=2,
                   section="Results database")
def test_a_database_failing_quick_check_is_refused(copy, capsys, command):
    _corrupt(copy / DB_NAME, "epochs")
    before = (copy / DB_NAME).read_bytes()
    argv = [*TRAIN, "--out", str(copy)] if command == ["run"] else [*command, str(copy)]
    line = _one_error(capsys, main(argv))
    assert "is corrupt" in line
    assert (copy / DB_NAME).read_bytes() == before


def _foreign(path: Path) -> None:
    with contextlib.closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("CREATE TABLE contacts (name TEXT, phone TEXT)")
        conn.execute("INSERT INTO contacts VALUES ('ada', '123')")


@pytest.mark.parametrize("make,what", [
    pytest.param(_foreign, "its tables are contacts", id="foreign-sqlite", marks=pytest.mark.fault(
        "another program's SQLite file as results.sqlite", outcome="refused, one line; the file is unchanged "
        "(no tables added)", exit=2, section="Results database")),
    pytest.param(lambda path: path.write_text("name,phone\nada,123\n"), "not an SQLite file", id="text",
                 marks=pytest.mark.fault("a text file as results.sqlite", outcome="refused, one line; unchanged",
                                         exit=2, section="Results database")),
])
@pytest.mark.parametrize("command", [["run"], ["results"], ["status"]], ids=lambda c: c[0])
def test_a_file_that_is_not_ours_is_refused_and_left_alone(tmp_path, capsys, make, what, command):
    make(tmp_path / DB_NAME)
    before = (tmp_path / DB_NAME).read_bytes()
    argv = [*TRAIN, "--out", str(tmp_path)] if command == ["run"] else [*command, str(tmp_path)]
    line = _one_error(capsys, main(argv))
    assert "is not a sparsernn results database" in line and what in line
    assert (tmp_path / DB_NAME).read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [DB_NAME]  # no lock, no -wal, no -shm left


@pytest.mark.fault("an empty (0-byte) results.sqlite, read by results/status",
                   outcome="refused, one line; the file stays empty", exit=2, section="Results database")
@pytest.mark.parametrize("command", ["results", "status"])
def test_readers_never_create_tables(tmp_path, capsys, command):
    (tmp_path / DB_NAME).touch()
    line = _one_error(capsys, main([command, str(tmp_path)]))
    assert "an empty file" in line
    assert (tmp_path / DB_NAME).stat().st_size == 0


@contextlib.contextmanager
def _read_only(path: Path):
    """``path`` (a file or directory) read-only, even for root: a read-only bind mount."""
    if os.geteuid() != 0:
        mode = path.stat().st_mode
        path.chmod(0o555 if path.is_dir() else 0o444)
        try:
            yield
        finally:
            path.chmod(mode)
        return
    if subprocess.run(["mount", "--bind", "-o", "ro", str(path), str(path)], capture_output=True).returncode:
        pytest.skip("cannot bind-mount read-only here")
    try:
        yield
    finally:
        subprocess.run(["umount", str(path)], check=True)


@pytest.mark.fault("a read-only results.sqlite in a writable directory, run into it",
                   outcome="refused up front, one line; the file is unchanged", exit=2, section="Results database")
def test_run_refuses_a_read_only_database(copy, capsys):
    before = (copy / DB_NAME).read_bytes()
    with _read_only(copy / DB_NAME):
        line = _one_error(capsys, main([*TRAIN, "--seed", "5", "--out", str(copy)]))
        assert "is read-only" in line
    assert (copy / DB_NAME).read_bytes() == before


@pytest.mark.fault("results/status on a read-only directory", outcome="read as usual (opened read-only)",
                   exit=0, section="Results database")
def test_readers_work_in_a_read_only_directory(copy, capsys):
    with _read_only(copy):
        for command in (["results"], ["status"], ["results", "--csv", str(copy.parent / "e.csv")]):
            assert main([*command, str(copy)]) == 0, capsys.readouterr().err
            assert capsys.readouterr().err == ""
        assert main([*TRAIN, "--out", str(copy)]) == 2  # and a run is refused
        assert "not writable" in capsys.readouterr().err
    assert sorted(p.name for p in copy.iterdir()) == [DB_NAME]


@pytest.mark.fault("results --csv/--markdown/--parquet into a missing directory",
                   outcome="refused before reading, one line", exit=2, section="Exports")
@pytest.mark.parametrize("option", ["--csv", "--markdown", "--parquet"])
def test_an_export_into_a_missing_directory_is_one_line(copy, tmp_path, capsys, option):
    target = tmp_path / "missing" / "out.file"
    line = _one_error(capsys, main(["results", str(copy), option, str(target)]))
    assert "does not exist" in line and str(tmp_path / "missing") in line


@pytest.mark.fault("analyze --markdown into a missing directory", outcome="refused before reading, one line",
                   exit=2, section="Exports")
def test_analyze_into_a_missing_directory_is_one_line(copy, tmp_path, capsys):
    line = _one_error(capsys, main(["analyze", str(copy), "--markdown", str(tmp_path / "no" / "t.md")]))
    assert "does not exist" in line


@contextlib.contextmanager
def _small_disk(path: Path, size: str):
    path.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                                           capture_output=True).returncode:
        pytest.skip("needs root and tmpfs to fill a disk")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=True)


@pytest.mark.slow
@pytest.mark.fault("the disk fills up mid-study", outcome="one line naming the full disk (or the trials that "
                   "could not write, exit 3); finished trials kept; a rerun with space finishes",
                   exit="2 or 3", section="Results database")
def test_a_full_disk_ends_in_one_line_and_a_rerun_recovers(finished, tmp_path, capsys):
    with _small_disk(tmp_path / "disk", "1m") as disk:
        out = disk / "out"
        out.mkdir()
        (out / DB_NAME).write_bytes((finished / DB_NAME).read_bytes())
        free = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize
        (disk / "filler").write_bytes(b"\0" * max(0, free - 48 * 1024))
        (tmp_path / "s.yaml").write_text("name: s\ncells: [gru, lstm]\nseeds: [0, 1, 2]\ndata: {num_strings: 100}\n"
                                         "model: {embedding_dim: 4, hidden_sizes: [4]}\ntraining: {epochs: 1}\n")
        study = ["run", str(tmp_path / "s.yaml"), "--workers", "1"]
        code = main([*study, "--out", str(out)])
        err = capsys.readouterr().err
        assert code in (2, 3) and "Traceback" not in err, err
        line, = err.strip().splitlines()
        assert ("disk is full" in line or "No space left" in line) if code == 2 else "failed" in line
        with Store(out, readonly=True) as store:
            store.quick_check()
            runs = store.runs()
        assert (runs.loc[runs["study"] == "train", "status"] == "done").sum() == 2  # nothing lost
        (disk / "filler").unlink()
        assert main([*study, "--out", str(out)]) == 0, capsys.readouterr().err
