"""Structure studies: the same graphs for every cell, properties of the DAG actually trained."""

import json

import networkx as nx
import pytest

from sparsernn.errors import InputError
from sparsernn.graphs import graph_from_json, graph_properties, read_graph, to_dag, write_graph
from sparsernn.store import Store
from sparsernn.studies import StudyConfig, expand, load_study, preset, run_study, study_from_dict
from sparsernn.studies.kinds.structure import check_structure, trial_graph

TINY = dict(data={"num_strings": 200}, model={"embedding_dim": 4}, training={"epochs": 1})


def test_expansion_and_shared_graphs():
    config = StudyConfig(name="s", kind="structure", seeds=[0, 1], cells=["gru", "lstm"], **TINY,
                         structure={"graphs": 3, "generators": ["barabasi_albert", "watts_strogatz"]})
    trials = expand(config)
    assert len(trials) == 2 * 2 * 3 * 2 and len({t.id for t in trials}) == len(trials)
    by_cell = {}
    for t in trials:
        by_cell.setdefault(t.config["cell"], []).append(t.config["graph"])
    assert by_cell["gru"] == by_cell["lstm"]  # the same graph set for every cell


def test_trial_graphs_follow_the_thesis_rules():
    spec = dict(generator="barabasi_albert", graph_seed=4, sizes=[10, 50], erdos_renyi_p=0.1, orientation="index",
                recurrence="layer", readout="sinks")
    dag = trial_graph(spec)
    n = dag.number_of_nodes()
    assert nx.is_directed_acyclic_graph(dag) and 10 <= n <= 50
    assert dag.number_of_edges() == (n // 10) * (n - n // 10)
    assert all(u < v for u, v in dag.edges())
    assert nx.utils.edges_equal(trial_graph(spec).edges(), dag.edges())  # deterministic


@pytest.mark.slow
def test_a_run_stores_the_trained_dag_and_its_properties(tmp_path):
    config = StudyConfig(name="s", kind="structure", seeds=[0], cells=["gru", "rnn_tanh"], **TINY,
                         structure={"graphs": 2, "generators": ["watts_strogatz", "erdos_renyi"],
                                    "erdos_renyi_p": 0.2})
    runs = run_study(config, tmp_path)
    assert (runs["status"] == "done").all() and len(runs) == 8
    with Store(tmp_path, create=False) as store:
        artefacts = store.artefacts()
    for run in runs.itertuples():
        spec = json.loads(run.config)["graph"]
        mine = artefacts[artefacts["run_id"] == run.run_id].set_index("kind")["data"]
        trained = graph_from_json(mine["graph"])
        assert set(trained.edges()) == set(trial_graph(spec).edges())
        assert mine["properties"] == pytest.approx(graph_properties(trial_graph(spec)))


def test_bad_structure_sections():
    with pytest.raises(InputError, match="structure.generators"):
        study_from_dict({"kind": "structure", "seeds": [0], "structure": {"generators": ["lattice"]}})
    with pytest.raises(InputError, match="sizes"):
        study_from_dict({"kind": "structure", "seeds": [0], "structure": {"sizes": [20, 10]}})
    with pytest.raises(InputError, match="needs kind: structure"):
        study_from_dict({"kind": "dense", "seeds": [0], "structure": {}})


def test_generator_trial_ids_are_unchanged():
    # Computed before graph files existed: results databases key their runs by these ids.
    config = StudyConfig(name="pin", kind="structure", seeds=[3], cells=["gru"], data={"num_strings": 200},
                         training={"epochs": 1}, structure={"graphs": 2, "generators": ["erdos_renyi"]})
    assert [t.id for t in expand(config)] == ["d9d67d86c58e8b36", "8e39cb06937b15dd"]
    from sparsernn.studies.presets import PRESETS

    thesis = PRESETS["thesis-structure"]
    alone = study_from_dict({**thesis, "structure": {**thesis["structure"], "pack": 1}})
    trials = expand(alone)
    # the thesis preset's data (its negatives) and batch size changed with the BA generator;
    # these pin the preset's ids since then
    assert (len(trials), trials[0].id, trials[-1].id) == (800, "9b38ea89a5658333", "f96ba820721c2ee7")
    packed = expand(preset("thesis-structure"))  # pack: 100 is part of a trial
    assert packed[0].config["graph"]["pack"] == 100 and not {t.id for t in packed} & {t.id for t in trials}


# A GraphML file (undirected, named vertices) and an edge-list JSON file (directed, acyclic).
GRAPHML = nx.Graph([("a", "b"), ("b", "c"), ("a", "c"), ("c", "d"), ("b", "e")])
DIRECTED = {"directed": True, "nodes": [0, 1, 2, 3], "edges": [[0, 2], [1, 2], [2, 3], [0, 3]]}


def graph_files(directory):
    directory.mkdir(parents=True, exist_ok=True)
    write_graph(GRAPHML, directory / "web.graphml")
    (directory / "chain.json").write_text(json.dumps(DIRECTED))
    return directory / "web.graphml", directory / "chain.json"


def file_study(files, **structure):
    return study_from_dict({"name": "f", "kind": "structure", "seeds": [0], "cells": ["rnn_tanh"], **TINY,
                            "structure": {"generators": [], "files": [str(f) for f in files], **structure}})


def test_a_yaml_study_over_graph_files_runs_and_stores_each_files_dag(tmp_path, monkeypatch):
    graph_files(tmp_path / "study")
    path = tmp_path / "study" / "s.yaml"
    path.write_text("name: f\nkind: structure\ncells: [rnn_tanh]\nseeds: [0]\ndata: {num_strings: 200}\n"
                    "model: {embedding_dim: 4}\ntraining: {epochs: 1}\n"
                    "structure: {generators: [], files: [web.graphml, chain.json]}\n")
    monkeypatch.chdir(tmp_path)  # the files are next to the config, not here
    runs = run_study(load_study(path), tmp_path / "out")
    assert (runs["status"] == "done").all() and len(runs) == 2
    with Store(tmp_path / "out", create=False) as store:
        stored = store.artefacts("graph").set_index("run_id")["data"]
    trained = {}
    for run in runs.itertuples():
        name = json.loads(run.config)["graph"]["name"]
        trained[name] = graph_from_json(stored[run.run_id])
        expected = to_dag(read_graph(tmp_path / "study" / name), "index")
        assert sorted(trained[name].nodes) == sorted(expected.nodes)
        assert set(trained[name].edges) == set(expected.edges)
    assert list(trained) == ["web.graphml", "chain.json"]
    # by hand: a..e are vertices 0..4, each edge oriented from the lower index; the JSON keeps its own
    assert set(trained["web.graphml"].edges) == {(0, 1), (1, 2), (0, 2), (2, 3), (1, 4)}
    assert set(trained["chain.json"].edges) == {(0, 2), (1, 2), (2, 3), (0, 3)}


def test_file_trials_carry_their_graph_and_are_named_by_content(tmp_path):
    web, chain = graph_files(tmp_path / "a")
    trials = expand(file_study([web, chain], orientation="random"))
    assert [t.describe() for t in trials] == ["rnn_tanh seed=0 file=web.graphml", "rnn_tanh seed=0 file=chain.json"]
    dags = [trial_graph(t.config["graph"]) for t in trials]
    web.unlink(), chain.unlink()  # a trial runs without its file
    assert [set(trial_graph(t.config["graph"]).edges) for t in trials] == [set(d.edges) for d in dags]
    assert set(dags[1].edges) == {(0, 2), (1, 2), (2, 3), (0, 3)}  # a directed graph keeps its edges

    # the same content elsewhere (edges listed in another order) -> the same trials
    other = tmp_path / "b"
    graph_files(other)
    (other / "chain.json").write_text(json.dumps({**DIRECTED, "edges": DIRECTED["edges"][::-1]}))
    again = expand(file_study([other / "web.graphml", other / "chain.json"], orientation="random"))
    assert [t.id for t in again] == [t.id for t in trials]
    # changed content -> a new trial
    (other / "chain.json").write_text(json.dumps({**DIRECTED, "edges": DIRECTED["edges"][:-1]}))
    changed = expand(file_study([other / "web.graphml", other / "chain.json"], orientation="random"))
    assert changed[0].id == trials[0].id and changed[1].id != trials[1].id


def test_generators_and_files_together(tmp_path):
    web, _ = graph_files(tmp_path)
    config = file_study([web], generators=["erdos_renyi"], graphs=2)
    trials = expand(config)
    assert [t.describe() for t in trials] == ["rnn_tanh seed=0 erdos_renyi graph=0",
                                              "rnn_tanh seed=0 erdos_renyi graph=1", "rnn_tanh seed=0 file=web.graphml"]
    alone = file_study([], generators=["erdos_renyi"], graphs=2)
    assert [t.id for t in expand(alone)] == [t.id for t in trials[:2]]  # files do not touch generator trials


@pytest.mark.parametrize(
    "content, structure, expected",
    [
        (None, {}, "cannot read graph file"),
        ("a,b\nb,c\n", {}, "neither GraphML nor edge-list JSON"),
        ("<graphml><graph", {}, "not valid GraphML"),
        ('{"directed": false, "nodes": [], "edges": []}', {}, "empty graph"),
        ('{"directed": true, "nodes": ["x", "y", "z"], "edges": [["x", "y"], ["y", "z"], ["z", "x"]]}', {},
         "cycle x -> y -> z -> x"),
        ('{"directed": false, "nodes": [0, 1], "edges": [[0, 1], [1, 1]]}', {}, "self-loop at vertex 1"),
        ('{"directed": true, "nodes": ["s", "t", "u", "v"], "edges": [["s", "t"], ["t", "u"], ["s", "v"]]}',
         {"readout": "last_layer"}, "vertex 'v' cannot reach the last layer"),
    ],
)
def test_bad_graph_files_name_the_file_and_the_problem(tmp_path, content, structure, expected):
    path = tmp_path / "g.json"
    if content is not None:
        path.write_text(content)
    config = file_study([path], **structure)
    for call in (check_structure, expand):
        with pytest.raises(InputError, match="structure.files: .*g.json") as info:
            call(config)
        assert expected in str(info.value) and "\n" not in str(info.value)


def test_structure_needs_a_graph_source_and_distinct_files(tmp_path):
    with pytest.raises(InputError, match="structure: no graphs to train on"):
        study_from_dict({"kind": "structure", "seeds": [0], "structure": {"generators": []}})
    with pytest.raises(InputError, match="structure.files: 'g.json' is listed twice"):
        study_from_dict({"kind": "structure", "seeds": [0], "structure": {"files": ["g.json", "g.json"]}})
    web, _ = graph_files(tmp_path / "a")
    copy, _ = graph_files(tmp_path / "b")
    with pytest.raises(InputError, match="holds the same graph, under the same file name"):
        check_structure(file_study([web, copy]))


@pytest.mark.slow
def test_packed_trials_match_lone_trials_and_resume_by_whole_packs(tmp_path, monkeypatch):
    """pack: 3 trains graph seeds {0,1,2} and {3} of each generator together; every trial's
    numbers equal those of its lone run (pack: 1) to float rounding, and an unfinished
    trial of a pack reruns the whole pack but stores only itself."""
    from sparsernn import registry
    from sparsernn.studies import units

    base = dict(name="p", kind="structure", seeds=[0], cells=["lstm"], **TINY)
    graphs = {"graphs": 4, "generators": ["barabasi_albert", "watts_strogatz"]}
    packed = StudyConfig(**base, structure={**graphs, "pack": 3})
    assert [len(u) for u in units(expand(packed))] == [3, 1, 3, 1]
    assert [len(u) for u in units(expand(StudyConfig(**base, structure=graphs)))] == [1] * 8

    ran = []
    real = registry.get("structure").run_pack
    counting = lambda trials, *a, **k: ran.append(len(trials)) or real(trials, *a, **k)
    with registry.patched("structure", run_pack=counting):
        runs = run_study(packed, tmp_path / "packed")
    assert ran == [3, 3] and (runs["status"] == "done").all() and len(runs) == 8
    lone = run_study(StudyConfig(**base, structure=graphs), tmp_path / "lone")
    with Store(tmp_path / "packed", create=False) as a, Store(tmp_path / "lone", create=False) as b:
        ea, eb = a.epochs(), b.epochs()
        pa, pb = a.artefacts("properties"), b.artefacts("properties")
    key = lambda df, runs: df.merge(runs[["run_id", "config"]]).assign(
        graph=lambda d: d["config"].map(lambda c: (json.loads(c)["graph"]["generator"],
                                                  json.loads(c)["graph"]["graph_seed"])))
    ea, eb = key(ea, runs), key(eb, lone)
    metrics = ["train_loss", "train_acc", "test_loss", "test_acc", "nonzero_params"]
    merged = ea.merge(eb, on=["graph", "phase", "epoch"], suffixes=("_packed", "_lone"))
    assert len(merged) == len(ea) == len(eb) == 16
    for m in metrics:
        assert merged[f"{m}_packed"].to_numpy() == pytest.approx(merged[f"{m}_lone"].to_numpy(), abs=1e-5)
    assert sorted(map(json.dumps, pa["data"])) == sorted(map(json.dumps, pb["data"]))

    # a lost trial of the first pack: the pack runs again, only that trial is stored again
    victim = runs["run_id"][1]
    with Store(tmp_path / "packed") as store:
        before = store.epochs()
        store.finish_run(victim, "failed", error="its worker was lost")  # as a lost trial is stored
    ran.clear()
    with registry.patched("structure", run_pack=counting):
        run_study(packed, tmp_path / "packed")
    assert ran == [3]
    with Store(tmp_path / "packed", create=False) as store:
        after = store.epochs()
        assert (store.runs()["status"] == "done").all()
    columns = ["run_id", "phase", "epoch", "train_loss", "test_acc"]
    rows = lambda df: df[columns].sort_values(columns[:3]).values.tolist()
    assert rows(after) == rows(before)  # the rerun pack gives the victim the same numbers
