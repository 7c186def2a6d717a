"""Study kinds: trial ids stay those of stored databases, and a kind defined here (in one
place) runs end to end through the command line with the inline and the local executor."""

import importlib
import json
import shutil
import sqlite3
from pathlib import Path

import pandas as pd
import pytest
from pydantic import BaseModel, ConfigDict

from sparsernn import registry
from sparsernn.cli import main
from sparsernn.store import Store
from sparsernn.studies import (
    StudyConfig,
    Trial,
    TrialResult,
    TrialSpec,
    apply_overrides_to_all,
    expand,
    preset_studies,
    study_from_dict,
)

ROOT = Path(__file__).resolve().parents[1]
TINY = dict(data={"num_strings": 200}, model={"embedding_dim": 4, "hidden_sizes": [4]}, training={"epochs": 1})


# -- a toy kind, defined in this one place ---------------------------------------------

class ToySection(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    values: list[int] = [1, 2]


class ToySpec(TrialSpec):
    cell: str
    value: int


def expand_toy(study: StudyConfig) -> list[Trial]:
    return [Trial(study=study.name, kind="toy", spec=ToySpec(cell=cell, seed=seed, value=value))
            for cell in study.cells for value in study.section.values for seed in study.seeds]


def run_toy(trial: Trial, out, *, on_epoch=None, on_batch=None) -> TrialResult:
    """Accuracy value/10 + seed/100; writes a file next to the database, as a checkpoint would be."""
    acc = trial.spec.value / 10 + trial.seed / 100
    row = dict(phase="train", epoch=1, train_loss=1 - acc, train_acc=acc, test_loss=1 - acc, test_acc=acc,
               nonzero_params=1, total_params=1, seconds=0.0)
    if on_epoch is not None:
        on_epoch(row)
    path = Path(out) / "toy" / f"{trial.id}.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(str(acc))
    return TrialResult("done", [row], [{"kind": "toy", "name": "file", "path": f"toy/{trial.id}.txt"}])


TOY = registry.register(registry.StudyKind(
    name="toy", spec=ToySpec, run=run_toy, expand=expand_toy, section=ToySection,
    describe=lambda trial: f"toy value={trial.spec.value} seed={trial.seed}",
    columns=lambda config: {"target_sparsity": config["value"] / 10}, swept=("seed", "cell", "value"),
))


@pytest.mark.parametrize("workers", [1, pytest.param(2, marks=pytest.mark.slow)])  # 2: spawned workers
def test_a_kind_defined_in_one_place_runs_through_the_command_line(tmp_path, capsys, workers):
    config = tmp_path / "toy.yaml"
    config.write_text("name: t\nkind: toy\ncells: [lstm]\nseeds: [0, 1]\ntoy:\n  values: [3, 7]\n")
    out = tmp_path / "out"
    assert main(["run", str(config), "--out", str(out), "--workers", str(workers)]) == 0
    assert "4 trials, 0 already finished, 4 to run" in capsys.readouterr().out
    with Store(out, create=False) as store:
        runs = store.runs()
        epochs = store.epochs()
    assert runs["status"].tolist() == ["done"] * 4 and set(runs["kind"]) == {"toy"}
    assert sorted(runs["target_sparsity"]) == [0.3, 0.3, 0.7, 0.7]  # the kind's own flat column
    assert sorted(epochs["test_acc"]) == pytest.approx([0.3, 0.31, 0.7, 0.71])
    assert all((out / "toy" / f"{run_id}.txt").exists() for run_id in runs["run_id"])
    assert main(["run", str(config), "--out", str(out)]) == 0
    assert "4 trials, 4 already finished, 0 to run" in capsys.readouterr().out
    assert main(["status", str(out)]) == 0 and "toy" in capsys.readouterr().out


def test_a_kind_checks_its_own_section():
    with pytest.raises(Exception, match=r"toy\.values"):
        study_from_dict({"kind": "toy", "seeds": [0], "toy": {"values": "many"}})
    with pytest.raises(Exception, match="a 'toy' section needs kind: toy"):
        study_from_dict({"seeds": [0], "toy": {"values": [1]}})
    with pytest.raises(Exception, match="unknown study kind 'nope'; expected one of .*'toy'"):
        study_from_dict({"kind": "nope", "seeds": [0]})
    assert study_from_dict({"kind": "toy", "seeds": [0]}).section == ToySection()


# -- trial ids are pinned -----------------------------------------------------------------

# Ids of the trials below, computed by sparsernn before trial specs were typed: a spec's
# JSON must stay byte-identical, or every stored study would be run again.
PINNED = {
    "dense": [("dense", "2c9144091736d67d")],
    "pruning": [("dense", "c512454ad82a3d93"), ("pruning", "a81494be216fdc20"), ("pruning", "7c87c145a85a8d12"),
                ("pruning", "c07bf91a53b21102"), ("pruning", "4144aa565d3526f4")],
    "structure": [("structure", "33316b7edcd6e6c0"), ("structure", "56ba03105e9e7266"),
                  ("structure", "1de84d4889b26ad1"), ("structure", "f42193f006c20de5"),
                  ("structure", "1fd0a59b996c211e")],
}


def test_every_kinds_analysis_hooks_name_functions_that_exist():
    built_in = ("pruning", "structure", "compare", "prune_structure")
    hooks = [(name, getattr(registry.get(name), hook)) for name in built_in
             for hook in ("summary", "markdown_summary", "analyze") if getattr(registry.get(name), hook) is not None]
    assert {name for name, _ in hooks} == set(built_in)
    for _, hook in hooks:
        module, _, function = hook.target.partition(":")
        assert module.startswith("sparsernn.analysis.") and callable(getattr(importlib.import_module(module), function))
    with pytest.raises(ValueError, match="package.module:name"):
        registry.lazy("no_colon")


def test_trial_ids_of_every_kind_are_pinned(tmp_path):
    graph = tmp_path / "ring.json"
    graph.write_text('{"directed": false, "nodes": [0, 1, 2, "x"], "edges": [[0, 1], [1, 2], [2, "x"]]}')
    configs = {
        "dense": dict(name="pin", seeds=[3], cells=["gru"], **TINY),
        "pruning": dict(name="pin", kind="pruning", seeds=[0], cells=["lstm"], **TINY, pruning={
            "criteria": ["magnitude", "threshold"], "targets": ["ih"], "scopes": ["layer"], "sparsities": [0.5],
            "schedules": ["one_shot", "iterative", "gradual"], "thresholds": [0.1], "retrain_epochs": 5}),
        "structure": dict(name="pin", kind="structure", seeds=[1], cells=["rnn_tanh"], **TINY, structure={
            "generators": ["watts_strogatz", "erdos_renyi"], "graphs": 2, "pack": 2, "sizes": [10, 12],
            "files": [str(graph)]}),
    }
    for name, config in configs.items():
        assert [(t.kind, t.id) for t in expand(StudyConfig(**config))] == PINNED[name], name


# -- the committed databases resume with nothing to run -----------------------------------

# Each recorded run under docs/results/: its preset and the overrides of the command in its README.
PRUNE_STRUCTURE_CUTS = ["prune_structure.structure.graphs=5", "prune_structure.structure.pack=5",
                        "prune_structure.sparsities=[0.3,0.6,0.9]"]
RECORDED = {
    "thesis-pruning-grammar": ("thesis-pruning", ["seeds=[0, 1, 2]", "cells=[lstm, gru]", "data.negatives=grammar",
                                                  "data.foreign_fraction=0.5"]),
    "thesis-structure": ("thesis-structure", ["cells=[lstm, gru]", "structure.graphs=50", "structure.pack=25",
                                              "data.num_strings=5000", "training.batch_size=32"]),
    "thesis-pruning": ("thesis-pruning", ["seeds=[0, 1, 2]", "cells=[lstm, gru]"]),
    "lm-pruning": ("lm-pruning", []),
    "timeseries-compare": ("timeseries-compare", ["save_models=none"]),
    "thesis-compare": ("thesis-compare", ["data.num_strings=2000", "training.batch_size=32", "training.epochs=10",
                                          "save_models=none"]),
    "timeseries-prune-structure": ("timeseries-prune-structure", PRUNE_STRUCTURE_CUTS + ["save_models=none"]),
    "thesis-prune-structure": ("thesis-prune-structure", PRUNE_STRUCTURE_CUTS + [
        "data.num_strings=2000", "training.batch_size=32", "training.epochs=10", "save_models=none"]),
}


@pytest.mark.parametrize("name", sorted(RECORDED))
def test_committed_databases_hold_every_trial_of_their_command(name):
    preset, overrides = RECORDED[name]
    trials = [t for study in apply_overrides_to_all(preset_studies(preset), overrides) for t in expand(study)]
    with sqlite3.connect(ROOT / "docs" / "results" / name / "results.sqlite") as db:
        stored = dict(db.execute("SELECT run_id, status FROM runs"))
        configs = dict(db.execute("SELECT run_id, config FROM runs"))
    assert sorted(t.id for t in trials) == sorted(stored)
    assert all(json.loads(configs[t.id]) == t.config for t in trials)  # the stored JSON is the spec's
    readme = (ROOT / "docs" / "results" / name / "README.md").read_text()
    assert all(item.split("=")[0] in readme for item in overrides if not item.startswith("seeds"))


@pytest.mark.slow
@pytest.mark.parametrize("name", ["thesis-pruning-grammar", "thesis-structure"])
def test_finished_committed_databases_resume_with_nothing_to_run(name, tmp_path, capsys):
    shutil.copy(ROOT / "docs" / "results" / name / "results.sqlite", tmp_path / "results.sqlite")
    preset, overrides = RECORDED[name]
    args = ["run", "--preset", preset, "--out", str(tmp_path)] + [a for o in overrides for a in ("--set", o)]
    assert main(args) == 0
    assert ", 0 to run" in capsys.readouterr().out


@pytest.mark.slow
def test_the_pruning_summary_of_a_committed_database_is_unchanged(tmp_path):
    """docs/results/thesis-pruning-grammar/tables.md was written by `sparsernn results
    --summary pruning --markdown` before the study kinds moved into a registry."""
    out = tmp_path / "tables.md"
    assert main(["results", str(ROOT / "docs/results/thesis-pruning-grammar"), "--summary", "pruning",
                 "--markdown", str(out)]) == 0
    assert out.read_text() == (ROOT / "docs/results/thesis-pruning-grammar/tables.md").read_text()


@pytest.mark.slow
@pytest.mark.parametrize("name", ["timeseries-prune-structure", "thesis-prune-structure"])
def test_the_rq5_tables_are_printed_from_the_committed_databases(name, tmp_path):
    """Each run's tables.md, and docs/compare.md's rows of target both, are what the
    commands in docs/compare.md print from the committed database."""
    run = ROOT / "docs" / "results" / name
    out = tmp_path / "tables.md"
    assert main(["results", str(run), "--summary", "prune_structure", "--markdown", str(out)]) == 0
    assert out.read_text() == (run / "tables.md").read_text()
    columns = ("cell,generator,target,schedule,level,recurrent,base_acc,final_acc,gain,gain_seeds,dense_acc,"
               "dense_gap,recovered")
    assert main(["results", str(run), "--summary", "prune_structure", "--columns", columns,
                 "--markdown", str(out)]) == 0
    lines = [line for line in out.read_text().split("### ")[1].splitlines() if line.startswith("|")]
    both = "\n".join(lines[:2] + [line for line in lines[2:] if "| both |" in line])
    assert len(lines) > 2 and both in (ROOT / "docs" / "compare.md").read_text()


@pytest.mark.slow
def test_the_structure_analysis_of_a_committed_database_is_unchanged(tmp_path):
    """docs/results/thesis-structure/tables/ holds `sparsernn analyze --csv-dir` output: the
    same tables, to float rounding (numpy and scipy versions differ in the last digit)."""
    assert main(["analyze", str(ROOT / "docs/results/thesis-structure"), "--by", "dag_sources",
                 "--csv-dir", str(tmp_path)]) == 0
    committed = ROOT / "docs/results/thesis-structure/tables"
    for path in sorted(committed.glob("*.csv")):
        pd.testing.assert_frame_equal(pd.read_csv(tmp_path / path.name), pd.read_csv(path), check_exact=False,
                                      rtol=1e-9, atol=1e-12, obj=path.name)
