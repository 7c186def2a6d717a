"""GraphRNNStack: many GraphRNNs side by side along a member axis, cost linear in their number.

A :class:`~sparsernn.nn.GraphRNNPack` holds ``G`` GraphRNNs as one network whose layer-``l``
matrices are :math:`(\\sum_g w_{g,l})^2`-sized block matrices, so its compute and optimiser
state grow quadratically with ``G``. A :class:`GraphRNNStack` keeps every member's
blocks apart instead, along a leading member axis, padded to common shapes, and
computes them with batched matrix products (:func:`~sparsernn.nn.classifier_stack.stacked_layer`,
as :class:`~sparsernn.nn.ClassifierStack` does), so its cost grows linearly with ``G``::

    tokens (B, T) ─embed[s]─▶ (G, ΣT, E_max)                                       stack layer 0
    [stack layer 0 | … | stack layer l-1] outputs (G_l, ΣT, In_l) ─(W_ih ⊙ M_ih)[s]─▶ stack layer l
    final states (G, B, ΣW) ─(W_out ⊙ M_out)[s]─▶ logits (B, G, C)

Slots. The member axis holds the members deepest first (ties in member order;
:attr:`GraphRNNStack.slots`), so the :math:`G_l` members that have a layer ``l`` are the
first :math:`G_l` slots and stack layer ``l`` holds and computes only those: a shallow
member costs nothing in the deep layers.

Layout. With :math:`w_{s,l}` the width of layer ``l`` of the member in slot ``s``, stack
layer ``l`` has width :math:`W_l = \\max_s w_{s,l}` and its outputs sit at columns
:math:`o_l = \\sum_{m<l} W_m` onwards of the concatenated states. Unit ``j`` of the
member's layer ``l`` is row :math:`k W_l + j` of gate block ``k`` and column
:math:`o_l + j` of the states; its embedding is columns :math:`0..E_s-1` of
:math:`E_\\max = \\max_s E_s`. Every tensor of every member (weights, biases, and its
own masks) is copied to exactly these places of entry ``s``: layer ``l`` holds
``(G_l, k·W_l, In_l)`` and ``(G_l, k·W_l, W_l)`` weights and masks (:math:`In_0 = E_\\max`,
:math:`In_l = o_l`) and ``(G_l, k·W_l)`` biases, the readout a ``(G, C, ΣW)`` weight and
mask and a ``(G, C)`` bias, the embedding ``(G, V, E_max)``. Every other entry is padding:
0, with a False mask where there is a mask.

Padding is inert. A padded unit has zero weights and biases, so all of its gate
pre-activations are 0 (while its inputs are finite): a plain RNN gives
:math:`\\tanh 0 = \\operatorname{relu} 0 = 0`; an LSTM :math:`i = f = o = \\tfrac12`,
:math:`g = \\tanh 0 = 0`, so :math:`c_t = \\tfrac12 c_{t-1} + \\tfrac12 \\cdot 0 = 0` and
:math:`h_t = \\tfrac12 \\tanh 0 = 0`; a GRU :math:`r = z = \\tfrac12`,
:math:`n = \\tanh(0 + r \\cdot 0) = 0`, :math:`h_t = \\tfrac12 \\cdot 0 + \\tfrac12 h_{t-1} = 0`.
Its column is masked out of every real unit's rows and of the readout, so it never
reaches a real unit, and every padded entry gets zero gradient (the loss does not depend
on what a padded unit outputs), so an optimiser step leaves it 0. Member ``g``'s logits
are its own up to float rounding (the cells are :func:`stacked_layer`'s, about 1e-7),
and members never meet: a non-finite member spoils only itself.

Without gradients (evaluation) every member runs on its own entries of the stack with
torch's fused kernels (:func:`torch.func.functional_call` on a GraphRNN of its hparams),
so its logits are exactly its own; on one CPU thread that was 1.4-2.4 times faster
than the stacked path (64 members, batches of 512-1024).

Members are *copied* in; :meth:`GraphRNNStack.member` copies one back out into a fresh
GraphRNN (bit-identical to the member while nothing was trained).
:attr:`GraphRNNStack.owners` maps every parameter entry to its member (``-1``: padding),
so :func:`sparsernn.train.fit_pack` trains a stack as it trains a GraphRNNPack: every
member as :func:`~sparsernn.train.fit` would train it alone.

Examples
--------
>>> import networkx as nx, torch
>>> _ = torch.manual_seed(0)
>>> a = GraphRNN(nx.DiGraph([(0, 1)]), "gru", vocab_size=4, embedding_dim=2)
>>> b = GraphRNN(nx.DiGraph([(0, 2), (1, 2), (2, 3)]), "gru", vocab_size=4, embedding_dim=3)
>>> stack = GraphRNNStack([a, b])
>>> stack.slots, stack.layer_widths, stack.layer_members   # a: [0] [1]; b: [0, 1] [2] [3]
([1, 0], [2, 1, 1], [2, 2, 1])
>>> stack.weight("layers.2.weight_ih_l0").shape      # (G_2, 3 gates x 1 unit, columns of layers 0, 1)
torch.Size([1, 3, 3])
>>> stack.owners["layers__0__weight_hh_l0"][1, :2]   # slot 1 (a): a's unit 0, a padded unit (gate r)
tensor([[ 0, -1],
        [-1, -1]])
>>> x, n = torch.tensor([[1, 2, 3], [3, 1, 0]]), torch.tensor([3, 2])
>>> logits = stack(x, n)                             # (B, G, C), members in member order
>>> logits.shape
torch.Size([2, 2, 2])
>>> torch.allclose(logits[:, 1], b(x, n), atol=1e-6)
True
>>> all(torch.equal(p, q) for p, q in zip(stack.member(0).state_dict().values(), a.state_dict().values()))
True
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import accumulate
from typing import NamedTuple

import torch
from torch import Tensor, nn

from ..errors import InputError
from .classifier import check_batch
from .classifier_stack import _key, _unpack_steps, pack_sorted, stacked_layer, unsort
from .graph_pack import check_members
from .graph_rnn import GATES, GraphRNN
from .weights import ParameterCount

__all__ = ["GraphRNNStack"]

_WEIGHTS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")  # a layer's parameters, as stacked_layer takes them


def _span(start: int, size: int) -> Tensor:
    return torch.arange(start, start + size)


class _Layout(NamedTuple):
    """Where the members' units sit in the stack (G members in slot order, L stack layers)."""

    depths: list[int]  # layers of the member in slot s, non-increasing
    widths: list[list[int]]  # (G, L): w_{s,l}, 0 past the depth
    layer_widths: list[int]  # W_l = max_s w_{s,l}
    layer_starts: list[int]  # o_l = Σ_{m<l} W_m, first column of stack layer l in the states
    layer_members: list[int]  # G_l: how many slots (the first ones) have a layer l
    embedding_dims: list[int]  # E_s

    @classmethod
    def of(cls, members: Sequence[GraphRNN]) -> _Layout:
        """The layout of ``members``, already in slot order (deepest first)."""
        depths = [len(m.layer_vertices) for m in members]
        widths = [[len(m.layer_vertices[l]) if l < d else 0 for l in range(max(depths))]
                  for m, d in zip(members, depths)]
        layer_widths = [max(column) for column in zip(*widths)]
        return cls(depths, widths, layer_widths, [0, *accumulate(layer_widths)][:-1],
                   [sum(d > l for d in depths) for l in range(max(depths))],
                   [m.hparams["embedding_dim"] for m in members])

    def shapes(self, cell: str, vocab_size: int | None, num_classes: int,
               input_features: int | None = None) -> dict[str, tuple[int, ...]]:
        """Shape of every stacked tensor, by the members' state_dict key (slots leading)."""
        G, k, E = len(self.depths), GATES[cell], max(self.embedding_dims)
        if vocab_size is not None:
            shapes = {"embed.weight": (G, vocab_size, E)}
        else:  # a linear input layer, stored as nn.Linear stores it
            shapes = {"embed.weight": (G, E, input_features), "embed.bias": (G, E)}
        for l, (width, n) in enumerate(zip(self.layer_widths, self.layer_members)):
            n_in = max(self.embedding_dims) if l == 0 else self.layer_starts[l]
            for kind, cols in (("ih", n_in), ("hh", width)):
                shapes[f"layers.{l}.weight_{kind}_l0"] = shapes[f"layers.{l}.mask_{kind}_l0"] = (n, k * width, cols)
                shapes[f"layers.{l}.bias_{kind}_l0"] = (n, k * width)
        shapes["readout.weight"] = shapes["readout.mask"] = (G, num_classes, sum(self.layer_widths))
        shapes["readout.bias"] = (G, num_classes)
        return shapes

    def places(self, s: int, cell: str, vocab_size: int | None, num_classes: int,
               input_features: int | None = None) -> dict[str, tuple]:
        """Where each tensor of the member in slot ``s`` goes: state_dict key -> index into the stacked tensor."""
        k, widths = GATES[cell], self.widths[s]
        columns = torch.cat([_span(self.layer_starts[l], widths[l]) for l in range(self.depths[s])])  # its states
        embedding_columns = torch.arange(self.embedding_dims[s])
        if vocab_size is not None:
            places = {"embed.weight": (s, torch.arange(vocab_size)[:, None], embedding_columns)}
        else:
            places = {"embed.weight": (s, embedding_columns[:, None], torch.arange(input_features)),
                      "embed.bias": (s, embedding_columns)}
        for l in range(self.depths[s]):
            rows = torch.cat([_span(gate * self.layer_widths[l], widths[l]) for gate in range(k)])  # torch's blocks
            inputs = embedding_columns if l == 0 else columns[: sum(widths[:l])]
            for kind, cols in (("ih", inputs), ("hh", torch.arange(widths[l]))):
                places[f"layers.{l}.weight_{kind}_l0"] = places[f"layers.{l}.mask_{kind}_l0"] = (s, rows[:, None], cols)
                places[f"layers.{l}.bias_{kind}_l0"] = (s, rows)
        outputs = torch.arange(num_classes)
        places["readout.weight"] = places["readout.mask"] = (s, outputs[:, None], columns)
        places["readout.bias"] = (s, outputs)
        return places


