import json

import networkx as nx
import pytest

from sparsernn.errors import InputError
from sparsernn.graphs import barabasi_albert, graph_from_json, graph_to_json, read_graph, to_dag, write_graph


@pytest.mark.parametrize("suffix", [".graphml", ".json"])
def test_round_trip_through_files(tmp_path, suffix):
    dag = to_dag(barabasi_albert(15, 2, seed=0))
    path = tmp_path / f"g{suffix}"
    write_graph(dag, path)
    back = read_graph(path)
    assert type(back) is nx.DiGraph
    assert sorted(back) == list(range(15))
    assert sorted(back.edges) == sorted(dag.edges)
    assert back.graph["generator"] == "barabasi_albert" and back.graph["m"] == 2


def test_json_dict_round_trip_is_json_serialisable():
    g = nx.Graph([(0, 1), (1, 2)])
    g.graph["name"] = "p3"
    d = json.loads(json.dumps(graph_to_json(g)))
    assert d == {"directed": False, "nodes": [0, 1, 2], "edges": [[0, 1], [1, 2]], "graph": {"name": "p3"}}
    back = graph_from_json(d)
    assert type(back) is nx.Graph and sorted(back.edges) == [(0, 1), (1, 2)]


def test_nodes_are_relabelled_in_sorted_order(tmp_path):
    path = tmp_path / "g.json"
    path.write_text(json.dumps({"directed": True, "nodes": ["c", "a", "b"], "edges": [["a", "c"], ["b", "c"]]}))
    g = read_graph(path)
    assert sorted(g.edges) == [(0, 2), (1, 2)]
    assert [g.nodes[i]["label"] for i in range(3)] == ["a", "b", "c"]
    # GraphML ids of digits are numbers: "10" sorts after "9"
    graphml = tmp_path / "h.graphml"
    nx.write_graphml(nx.DiGraph([(9, 10), (10, 11)]), graphml)
    h = read_graph(graphml)
    assert sorted(h.edges) == [(0, 1), (1, 2)] and h.nodes[0]["label"] == 9


@pytest.mark.parametrize("text, fragment", [
    ("just text", "is neither GraphML nor edge-list JSON"),
    ("{not json", "is not valid JSON"),
    ("<graphml><oops", "is not valid GraphML"),
    ('{"directed": true, "nodes": [0], "edges": [[0, 1]]}', "names a node that is not in 'nodes'"),
    ('{"directed": 1, "nodes": [0], "edges": []}', "'directed' must be true or false"),
    ('{"nodes": [0], "edges": []}', "must have keys 'directed', 'nodes', 'edges'"),
])
def test_bad_files_raise_one_line_naming_the_file(tmp_path, text, fragment):
    path = tmp_path / "bad.txt"
    path.write_text(text)
    with pytest.raises(InputError) as info:
        read_graph(path)
    assert fragment in str(info.value) and "bad.txt" in str(info.value)
    assert "\n" not in str(info.value)


def test_write_graph_needs_a_known_suffix(tmp_path):
    with pytest.raises(InputError, match="must end in '.graphml' or '.json'"):
        write_graph(nx.path_graph(2), tmp_path / "g.gml")
