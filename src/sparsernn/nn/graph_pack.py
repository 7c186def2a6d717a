"""GraphRNNPack: many GraphRNNs computed as one block-structured network.

A :class:`~sparsernn.nn.graph_rnn.GraphRNN` pays a fixed cost per layer and time step, so
a small one spends most of its time on overhead. The disjoint union of ``G`` of them is
again a layered network: layer ``l`` of the pack holds every member's layer-``l`` units
side by side (member order; a member with fewer layers contributes none there), each
pack layer is one masked torch cell of the members' class, and block masks keep the
members apart::

    input (B, T) ─embed─▶ (B, T, E_0 | … | E_{G-1})   member g's columns feed only g's layer 0
    [pack layer 0 | … | pack layer l-1] (ΣT, Σ w) ─mask_ih─▶ pack layer l
    final states (B, Σ w) ─readout─▶ (B, G·C) ─view─▶ logits (B, G, C)

With :math:`o_{g,l}` the offset of member ``g``'s units within pack layer ``l`` (width
:math:`W_l = \\sum_g w_{g,l}`), member ``g``'s unit ``j`` of layer ``l`` is pack unit
:math:`o_{g,l} + j`, row :math:`k W_l + o_{g,l} + j` of gate block ``k``, and column
:math:`\\sum_{m<l} W_m + o_{g,l} + j` of the concatenated states. Every weight, bias and
mask entry of a member has exactly one place in the pack; every other entry is 0 with a
False mask. So member ``g``'s units see exactly member ``g``'s edges (all gate blocks of a
unit share its connectivity, as in GraphRNN), recurrence is block-diagonal, and member
``g``'s logits read only its own readout vertices: the pack computes every member's
function, up to float rounding (its matrix products sum extra exact zeros, in another
order).

Parameters are *copied* from the members, so each keeps its own initialisation;
:meth:`GraphRNNPack.unpack` copies them back into fresh GraphRNNs (bit-identical to the
members when nothing was trained). :attr:`GraphRNNPack.owners` maps every parameter entry
to its member (``-1``: owned by none), for per-member gradient norms.

Caveat: a non-finite value of one member reaches the others through the 0 entries of the
block matrices (:math:`0 \\cdot \\infty = \\text{NaN}`); :func:`sparsernn.train.fit_pack`
isolates such a member before it spoils the rest.

Examples
--------
>>> import networkx as nx, torch
>>> _ = torch.manual_seed(0)
>>> a = GraphRNN(nx.DiGraph([(0, 1)]), "gru", vocab_size=4, embedding_dim=2)
>>> b = GraphRNN(nx.DiGraph([(0, 2), (1, 2), (2, 3)]), "gru", vocab_size=4, embedding_dim=3)
>>> pack = GraphRNNPack([a, b])
>>> [layer.hidden_size for layer in pack.layers]       # a: [0] [1]; b: [0, 1] [2] [3]
[3, 2, 1]
>>> pack.layers[1].mask_ih_l0[:2].int()    # gate r: a's 1 reads a's 0; b's 2 reads b's 0, 1
tensor([[1, 0, 0],
        [0, 1, 1]], dtype=torch.int32)
>>> pack.owners["layers.1.weight_ih_l0"][:2]
tensor([[ 0, -1, -1],
        [-1,  1,  1]])
>>> x, n = torch.tensor([[1, 2, 3]]), torch.tensor([3])
>>> logits = pack(x, n)                                  # (B, G, C)
>>> logits.shape
torch.Size([1, 2, 2])
>>> torch.allclose(logits[:, 1], b(x, n), atol=1e-6)
True
>>> all(torch.equal(p, q) for p, q in zip(pack.unpack()[0].parameters(), a.parameters()))
True
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import accumulate
from typing import NamedTuple

import torch
from torch import Tensor, nn

from ..errors import InputError
from .classifier import CELLS
from .graph_rnn import GATES, GraphRNN, layered_states
from .masked import MaskedLinear
from .weights import ParameterCount, effective_parameters

__all__ = ["GraphRNNPack"]


def _span(start: int, size: int) -> Tensor:
    return torch.arange(start, start + size)


def _starts(sizes: Sequence[int]) -> list[int]:
    """Offsets of consecutive blocks of the given sizes: ``[0, s0, s0 + s1, …]``."""
    return [0, *accumulate(sizes)][: len(sizes)]


def check_members(members: Sequence[GraphRNN], owner: str, *,
                  steps_and_vectors: bool = False) -> tuple[list[GraphRNN], list[dict]]:
    """The members as a list, and their hparams, if they are GraphRNNs that can share one
    ``owner`` (a GraphRNNPack or a GraphRNNStack): one cell, vocabulary (or input width),
    number of classes and readout (last step or every step). Per-step readout and real-valued
    inputs only where ``steps_and_vectors`` (a GraphRNNStack holds them, a GraphRNNPack not)."""
    members = list(members) if isinstance(members, Iterable) else []
    if not members:
        raise InputError(f"{owner} needs at least one GraphRNN; got none.")
    for index, member in enumerate(members):
        if not isinstance(member, GraphRNN):
            raise InputError(f"{owner} members must be GraphRNNs; member {index} is a "
                             f"{type(member).__name__}.")
    hparams = [member.hparams for member in members]
    for index, h in enumerate(hparams):
        if not steps_and_vectors and (h.get("input_features") is not None or h.get("per_step")):
            raise InputError(f"A {owner} holds GraphRNNs of token inputs with one output per sequence (a "
                             f"GraphRNNStack holds any); member {index} has "
                             f"{'float inputs' if h.get('input_features') else 'per_step=True'}.")
    for key in ("cell", "vocab_size", "num_classes", "input_features", "per_step"):
        values = {h.get(key) for h in hparams}
        if len(values) > 1:
            raise InputError(f"The members of a {owner} must share their '{key}'; "
                             f"got {sorted(values, key=str)}.")
    return members, hparams


class _Layout(NamedTuple):
    """Where the members' units and embedding columns sit in the pack (G members, L pack layers)."""

    depths: list[int]  # layers of member g
    widths: list[list[int]]  # (G, L): units of member g in layer l, 0 past its depth
    layer_widths: list[int]  # W_l
    layer_starts: list[int]  # first column of layer l in the concatenated states
    unit_offsets: list[list[int]]  # o_{g,l}, indexed [l][g]
    embedding_dims: list[int]  # E_g
    embedding_starts: list[int]  # first embedding column of member g

    @classmethod
    def of(cls, members: Sequence[GraphRNN]) -> _Layout:
        depths = [len(m.layer_vertices) for m in members]
        depth = max(depths)
        widths = [[len(m.layer_vertices[l]) if l < len(m.layer_vertices) else 0 for l in range(depth)]
                  for m in members]
        layer_widths = [sum(w[l] for w in widths) for l in range(depth)]
        embedding_dims = [m.embed.embedding_dim for m in members]
        return cls(depths, widths, layer_widths, _starts(layer_widths),
                   [_starts([w[l] for w in widths]) for l in range(depth)],
                   embedding_dims, _starts(embedding_dims))


