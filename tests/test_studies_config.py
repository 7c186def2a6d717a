import pytest

from sparsernn.errors import InputError
from sparsernn.studies import PRESETS, StudyConfig, apply_overrides, expand, load_study, preset, study_from_dict


def write(tmp_path, text):
    path = tmp_path / "study.yaml"
    path.write_text(text)
    return path


def test_yaml_study_round_trips(tmp_path):
    config = StudyConfig(name="demo", seeds=[1, 2], cells=["gru"])
    assert load_study(write(tmp_path, config.to_yaml())) == config


def test_unknown_key_is_an_error_naming_its_path(tmp_path):
    path = write(tmp_path, "seeds: [0]\ntraining:\n  lr: 0.01\n  learning_rate: 0.1\n")
    with pytest.raises(InputError, match=r"training\.learning_rate: unknown key"):
        load_study(path)


def test_invalid_value_names_field_and_input(tmp_path):
    with pytest.raises(InputError, match=r"training\.lr: Input should be greater than 0 \(got -1\)"):
        load_study(write(tmp_path, "seeds: [0]\ntraining: {lr: -1}\n"))
    with pytest.raises(InputError, match=r"cells\.0: Input should be 'rnn_tanh', 'rnn_relu', 'lstm' or 'gru'"):
        study_from_dict({"seeds": [0], "cells": ["transformer"]})
    with pytest.raises(InputError, match=r"model\.hidden_sizes: .*positive"):
        study_from_dict({"seeds": [0], "model": {"hidden_sizes": [50, 0]}})


def test_seeds_are_required():
    with pytest.raises(InputError, match="seeds: required but missing"):
        study_from_dict({"cells": ["lstm"]})


def test_yaml_is_safe_loaded(tmp_path):
    path = write(tmp_path, "seeds: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(InputError, match="not valid YAML"):
        load_study(path)


def test_unreadable_config_files(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        load_study(tmp_path / "missing.yaml")
    with pytest.raises(InputError, match="expected a mapping"):
        load_study(write(tmp_path, "- a\n- b\n"))
    with pytest.raises(InputError, match="max_length"):
        study_from_dict({"seeds": [0], "data": {"min_length": 20, "max_length": 10}})


def test_expand_makes_one_trial_per_cell_and_seed_with_stable_ids():
    config = StudyConfig(name="s", seeds=[0, 1], cells=["lstm", "gru"])
    trials = expand(config)
    assert [(t.config["cell"], t.seed) for t in trials] == [("lstm", 0), ("lstm", 1), ("gru", 0), ("gru", 1)]
    assert len({t.id for t in trials}) == 4
    assert [t.id for t in expand(StudyConfig(name="s", seeds=[0, 1], cells=["lstm", "gru"]))] == [t.id for t in trials]
    changed = expand(StudyConfig(name="s", seeds=[0], cells=["lstm"], training={"lr": 0.01}))
    assert changed[0].id != trials[0].id


def test_presets_are_valid_and_quick_trains_every_cell():
    from sparsernn.studies import preset_studies

    for name in PRESETS:
        studies = preset_studies(name)
        assert [s.name for s in studies] == ([name] if len(studies) == 1 else [f"{name}-{s.kind}" for s in studies])
    quick = preset_studies("quick")
    assert [s.kind for s in quick] == ["pruning", "structure", "compare", "prune_structure"]
    assert all(s.cells == ["rnn_tanh", "rnn_relu", "lstm", "gru"] for s in quick[:2])
    with pytest.raises(InputError, match="Unknown preset 'nope'"):
        preset("nope")
    with pytest.raises(InputError, match="holds 4 studies"):
        preset("quick")


def test_a_config_file_may_hold_several_studies(tmp_path):
    from sparsernn.studies import apply_overrides_to_all, load_studies

    path = tmp_path / "two.yaml"
    path.write_text("name: a\nkind: pruning\nseeds: [0]\n---\nname: b\nkind: structure\nseeds: [1]\n")
    a, b = load_studies(path)
    assert (a.name, a.kind, b.name, b.kind, b.seeds) == ("a", "pruning", "b", "structure", [1])
    with pytest.raises(InputError, match="holds 2 studies; expected one"):
        load_study(path)
    a2, b2 = apply_overrides_to_all([a, b], ["training.epochs=2", "pruning.sparsities=[0.3]", "structure.graphs=5"])
    assert (a2.training.epochs, b2.training.epochs) == (2, 2)
    assert a2.pruning.sparsities == [0.3] and b2.structure.graphs == 5 and a2.structure is None
    with pytest.raises(InputError, match="no study here is of kind 'structure'"):
        apply_overrides_to_all([a, a.model_copy(update={"name": "c"})], ["structure.graphs=5"])
    path.write_text("name: a\nseeds: [0]\n---\nname: a\nseeds: [1]\n")
    with pytest.raises(InputError, match="'a' is used more than once"):
        load_studies(path)
    path.write_text("name: a\nseeds: [0]\n---\nname: b\nseedz: [1]\n")
    with pytest.raises(InputError, match=r"\(study 2\).*seedz"):
        load_studies(path)


def test_graph_file_paths_are_read_from_the_config_files_directory(tmp_path, monkeypatch):
    (tmp_path / "configs").mkdir()
    path = tmp_path / "configs" / "study.yaml"
    path.write_text("kind: structure\nseeds: [0]\n"
                    f"structure: {{files: [g.json, ../graphs/h.graphml, {tmp_path / 'abs.json'}]}}\n")
    monkeypatch.chdir(tmp_path / "configs")
    config = load_study("study.yaml")
    assert config.structure.files == [str(tmp_path / "configs" / "g.json"), str(tmp_path / "graphs" / "h.graphml"),
                                      str(tmp_path / "abs.json")]
    assert load_study(write(tmp_path, config.to_yaml())) == config  # absolute now: loads back the same anywhere
    # given with --set, a path is the user's, read from the current directory when the study runs
    overridden = apply_overrides(config, ["structure.files=[here.json]"])
    assert overridden.structure.files == ["here.json"]
    with pytest.raises(InputError, match=r"structure.files: '[^']*/a.json' is listed twice"):
        load_study(write(tmp_path, "kind: structure\nseeds: [0]\nstructure: {files: [a.json, ./a.json]}\n"))


def test_old_config_names_still_work_with_a_warning():
    """``pruning.amounts`` is the old name of ``pruning.sparsities``; the trials are the same."""
    new = StudyConfig(name="s", kind="pruning", seeds=[0], pruning={"sparsities": [0.5]})
    with pytest.warns(FutureWarning, match="pruning.amounts is now called pruning.sparsities"):
        old = StudyConfig(name="s", kind="pruning", seeds=[0], pruning={"amounts": [0.5]})
    assert old == new and [t.id for t in expand(old)] == [t.id for t in expand(new)]
    with pytest.raises(InputError, match="not amounts"):
        study_from_dict({"kind": "pruning", "seeds": [0], "pruning": {"amounts": [0.5], "sparsities": [0.5]}})


def test_a_message_that_says_the_value_does_not_say_it_twice():
    from sparsernn.studies import preset_studies

    with pytest.raises(InputError) as info:
        apply_overrides(preset_studies("quick")[0], ["pruning.thresholds=[-1]"])
    assert str(info.value).count("got ") == 1 and "got [-1.0]" in str(info.value)
    with pytest.raises(InputError, match=r"greater than 0 \(got -1\)"):
        apply_overrides(preset_studies("quick")[0], ["training.lr=-1"])
