"""``sparsernn predict`` on bad input: a checkpoint that is unsafe, damaged or foreign,
strings the model cannot read, an input or output that cannot be used. Each ends with
one line and exit 2, runs no code from the file and leaves an existing output alone."""

import pickle

import pytest
import torch

from sparsernn.checkpoint import save_checkpoint
from sparsernn.cli import main
from sparsernn.data import Vocabulary
from sparsernn.nn import SequenceClassifier

SECTION = "Bad input"
VOCAB = Vocabulary.from_strings(["BTXSE", "BPVVE"])


class Evil:
    """Unpickling it creates the file ``path`` (a sentinel)."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return exec, (f"open({self.path!r}, 'w').close()",)


def predict(capfd, tmp_path, checkpoint, text="BTXSE\nBPVVE\n", *args, name="new.txt") -> tuple[int, str]:
    (tmp_path / name).write_bytes(text if isinstance(text, bytes) else text.encode())
    (tmp_path / "out.csv").write_text("kept\n")
    code = main(["predict", str(checkpoint), "--input", str(tmp_path / name), "--output", str(tmp_path / "out.csv"),
                 *args])
    err = capfd.readouterr().err
    if code == 2:
        assert err.count("\n") == 1 and err.startswith("sparsernn: error: ")
        assert (tmp_path / "out.csv").read_text() == "kept\n"
    return code, err


@pytest.fixture
def model(tmp_path):
    torch.manual_seed(0)
    return save_checkpoint(tmp_path / "model.pt", SequenceClassifier("gru", len(VOCAB), hidden_sizes=[3]), VOCAB,
                           classes=["no", "yes"])


@pytest.mark.parametrize("container", ["pickle", "torch.save"])
@pytest.mark.fault("a checkpoint whose pickle runs code, given to 'sparsernn predict'", exit="2",
                   outcome="refused with one line, the code never runs", section=SECTION)
def test_predict_refuses_a_checkpoint_that_runs_code(tmp_path, capfd, container):
    path, sentinel = tmp_path / "evil.pt", tmp_path / "code-ran"
    payload = {"format": "sparsernn.checkpoint/2", "x": Evil(sentinel)}
    if container == "pickle":
        path.write_bytes(pickle.dumps(payload))
    else:
        torch.save(payload, path)
    code, err = predict(capfd, tmp_path, path)
    assert code == 2 and "cannot be read safely" in err and not sentinel.exists()


@pytest.mark.parametrize(("make", "expected"), [
    (lambda path: None, "does not exist"),
    (lambda path: path.mkdir(), "is a directory"),
    (lambda path: path.write_text("weights"), "cannot be read safely"),
    (lambda path: torch.save({"format": "other"}, path), "is not a sparsernn.checkpoint/2 file"),
    (lambda path: torch.save({"weights": torch.zeros(3)}, path), "is not a sparsernn.checkpoint/2 file"),
])
@pytest.mark.fault("a missing, foreign or damaged checkpoint given to 'sparsernn predict'", exit="2",
                   outcome="refused with one line naming the file", section=SECTION)
def test_predict_refuses_a_checkpoint_it_cannot_use(tmp_path, capfd, make, expected):
    path = tmp_path / "bad.pt"
    make(path)
    code, err = predict(capfd, tmp_path, path)
    assert code == 2 and expected in err and "bad.pt" in err


@pytest.mark.parametrize(("text", "args", "name", "expected"), [
    ("BTXSE\n\nBTZZE\n", [], "new.txt", "new.txt, line 3 ('BTZZE') has the symbol 'Z' at position 3"),
    (b"BTXSE\n\xff\xfe\n", [], "new.txt", "line 2: not UTF-8 text"),
    ("\n \n", [], "new.txt", "no strings to classify"),
    ("id,text\n1,BTXSE\n", [], "new.csv", "no header row with a column 'string'"),
    ("string\nBTXSE\nstring\n", [], "new.csv", "line 3: the header row again"),
    ("string\nBTXSE\n\"BT\n", [], "new.csv", "malformed CSV"),
    ("BTXSE\n", ["--batch-size", "0"], "new.txt", "--batch-size"),
])
@pytest.mark.fault("strings 'sparsernn predict' cannot read (unknown symbols, not UTF-8, empty, a bad CSV)", exit="2",
                   outcome="refused with one line naming the line; the output file untouched", section=SECTION)
def test_predict_refuses_input_it_cannot_read(tmp_path, capfd, model, text, args, name, expected):
    code, err = predict(capfd, tmp_path, model, text, *args, name=name)
    assert code == 2 and expected in err


@pytest.mark.fault("'sparsernn predict --output' into a missing directory", exit="2",
                   outcome="refused with one line before the model is read", section=SECTION)
def test_predict_refuses_an_output_it_cannot_write(tmp_path, capfd, model):
    (tmp_path / "new.txt").write_text("BTXSE\n")
    code = main(["predict", str(model), "--input", str(tmp_path / "new.txt"), "--output", str(tmp_path / "no/p.csv")])
    err = capfd.readouterr().err
    assert code == 2 and "does not exist" in err and err.count("\n") == 1 and not (tmp_path / "no").exists()


def test_unknown_symbols_read_as_unk_when_asked(tmp_path, capfd, model):
    code, _ = predict(capfd, tmp_path, model, "BTXSE\nBTZZE\n", "--unknown", "unk")
    assert code == 0 and (tmp_path / "out.csv").read_text().splitlines()[0] == "string,label,p_no,p_yes"
