"""Structure studies: the same graphs for every cell, properties of the DAG actually trained."""

import json

import networkx as nx
import pytest

from sparsernn.errors import InputError
from sparsernn.graphs import graph_from_json, graph_properties
from sparsernn.studies import StudyConfig, expand, run_study, study_from_dict
from sparsernn.studies.structure import trial_graph
from sparsernn.store import Store

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
