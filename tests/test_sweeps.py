"""Sweeps over any setting: ``sweep: {key: values}`` runs the Cartesian product, each
combination with trial ids and configuration labels of its own."""

import pytest

from sparsernn.analysis import mixed_settings
from sparsernn.cli import main
from sparsernn.errors import InputError
from sparsernn.store import Store
from sparsernn.studies import StudyConfig, apply_overrides, expand, run_study

TINY = dict(data={"num_strings": 100}, model={"embedding_dim": 4, "hidden_sizes": [4]}, training={"epochs": 1})
SWEEP = {"training.lr": [0.001, 0.01], "model.hidden_sizes": [[4], [6]]}


def test_two_keys_expand_to_four_trials_with_distinct_ids_and_labels():
    study = StudyConfig(name="s", seeds=[0], cells=["gru"], **TINY, sweep=SWEEP)
    trials = expand(study)
    assert len(trials) == 4
    assert len({t.id for t in trials}) == 4 and len({t.configuration for t in trials}) == 4
    settings = [(t.spec.training.lr, t.spec.model.hidden_sizes) for t in trials]
    assert settings == [(0.001, [4]), (0.001, [6]), (0.01, [4]), (0.01, [6])]
    assert trials[3].describe() == "gru seed=0 training.lr=0.01 model.hidden_sizes=[6]"
    # a study without a sweep keeps its ids: the same point, unswept, is another trial
    alone = expand(StudyConfig(name="s", seeds=[0], cells=["gru"], **{**TINY, "training": {"epochs": 1}}))
    assert alone[0].id not in {t.id for t in trials} and "sweep" not in alone[0].config


def test_nested_and_dotted_keys_are_one_sweep_and_children_follow_their_base():
    nested = StudyConfig(name="p", kind="pruning", seeds=[0, 1], cells=["gru"], **TINY,
                         pruning={"sparsities": [0.5, 0.9]}, sweep={"training": {"lr": [0.001, 0.01]}})
    assert nested.sweep == {"training.lr": [0.001, 0.01]}
    trials = expand(nested)
    assert len(trials) == 2 * 2 * (1 + 2)
    by_id = {t.id: t for t in trials}
    for child in (t for t in trials if t.parent):
        base = by_id[child.parent]
        assert base.spec.training.lr == child.spec.training.lr and base.seed == child.seed


def test_sweep_from_the_command_line_and_bad_sweeps():
    study = apply_overrides(StudyConfig(name="s", seeds=[0], **TINY), ["sweep.training.lr=[0.001, 0.01]"])
    assert study.sweep == {"training.lr": [0.001, 0.01]} and len(expand(study)) == 2 * 4
    for sweep, expected in [({"seeds": [[0], [1]]}, "seeds cannot be swept"),
                            ({"training.lr": 0.1}, "expected a non-empty list"),
                            ({"training.lrr": [1, 2]}, "training.lrr: unknown key"),
                            ({"training.lr": [0.1, -1]}, "greater than 0")]:
        with pytest.raises(ValueError, match=expected):
            StudyConfig(name="s", seeds=[0], sweep=sweep)


def test_a_list_for_a_single_setting_suggests_a_sweep(tmp_path, capsys):
    code = main(["run", "--preset", "quick", "--set", "training.lr=[0.001, 0.01]", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2 and "to run each value, sweep it: sweep.training.lr=[0.001, 0.01]" in err


@pytest.mark.slow
def test_a_swept_study_runs_and_its_summaries_keep_combinations_apart(tmp_path, capsys):
    study = StudyConfig(name="s", seeds=[0], cells=["gru"], **TINY, sweep=SWEEP)
    runs = run_study(study, tmp_path)
    assert (runs["status"] == "done").all() and runs["configuration"].nunique() == 4
    assert runs["settings"].nunique() == 1 and mixed_settings(runs) == []  # the sweep is not a mix-up
    assert main(["results", str(tmp_path)]) == 0
    assert "sparsernn: warning" not in capsys.readouterr().err
    with Store(tmp_path, readonly=True) as store:
        assert sorted(store.runs()["run_id"]) == sorted(t.id for t in expand(study))
    with pytest.raises(InputError):
        apply_overrides(study, ["sweep=3"])
