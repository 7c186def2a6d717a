"""GraphRNN: a recurrent network whose units are the vertices of a DAG.

Every vertex of the DAG is one recurrent unit (one hidden value per unit; for LSTM and
GRU one row in every gate block). Vertices are grouped into layers by the longest path
from the sources (sources are layer 0). Layer ``l`` is one single-layer masked RNN/LSTM/
GRU whose input is the concatenation of the outputs of all earlier layers, so every DAG
edge ``u -> v`` -- also one that skips layers -- is exactly one nonzero entry of layer
``layer(v)``'s input mask, in every gate block of ``v``::

    input (B, T) ─embed─▶ (B, T, E) ─▶ layer 0 (the sources)
    [layer 0 | … | layer l-1] outputs (B, T, Σ w) ─mask_ih (edges)─▶ layer l
    final states of the readout vertices (B, n_out) ─▶ readout ─▶ logits (B, C)

Gate-aware masks: for gated cells the unit mask is tiled block-wise over the gates
(``mask.repeat(gates, 1)``), so all gates of unit ``v`` share ``v``'s connectivity.
The recurrent mask follows ``recurrence``: ``"layer"`` (dense within each layer),
``"self"`` (each unit only to itself) or ``"none"``. :func:`to_graph` reads the DAG back
from the masks: an edge exists while any gate keeps it, and edge attribute ``gates``
counts the gate blocks that do (pruning one connection in every gate at once,
``granularity="connection"`` in :mod:`sparsernn.prune`, keeps the gates in agreement).

Examples
--------
>>> import networkx as nx, torch
>>> dag = nx.DiGraph([(0, 2), (1, 2), (2, 3), (0, 3)])      # 0->3 skips a layer
>>> model = GraphRNN(dag, "lstm", vocab_size=5, embedding_dim=4)
>>> [len(layer) for layer in model.layer_vertices]
[2, 1, 1]
>>> model.layers[2].mask_ih_l0.int()     # layer 2 = vertex 3, reading [0, 1 | 2], 4 gates
tensor([[1, 0, 1],
        [1, 0, 1],
        [1, 0, 1],
        [1, 0, 1]], dtype=torch.int32)
>>> sorted(to_graph(model).edges()) == sorted(dag.edges())
True
>>> model.layers[2].mask_ih_l0[0, 0] = False   # one gate (i) of vertex 3 drops input 0
>>> to_graph(model).edges[0, 3]["gates"], to_graph(model).graph["gate_edges"]
(3, [3, 4, 4, 4])
>>> model(torch.tensor([[1, 2, 3]]), torch.tensor([3])).shape
torch.Size([1, 2])
"""

from __future__ import annotations

import networkx as nx
import torch
from torch import Tensor, nn

from ..checks import check_choice
from ..errors import InputError
from ..graphs.dag import check_dag, layers
from .classifier import CELLS, check_batch, every_step, last_step
from .masked import MaskedLinear

GATES = {"rnn_tanh": 1, "rnn_relu": 1, "lstm": 4, "gru": 3}
RECURRENCE = ("layer", "self", "none")
READOUT = ("sinks", "last_layer")


def longest_path_layers(dag: nx.DiGraph) -> list[list]:
    """The layers of :func:`sparsernn.graphs.layers` (longest path from the sources), each sorted.

    >>> longest_path_layers(nx.DiGraph([(3, 2), (0, 2), (2, 1)]))
    [[0, 3], [2], [1]]
    """
    return [sorted(layer) for layer in layers(dag)]


def layered_states(embed: nn.Module, cells: nn.ModuleList, inputs: Tensor, lengths: Tensor, *,
                   steps: bool = False) -> Tensor:
    """The final states ``(B, Σ w_l)`` of a layered network, layers side by side in order;
    with ``steps``, the states at every step instead, ``(B, T, Σ w_l)`` (garbage past each
    sequence's length).

    Layer 0 reads the embedded ``inputs``; layer ``l > 0`` reads the outputs of all
    earlier layers, concatenated (its input mask says which). Every cell is a
    single-layer batch-first torch RNN/LSTM/GRU run over the padded batch (one fused
    call per layer), and each sequence's state is read at its true last symbol
    (:func:`~sparsernn.nn.classifier.last_step`). :class:`GraphRNN` and
    :class:`~sparsernn.nn.GraphRNNPack` both compute with this.
    """
    outputs = [embed(inputs)]  # (B, T, E), then (B, T, w_l) per layer
    for cell in cells:
        data = outputs[0] if len(outputs) == 1 else torch.cat(outputs[1:], dim=2)  # (B, T, E | Σ earlier widths)
        outputs.append(cell(data)[0])
    states = torch.cat(outputs[1:], dim=2)  # (B, T, Σ w_l)
    return states if steps else last_step(states, lengths)


