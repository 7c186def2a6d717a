"""Deeply nested input -- YAML, ``--set`` values, JSON graph files -- is one line and exit
status 2, not a RecursionError traceback; nothing is written."""

import pytest

from sparsernn.cli import main

DEPTH = 100_000


def _one_error(capsys, code, tmp_path) -> str:
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err, err[-2000:]
    line, = err.strip().splitlines()
    assert not (tmp_path / "out").exists()
    return line


@pytest.mark.fault("deeply nested YAML config (100,000 levels)", outcome="one line, nothing written", exit=2,
                   section="Bad input")
def test_deeply_nested_yaml_is_one_line(tmp_path, capsys):
    (tmp_path / "deep.yaml").write_text("name: deep\nseeds: " + "[" * DEPTH + "]" * DEPTH + "\n")
    _one_error(capsys, main(["run", str(tmp_path / "deep.yaml"), "--out", str(tmp_path / "out")]), tmp_path)


@pytest.mark.fault("deeply nested --set value (100,000 levels)", outcome="one line, nothing written", exit=2,
                   section="Bad input")
def test_a_deeply_nested_override_is_one_line(tmp_path, capsys):
    code = main(["run", "--preset", "quick", "--set", "cells=" + "[" * DEPTH + "]" * DEPTH,
                 "--out", str(tmp_path / "out")])
    _one_error(capsys, code, tmp_path)


@pytest.mark.fault("deeply nested JSON graph file (100,000 levels)", outcome="one line naming the file, nothing "
                   "written", exit=2, section="Bad input")
def test_a_deeply_nested_graph_file_is_one_line(tmp_path, capsys):
    (tmp_path / "g.json").write_text('{"edges": ' + "[" * DEPTH + "]" * DEPTH + "}")
    (tmp_path / "s.yaml").write_text(f"name: s\nkind: structure\nseeds: [0]\n"
                                     f"structure: {{generators: [], files: [{tmp_path / 'g.json'}]}}\n")
    line = _one_error(capsys, main(["run", str(tmp_path / "s.yaml"), "--out", str(tmp_path / "out")]), tmp_path)
    assert "g.json" in line and "nested too deeply" in line