class GraphRNNStack(nn.Module):
    """Several GraphRNNs (same cell, vocabulary or input width, classes and readout) stacked
    along a member axis. Members may read tokens or real vectors (a linear input layer,
    stacked as ``(G, E_max, F)`` weights and ``(G, E_max)`` biases) and read out the last
    step or every step (logits ``(B, T, G, C)``).

    Parameters
    ----------
    members : sequence of GraphRNN
        At least one; depths, widths, embedding dims, recurrence and readout rules may
        differ. Their parameters and masks are copied; the members themselves are left
        untouched and not referenced afterwards.

    Attributes
    ----------
    num_members : int
    cell, vocab_size, num_classes
        The members' common settings.
    slots : list of int
        The member in each slot of the member axis: deepest first, ties in member order.
    layer_widths : list of int
        :math:`W_l`, the width of every stack layer (the widest member's layer ``l``).
    layer_members : list of int
        :math:`G_l`, the number of members with a layer ``l``: the leading size of stack
        layer ``l``'s tensors (they hold slots ``0..G_l-1``).
    owners : dict[str, LongTensor]
        For every parameter name (``named_parameters``: a member's state_dict key with
        ``.`` spelled ``__``), a tensor of the parameter's shape holding the member that
        owns each entry, ``-1`` for padding (0, masked out, zero gradient). Read-only.
    """

    def __init__(self, members: Sequence[GraphRNN]) -> None:
        super().__init__()
        members, hparams = check_members(members, "GraphRNNStack", steps_and_vectors=True)
        self.cell, self.vocab_size, self.num_classes = (hparams[0][k] for k in ("cell", "vocab_size", "num_classes"))
        self.input_features = hparams[0].get("input_features")
        self.per_step = hparams[0].get("per_step", False)
        self.num_members = G = len(members)
        self._member_hparams = hparams
        self.slots = sorted(range(G), key=lambda g: -len(members[g].layer_vertices))  # stable: ties in member order
        self._slot_of = torch.empty(G, dtype=torch.long)
        self._slot_of[self.slots] = torch.arange(G)  # member g's logits are the slot's: (G,) gather
        layout = _Layout.of([members[g] for g in self.slots])
        self.layer_widths, self.layer_members = list(layout.layer_widths), list(layout.layer_members)
        reference = members[0].readout.weight
        shapes = layout.shapes(self.cell, self.vocab_size, self.num_classes, self.input_features)
        self._names = [name for name in shapes if ".mask" not in name]  # parameters, in a GraphRNN's order
        self._masks = {name: name.replace(".weight", ".mask") for name in self._names
                       if "weight_" in name or name == "readout.weight"}  # masked weight -> its mask
        for name, shape in shapes.items():
            if name in self._names:
                self.register_parameter(_key(name), nn.Parameter(torch.zeros(shape, dtype=reference.dtype,
                                                                             device=reference.device)))
            else:
                self.register_buffer(_key(name), torch.zeros(shape, dtype=torch.bool, device=reference.device))
        self.owners = {_key(name): torch.full(shapes[name], -1, dtype=torch.long) for name in self._names}
        self._places = [layout.places(int(self._slot_of[g]), self.cell, self.vocab_size, self.num_classes,
                                      self.input_features) for g in range(G)]  # by member
        with torch.no_grad():
            for g, (member, places) in enumerate(zip(members, self._places)):
                state = member.state_dict()
                if set(state) != set(places):
                    raise InputError(f"GraphRNNStack cannot place member {g}'s tensors "
                                     f"{sorted(set(state) ^ set(places))}; is it a plain GraphRNN?")
                for name, place in places.items():
                    getattr(self, _key(name))[place] = state[name].to(reference.device)
                    if name in self._names:
                        self.owners[_key(name)][place] = g
        self._templates: list[GraphRNN | None] = [None] * G  # each member's function, for evaluation

    @property
    def member_hparams(self) -> list[dict]:
        """Each member's :attr:`GraphRNN.hparams`, in member order."""
        return [dict(h) for h in self._member_hparams]

    def weight(self, name: str) -> Tensor:
        """The stacked parameter of the members' state_dict key ``name`` (slots leading), as
        used: ``weight * mask`` for a masked weight."""
        value = getattr(self, _key(name))
        return value * getattr(self, _key(self._masks[name])) if name in self._masks else value

    def forward(self, inputs: Tensor, lengths: Tensor) -> Tensor:
        """Logits (B, num_members, num_classes): member g's at ``[:, g]``; for members that read
        out every step, (B, T, num_members, num_classes), zero at padded steps."""
        lengths = check_batch(inputs, lengths, vocab_size=self.vocab_size, input_features=self.input_features)
        if not torch.is_grad_enabled():  # evaluation: every member exactly as it computes alone
            return torch.stack([self._own(g, inputs, lengths) for g in range(self.num_members)],
                               dim=2 if self.per_step else 1)
        packed, active, order = pack_sorted(inputs, lengths)  # (ΣT,) or (ΣT, F) time-major, batch sizes, order
        G, B = self.num_members, len(lengths)
        if self.vocab_size is not None:
            embed = self.embed__weight  # (G, V, E_max)
            embed = torch.cat([embed[:, :1].detach(), embed[:, 1:]], dim=1)  # padding id 0: no gradient
            embedded = embed[:, packed]  # (G, ΣT, E_max)
        else:  # a linear input layer
            embedded = torch.baddbmm(self.embed__bias[:, None], packed.expand(G, -1, -1),
                                     self.embed__weight.transpose(1, 2))  # (G, ΣT, E_max)
        outputs, finals = [], []
        for l, n in enumerate(self.layer_members):  # slots 0..n-1 have a layer l
            x = embedded if l == 0 else torch.cat([out[:n] for out in outputs], dim=2)  # (n, ΣT, In_l)
            out, h = stacked_layer(self.cell, x, active, *(self.weight(f"layers.{l}.{w}_l0") for w in _WEIGHTS))
            outputs.append(out)  # (n, ΣT, W_l)
            finals.append(torch.cat([h, h.new_zeros(G - n, B, h.shape[2])]) if n < G else h)  # (G, B, W_l), sorted
        w, b = self.weight("readout.weight"), self.weight("readout.bias")  # (G, C, ΣW), (G, C)
        slots = self._slot_of.to(w.device)
        if self.per_step:
            states = torch.cat([torch.cat([out, out.new_zeros(G - len(out), *out.shape[1:])]) for out in outputs],
                               dim=2)  # (G, ΣT, ΣW), slots, packed
            steps = torch.baddbmm(b[:, None], states, w.transpose(1, 2))  # (G, ΣT, C)
            return _unpack_steps(steps[slots], active, order, inputs.shape[1])  # (B, T, G, C), members
        logits = torch.baddbmm(b[:, None], torch.cat(finals, dim=2), w.transpose(1, 2))  # (G, B, C), slots, sorted
        return unsort(logits[slots], order)  # (B, G, C), members, the caller's order

    def _own(self, g: int, inputs: Tensor, lengths: Tensor) -> Tensor:
        """Member ``g``'s logits (B, C) computed by a GraphRNN of its hparams (torch's fused
        kernels) on copies of its entries (:func:`torch.func.functional_call`)."""
        if self._templates[g] is None:
            with torch.device("meta"):
                self._templates[g] = GraphRNN.from_hparams(self._member_hparams[g]).train(False)
        tensors = {name: getattr(self, _key(name))[place] for name, place in self._places[g].items()}
        return torch.func.functional_call(self._templates[g], tensors, (inputs, lengths))

    def member(self, index: int) -> GraphRNN:
        """A fresh GraphRNN (``GraphRNN.from_hparams``) holding member ``index``'s current parameters and masks."""
        if not isinstance(index, int) or not 0 <= index < self.num_members:
            raise InputError(f"The 'index' parameter of GraphRNNStack.member must be an int in "
                             f"[0, {self.num_members - 1}]; got {index!r}.")
        reference = self.readout__weight
        with torch.device("meta"):  # every entry is loaded below; no initialisation, no RNG draws
            model = GraphRNN.from_hparams(self._member_hparams[index])
        model.to_empty(device=reference.device)
        model.to(reference.dtype)
        with torch.no_grad():
            model.load_state_dict({name: getattr(self, _key(name))[place]
                                   for name, place in self._places[index].items()})
        return model.train(self.training)

    def unpack(self) -> list[GraphRNN]:
        """Every member as a fresh GraphRNN holding the stack's current parameters (see :meth:`member`)."""
        return [self.member(g) for g in range(self.num_members)]

    @torch.no_grad()
    def parameter_counts(self) -> list[ParameterCount]:
        """:func:`~sparsernn.nn.count_parameters` of every member, read off the stack without unpacking."""
        G = self.num_members
        nonzero = torch.zeros(G + 1, dtype=torch.long)
        total = torch.zeros(G + 1, dtype=torch.long)
        for name in self._names:
            owner = self.owners[_key(name)].flatten()
            owner = torch.where(owner < 0, G, owner)  # padding counted apart, in bin G
            total += torch.bincount(owner, minlength=G + 1)
            nonzero += torch.bincount(owner[self.weight(name).flatten().cpu() != 0], minlength=G + 1)
        return [ParameterCount(nonzero=int(nonzero[g]), total=int(total[g])) for g in range(G)]