class GraphRNN(nn.Module):
    """A sequence classifier whose recurrent units and connections are a DAG's.

    Parameters
    ----------
    dag : networkx.DiGraph
        Acyclic; its vertices (any hashable, sorted within each layer) become the units.
    cell : {"rnn_tanh", "rnn_relu", "lstm", "gru"}
    vocab_size : int or None
        Number of token ids (0 = padding); None with ``input_features``.
    embedding_dim : int, default 50
        Width of the input embedding that feeds every source vertex (layer 0); a setting
        of its own, not tied to the number of sources.
    input_features : int, optional
        Width F of float feature inputs (B, T, F), projected to ``embedding_dim`` by a
        linear layer, instead of token ids (then ``vocab_size`` is None).
    num_classes : int, default 2
    recurrence : {"layer", "self", "none"}, default "layer"
        Hidden-to-hidden connections within each layer: all of them (the reference
        thesis's choice), each unit only to itself, or none.
    readout : {"sinks", "last_layer"}, default "sinks"
        Which vertices feed the output: every vertex without successors, or the last
        layer's. With ``"last_layer"`` every vertex must reach the last layer.
    per_step : bool, default False
        Read out every step (logits ``(B, T, C)``, zero at padded steps) instead of each
        sequence's last one.
    """

    def __init__(self, dag: nx.DiGraph, cell: str, vocab_size: int | None = None, *, embedding_dim: int = 50,
                 num_classes: int = 2, recurrence: str = "layer", readout: str = "sinks",
                 input_features: int | None = None, per_step: bool = False) -> None:
        super().__init__()
        check_dag(dag, "GraphRNN")
        check_choice(cell, "cell", "GraphRNN", sorted(CELLS))
        check_choice(recurrence, "recurrence", "GraphRNN", RECURRENCE)
        check_choice(readout, "readout", "GraphRNN", READOUT)
        self.cell, self.recurrence, self.readout_rule = cell, recurrence, readout
        self.layer_vertices = longest_path_layers(dag)
        order = [v for layer in self.layer_vertices for v in layer]  # column order of the concatenated states
        position = {v: i for i, v in enumerate(order)}
        if readout == "sinks":
            outputs = [v for v in order if dag.out_degree(v) == 0]
        else:
            outputs = list(self.layer_vertices[-1])
            reach = set(outputs).union(*(nx.ancestors(dag, v) for v in outputs))
            if len(reach) < len(order):
                dead = sorted(set(order) - reach, key=position.get)
                raise InputError(f"Vertices {dead} cannot reach the output (the last layer); "
                                 "use readout='sinks' or remove them.")
        if (vocab_size is None) == (input_features is None):
            raise InputError("GraphRNN needs exactly one of 'vocab_size' (token inputs) and 'input_features' "
                             f"(float inputs); got vocab_size={vocab_size!r}, input_features={input_features!r}.")
        self._hparams = dict(
            edges=[[u, v] for u, v in sorted(dag.edges(), key=lambda e: (position[e[0]], position[e[1]]))],
            vertices=order, cell=cell, vocab_size=vocab_size, embedding_dim=embedding_dim,
            num_classes=num_classes, recurrence=recurrence, readout=readout,
            # absent at their defaults, so older checkpoints' hparams stay valid
            **({} if input_features is None else {"input_features": input_features}),
            **({"per_step": True} if per_step else {}),
        )

        if vocab_size is not None:
            self.embed = nn.Embedding(vocab_size, embedding_dim, padding_idx=0)
        else:
            self.embed = nn.Linear(input_features, embedding_dim)
        rnn_class, extra = CELLS[cell]
        gates = GATES[cell]
        self.layers = nn.ModuleList()
        seen = 0  # number of units in earlier layers
        for index, layer in enumerate(self.layer_vertices):
            width = len(layer)
            n_in = embedding_dim if index == 0 else seen
            module = rnn_class(n_in, width, batch_first=True, **extra)
            with torch.no_grad():
                if index > 0:
                    unit_mask = torch.zeros(width, seen, dtype=torch.bool)  # (w_l, Σ earlier widths)
                    for row, v in enumerate(layer):
                        for u in dag.predecessors(v):
                            unit_mask[row, position[u]] = True
                    module.mask_ih_l0.copy_(unit_mask.repeat(gates, 1))  # block-wise over the gates
                hh = {"layer": torch.ones(width, width, dtype=torch.bool),
                      "self": torch.eye(width, dtype=torch.bool),
                      "none": torch.zeros(width, width, dtype=torch.bool)}[recurrence]
                module.mask_hh_l0.copy_(hh.repeat(gates, 1))
            self.layers.append(module)
            seen += width
        self.readout = MaskedLinear(seen, num_classes)
        with torch.no_grad():
            self.readout.mask.zero_()
            self.readout.mask[:, [position[v] for v in outputs]] = True

    @property
    def hparams(self) -> dict:
        """JSON-able constructor arguments; :meth:`from_hparams` rebuilds the architecture."""
        return {k: (list(v) if isinstance(v, list) else v) for k, v in self._hparams.items()}

    @classmethod
    def from_hparams(cls, hparams: dict) -> GraphRNN:
        dag = nx.DiGraph()
        dag.add_nodes_from(hparams["vertices"])
        dag.add_edges_from(map(tuple, hparams["edges"]))
        kwargs = {k: v for k, v in hparams.items() if k not in ("edges", "vertices", "cell", "vocab_size")}
        return cls(dag, hparams["cell"], hparams["vocab_size"], **kwargs)

    @property
    def per_step(self) -> bool:
        """True when the model reads out every step (logits ``(B, T, C)``)."""
        return self._hparams.get("per_step", False)

    def forward(self, inputs: Tensor, lengths: Tensor) -> Tensor:
        """Logits (B, num_classes) read at each sequence's true last symbol; with
        ``per_step``, (B, T, num_classes) read at every step."""
        lengths = check_batch(inputs, lengths, vocab_size=self._hparams["vocab_size"],
                              input_features=self._hparams.get("input_features"))
        if self.per_step:
            states = layered_states(self.embed, self.layers, inputs, lengths, steps=True)  # (B, T, n)
            return every_step(states, self.readout, lengths)  # (B, T, C)
        return self.readout(layered_states(self.embed, self.layers, inputs, lengths))  # (B, n) -> (B, C)