class GraphRNNPack(nn.Module):
    """Several GraphRNNs (same cell, vocabulary and classes) as one network.

    Parameters
    ----------
    members : sequence of GraphRNN
        At least one; their parameters and masks are copied, the members themselves
        are left untouched and not referenced afterwards.

    Attributes
    ----------
    embed, layers, readout
        As in :class:`GraphRNN`: one ``nn.Embedding(vocab_size, Σ embedding_dim)``, one
        single-layer masked cell per pack layer, one :class:`MaskedLinear` with
        ``num_members * num_classes`` outputs.
    owners : dict[str, LongTensor]
        For every parameter name, a tensor of the parameter's shape holding the index of
        the member that owns each entry, ``-1`` for entries of no member (they are 0,
        masked out and get no gradient). Read-only.
    """

    def __init__(self, members: Sequence[GraphRNN]) -> None:
        super().__init__()
        members, hparams = check_members(members, "GraphRNNPack")
        self.cell, self.vocab_size, self.num_classes = (hparams[0][k] for k in ("cell", "vocab_size", "num_classes"))
        self.num_members = len(members)
        self._member_hparams = hparams
        layout = _Layout.of(members)
        self._build_modules(layout, members[0].readout.weight)
        tensors = self._named_tensors()
        with torch.no_grad():
            for tensor in tensors.values():
                tensor.zero_()
        # per member: state_dict key -> index into the pack tensor of the same key
        self._places: list[dict[str, tuple[Tensor, ...]]] = []
        self.owners = {name: torch.full_like(p, -1, dtype=torch.long) for name, p in self.named_parameters()}
        for g, member in enumerate(members):
            places = self._member_places(layout, g)
            self._copy_member(g, member.state_dict(), places, tensors)
            self._places.append(places)

    def _build_modules(self, layout: _Layout, reference: Tensor) -> None:
        """Create ``embed``, ``layers`` and ``readout`` on ``reference``'s device and dtype, uninitialised."""
        rnn_class, extra = CELLS[self.cell]
        embedding_width = sum(layout.embedding_dims)
        with torch.device("meta"):  # no initialisation (and no global RNG draws): every entry is set afterwards
            self.embed = nn.Embedding(self.vocab_size, embedding_width, padding_idx=0)
            self.layers = nn.ModuleList(
                rnn_class(embedding_width if l == 0 else layout.layer_starts[l], width, batch_first=True, **extra)
                for l, width in enumerate(layout.layer_widths)
            )
            self.readout = MaskedLinear(sum(layout.layer_widths), self.num_members * self.num_classes)
        self.to_empty(device=reference.device)
        self.to(reference.dtype)

    def _member_places(self, layout: _Layout, g: int) -> dict[str, tuple[Tensor, ...]]:
        """Where each of member ``g``'s state_dict tensors goes: key -> index into the pack tensor."""
        gates = GATES[self.cell]
        widths, offsets = layout.widths[g], [o[g] for o in layout.unit_offsets]  # w_{g,l}, o_{g,l}
        n_layers = layout.depths[g]
        columns = torch.cat([_span(layout.layer_starts[l] + offsets[l], widths[l])
                             for l in range(n_layers)])  # member g's concatenated states, as pack columns
        embedding_columns = _span(layout.embedding_starts[g], layout.embedding_dims[g])
        places = {"embed.weight": (torch.arange(self.vocab_size)[:, None], embedding_columns)}
        for l in range(n_layers):
            rows = torch.cat([_span(k * layout.layer_widths[l] + offsets[l], widths[l])
                              for k in range(gates)])  # gate blocks stacked like torch's
            inputs = embedding_columns if l == 0 else columns[: sum(widths[:l])]
            own_units = _span(offsets[l], widths[l])  # block-diagonal recurrence
            for kind, cols in (("ih", inputs), ("hh", own_units)):
                places[f"layers.{l}.weight_{kind}_l0"] = places[f"layers.{l}.mask_{kind}_l0"] = (rows[:, None], cols)
                places[f"layers.{l}.bias_{kind}_l0"] = (rows,)
        outputs = _span(g * self.num_classes, self.num_classes)
        places["readout.weight"] = places["readout.mask"] = (outputs[:, None], columns)
        places["readout.bias"] = (outputs,)
        return places

    @torch.no_grad()
    def _copy_member(self, g: int, state: dict[str, Tensor], places: dict[str, tuple[Tensor, ...]],
                     tensors: dict[str, Tensor]) -> None:
        """Copy member ``g``'s ``state`` into its ``places`` of the pack's ``tensors``, and mark it the owner."""
        if set(state) != set(places):
            raise InputError(f"GraphRNNPack cannot place member {g}'s tensors "
                             f"{sorted(set(state) ^ set(places))}; is it a plain GraphRNN?")
        for name, place in places.items():
            tensors[name][place] = state[name].to(tensors[name].device)
            if name in self.owners:
                self.owners[name][place] = g

    def _named_tensors(self) -> dict[str, Tensor]:
        """Parameters and buffers by state_dict key (live tensors)."""
        return {**dict(self.named_parameters()), **dict(self.named_buffers())}

    @property
    def member_hparams(self) -> list[dict]:
        """Each member's :attr:`GraphRNN.hparams`, in member order."""
        return [dict(h) for h in self._member_hparams]

    def forward(self, inputs: Tensor, lengths: Tensor) -> Tensor:
        """Logits (B, num_members, num_classes): member g's at ``[:, g]``."""
        logits = self.readout(layered_states(self.embed, self.layers, inputs, lengths))  # (B, ΣW) -> (B, G·C)
        return logits.view(-1, self.num_members, self.num_classes)  # (B, G, C)

    def member(self, index: int) -> GraphRNN:
        """A fresh GraphRNN (``GraphRNN.from_hparams``) holding member ``index``'s current parameters and masks."""
        if not isinstance(index, int) or not 0 <= index < self.num_members:
            raise InputError(f"The 'index' parameter of GraphRNNPack.member must be an int in "
                             f"[0, {self.num_members - 1}]; got {index!r}.")
        reference = self.readout.weight
        with torch.device("meta"):  # every entry is loaded below; no initialisation, no RNG draws
            model = GraphRNN.from_hparams(self._member_hparams[index])
        model.to_empty(device=reference.device)
        model.to(reference.dtype)
        tensors = self._named_tensors()
        with torch.no_grad():
            model.load_state_dict({name: tensors[name][place] for name, place in self._places[index].items()})
        return model.train(self.training)

    def unpack(self) -> list[GraphRNN]:
        """Every member as a fresh GraphRNN holding the pack's current parameters (see :meth:`member`)."""
        return [self.member(g) for g in range(self.num_members)]

    @torch.no_grad()
    def parameter_counts(self) -> list[ParameterCount]:
        """:func:`~sparsernn.nn.count_parameters` of every member, read off the pack without unpacking."""
        G = self.num_members
        nonzero = torch.zeros(G + 1, dtype=torch.long)
        total = torch.zeros(G + 1, dtype=torch.long)
        for name, value in effective_parameters(self).items():
            owner = self.owners[name].flatten().cpu()
            owner = torch.where(owner < 0, G, owner)  # unowned entries counted apart, in bin G
            total += torch.bincount(owner, minlength=G + 1)
            nonzero += torch.bincount(owner[value.flatten().cpu() != 0], minlength=G + 1)
        return [ParameterCount(nonzero=int(nonzero[g]), total=int(total[g])) for g in range(G)]
