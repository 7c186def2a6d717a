"""Text that users control (paths, study names, errors) is printed as it is: never read as
console markup or emoji, and never able to end a run."""

from pathlib import Path

import pytest

from sparsernn.cli import main


@pytest.mark.fault("console markup or emoji codes in an output path (m[/b], [exp1], a:x:b)",
                   outcome="printed verbatim; the run finishes", exit=0, section="Messages")
@pytest.mark.parametrize("name", ["m[/b]", "[exp1]", "a:x:b"])
def test_paths_with_markup_or_emoji_codes_are_printed_verbatim(tmp_path, capsys, name):
    out = tmp_path / name
    code = main(["train", "--cell", "gru", "--num-strings", "100", "--hidden", "4", "--embedding", "4",
                 "--epochs", "1", "--out", str(out)])
    printed = capsys.readouterr().out
    assert code == 0 and f"results in {Path(out) / 'results.sqlite'}" in printed


@pytest.mark.fault("an error message with brackets ([enforce fail at x])", outcome="one line, brackets kept",
                   exit=2, section="Messages")
def test_an_error_with_brackets_keeps_them(tmp_path, capsys):
    bad = tmp_path / "[enforce fail at x].csv"
    bad.write_text("string,valid\nab,1\n")
    assert main(["train", "--dataset", str(bad), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "[enforce fail at x].csv" in err and len(err.strip().splitlines()) == 1