def to_graph(model: GraphRNN, *, per_gate: bool = False) -> nx.DiGraph | list[nx.DiGraph]:
    """The DAG a GraphRNN computes with, read from its input masks.

    In gate block ``g``, edge ``u -> v`` is present when the mask entry of ``v``'s row
    and ``u``'s column is True.

    With ``per_gate=False`` (the default) one graph is returned, the union over the gate
    blocks: ``u -> v`` is an edge while any gate keeps it, and its attribute ``gates``
    (an int in 1..gates) counts the gate blocks that keep it. The graph attribute
    ``gate_edges`` lists the number of edges kept by gate block 0, 1, ... (all equal
    when the blocks agree, as they do when built and after connection-level pruning;
    weight-level pruning may make them differ). Vertices and edges come in the order of
    the masks, so an unpruned model gives back its DAG with the edge order of gate 0.

    With ``per_gate=True`` one graph per gate block is returned (without attributes).

    Examples
    --------
    >>> dag = nx.DiGraph([(0, 2), (1, 2)])
    >>> model = GraphRNN(dag, "gru", vocab_size=3, embedding_dim=2)
    >>> model.layers[1].mask_ih_l0[2, 1] = False    # gate n of vertex 2 drops input 1
    >>> sorted(to_graph(model).edges(data="gates"))
    [(0, 2, 3), (1, 2, 2)]
    >>> [sorted(g.edges()) for g in to_graph(model, per_gate=True)]
    [[(0, 2), (1, 2)], [(0, 2), (1, 2)], [(0, 2)]]
    """
    gates = GATES[model.cell]
    graphs = [nx.DiGraph() for _ in range(gates)]
    union = nx.DiGraph()
    order = [v for layer in model.layer_vertices for v in layer]
    for g in (*graphs, union):
        g.add_nodes_from(order)
    for layer, vertices in zip(model.layers[1:], model.layer_vertices[1:]):
        blocks = layer.mask_ih_l0.detach().cpu().view(gates, len(vertices), -1)  # (gates, w_l, Σ earlier widths)
        for gate, block in enumerate(blocks):
            for row, col in block.nonzero().tolist():
                graphs[gate].add_edge(order[col], vertices[row])
        kept = blocks.sum(dim=0)  # (w_l, Σ earlier widths): gates keeping each connection
        for row, col in kept.nonzero().tolist():
            union.add_edge(order[col], vertices[row], gates=int(kept[row, col]))
    if per_gate:
        return graphs
    union.graph["gate_edges"] = [g.number_of_edges() for g in graphs]
    return union
