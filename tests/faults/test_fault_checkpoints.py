"""A base trial whose checkpoint went missing or was damaged is trained again, so its
children can run, instead of every child failing on every rerun."""

import pytest

from sparsernn.cli import main
from sparsernn.store import Store

pytestmark = pytest.mark.slow

STUDY = """name: p
kind: pruning
cells: [gru]
seeds: [0]
data: {num_strings: 200}
model: {embedding_dim: 4, hidden_sizes: [4]}
training: {epochs: 1}
pruning: {sparsities: [0.5], targets: [both], retrain_epochs: 1}
"""


def _run(tmp_path, capsys):
    code = main(["run", str(tmp_path / "study.yaml"), "--workers", "1", "--out", str(tmp_path / "out")])
    return code, capsys.readouterr()


def _break_base(tmp_path, damage):
    """Run the base only, then damage its checkpoint; return its id."""
    with Store(tmp_path / "out", readonly=True) as store:
        runs = store.runs()
    base = runs.loc[runs["kind"] == "dense", "run_id"].item()
    checkpoint = tmp_path / "out" / "checkpoints" / f"{base}.pt"
    damage(checkpoint)
    return base


@pytest.mark.parametrize("damage", [
    pytest.param(lambda path: path.unlink(), id="missing", marks=pytest.mark.fault(
        "a base checkpoint deleted after the base finished, children unfinished",
        outcome="the base trains again (a warning line), then its children run", exit=0, section="Files")),
    pytest.param(lambda path: path.write_bytes(path.read_bytes()[:100]), id="truncated", marks=pytest.mark.fault(
        "a base checkpoint truncated after the base finished, children unfinished",
        outcome="the base trains again (a warning line), then its children run", exit=0, section="Files")),
])
def test_a_base_whose_checkpoint_is_lost_trains_again(tmp_path, capsys, damage):
    (tmp_path / "study.yaml").write_text(STUDY)
    from sparsernn import registry

    def unfinished(trial, out, **callbacks):  # the children fail the first time
        raise RuntimeError("interrupted")

    with registry.patched("pruning", run=unfinished):
        assert _run(tmp_path, capsys)[0] == 3
    base = _break_base(tmp_path, damage)
    code, captured = _run(tmp_path, capsys)
    assert code == 0, captured.err
    warning, = captured.err.strip().splitlines()
    assert warning.startswith(f"sparsernn: warning: trial {base} is done but its children cannot start from it")
    with Store(tmp_path / "out", readonly=True) as store:
        assert store.runs()["status"].tolist() == ["done", "done"]
    assert (tmp_path / "out" / "checkpoints" / f"{base}.pt").stat().st_size > 1000
