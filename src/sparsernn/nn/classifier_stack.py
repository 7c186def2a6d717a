"""ClassifierStack: many SequenceClassifiers of one architecture computed as one network.

The pruned children of one dense base share everything but their masks and weights: the
architecture, the data and the order of the batches. A :class:`ClassifierStack` holds
``G`` such :class:`~sparsernn.nn.SequenceClassifier` s with every parameter, bias and mask
stacked along a new leading member axis, and computes all members at once with batched
matrix products (``torch.bmm``), so the cost grows linearly with ``G`` (unlike the block
matrices of :class:`~sparsernn.nn.GraphRNNPack`)::

    tokens (B, T) ─embed[g]─▶ (G, B, T, E)
    layer l: X (G, B, T, In) @ (W_ih ⊙ M_ih)ᵀ ─▶ input gates (G, B, T, k·H)   one bmm for all steps
             per step t: h_t = cell(input gates_t + h_{t-1} @ (W_hh ⊙ M_hh)ᵀ)   one bmm per step
    final states (G, B, H_last) @ (W_out ⊙ M_out)ᵀ ─▶ logits (B, G, C)

Within a batch the sequences are sorted by length and step ``t`` computes only the
sequences longer than ``t`` (as a packed sequence does), so each member's state is read at
its true last symbol and the logits of member ``g`` are member ``g``'s own, up to float
rounding (the cells are written out here, in torch's gate order, instead of torch's fused
kernels; about 1e-7). Masked entries stay masked: the effective weight is ``weight * mask``
and gets no gradient where the mask is False. Without gradients (evaluation) each member
runs on its own slices of the stack with torch's fused kernels
(:func:`torch.func.functional_call`), so its logits are exactly its own.

Members are *copied* in; :meth:`ClassifierStack.member` copies one back out into a fresh
SequenceClassifier. :attr:`ClassifierStack.owners` maps every parameter entry to its member,
so :func:`sparsernn.train.fit_pack` trains a stack as it trains a GraphRNNPack: every member
as :func:`~sparsernn.train.fit` would train it alone, with its own clipping and divergence.

Examples
--------
>>> import torch
>>> _ = torch.manual_seed(0)
>>> a, b = (SequenceClassifier("lstm", vocab_size=6, hidden_sizes=[4, 3], embedding_dim=2) for _ in range(2))
>>> b.layers[0].mask_hh_l0[:, :2] = False                     # b is pruned, a is not
>>> stack = ClassifierStack([a, b])
>>> stack.weight("layers.0.weight_hh_l0").shape            # (G, 4 gates x 4 units, 4)
torch.Size([2, 16, 4])
>>> x, n = torch.tensor([[1, 2, 3], [4, 5, 0]]), torch.tensor([3, 2])
>>> logits = stack(x, n)                                  # (B, G, C)
>>> logits.shape
torch.Size([2, 2, 2])
>>> torch.allclose(logits[:, 1], b(x, n), atol=1e-6)
True
>>> all(torch.equal(p, q) for p, q in zip(stack.member(0).state_dict().values(), a.state_dict().values()))
True
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from ..errors import InputError
from .classifier import SequenceClassifier, check_batch
from .masked import MaskedModule, mask_name
from .weights import ParameterCount

__all__ = ["ClassifierStack", "pack_sorted", "stacked_layer", "unsort"]



def _key(name: str) -> str:
    """A member's state_dict key as an attribute name of the stack (``.`` is not allowed there)."""
    return name.replace(".", "__")


def _check_members(members: Sequence[SequenceClassifier]) -> dict:
    """The members' common hparams; InputError unless they can be stacked."""
    members = list(members) if isinstance(members, (list, tuple)) else members
    if not isinstance(members, list) or not members or not all(type(m) is SequenceClassifier for m in members):
        raise InputError("ClassifierStack needs a non-empty list of SequenceClassifiers.")
    hparams = members[0].hparams
    for g, member in enumerate(members[1:], start=1):
        if member.hparams != hparams:
            raise InputError(f"ClassifierStack members must share one architecture; member {g} has "
                             f"{member.hparams}, member 0 {hparams}.")
    if hparams["dropout"] > 0:
        raise InputError("ClassifierStack cannot stack classifiers with dropout: each would draw other dropout masks "
                         f"than it draws alone; got dropout={hparams['dropout']}.")
    return hparams


def stacked_layer(cell: str, x: Tensor, active: list[int], w_ih: Tensor, w_hh: Tensor, b_ih: Tensor,
                  b_hh: Tensor) -> tuple[Tensor, Tensor]:
    """One single-layer recurrent cell per member over packed sequences, all members at once.

    Parameters
    ----------
    cell : {"rnn_tanh", "rnn_relu", "lstm", "gru"}
    x : Tensor
        (G, ΣT, In): every member's inputs, packed time-major as
        :class:`~torch.nn.utils.rnn.PackedSequence` data with batch sizes ``active``
        (sequences sorted longest first).
    active : list of int
        How many sequences are longer than ``t``, for every step ``t``.
    w_ih, w_hh, b_ih, b_hh : Tensor
        (G, k·H, In), (G, k·H, H), (G, k·H), (G, k·H): each member's effective weights in
        torch's layout and gate order (``k`` gates).

    Returns
    -------
    outputs : Tensor
        (G, ΣT, H), packed as ``x``.
    finals : Tensor
        (G, B, H): each sequence's state after its last symbol, sorted order.
    """
    G, H = w_hh.shape[0], w_hh.shape[-1]
    if cell == "lstm":  # gates i, f, g, o -> i, f, o, g: one sigmoid over the first three
        rows = torch.cat([torch.arange(2 * H), torch.arange(3 * H, 4 * H), torch.arange(2 * H, 3 * H)])
        rows = rows.to(w_ih.device)
        w_ih, w_hh, b_ih, b_hh = (t[:, rows] for t in (w_ih, w_hh, b_ih, b_hh))
    if cell == "gru":  # b_hn is read through r; every other hidden bias joins the input's
        zeros = torch.zeros_like(b_hh[:, :2 * H])
        bias_in = b_ih + torch.cat([b_hh[:, :2 * H], zeros[:, :H]], dim=1)
        bias_h = torch.cat([zeros, b_hh[:, 2 * H:]], dim=1)
    else:
        bias_in, bias_h = b_ih + b_hh, None
    gates_in = torch.baddbmm(bias_in[:, None], x, w_ih.transpose(1, 2))  # (G, ΣT, k·H)
    w_hh_t = w_hh.transpose(1, 2)  # (G, H, k·H)
    h = x.new_zeros(G, active[0], H)
    c = x.new_zeros(G, active[0], H) if cell == "lstm" else None
    outputs, finals = [], []
    # split, not slice: the backward of a split is one cat, that of a slice a zero-filled full-size tensor
    for n, gi in zip(active, gates_in.split(active, dim=1)):  # gi: (G, n, k·H)
        if n < h.shape[1]:  # the sequences past their end keep their last state
            h, done = h.split([n, h.shape[1] - n], dim=1)
            finals.append(done)
            c = None if c is None else c.split([n, c.shape[1] - n], dim=1)[0]
        h, c = _step(cell, gi, h, c, w_hh_t, bias_h)
        outputs.append(h)
    finals.append(h)
    return torch.cat(outputs, dim=1), torch.cat(finals[::-1], dim=1)


def _step(cell: str, gi: Tensor, h: Tensor, c: Tensor | None, w_hh_t: Tensor,
          bias_h: Tensor | None) -> tuple[Tensor, Tensor | None]:
    """One step of the cell (torch's equations) from the input gates ``gi`` (biases in)."""
    H = h.shape[-1]
    if cell == "lstm":  # gates i, f, o, g (reordered)
        ifo, g = torch.baddbmm(gi, h, w_hh_t).split([3 * H, H], dim=-1)
        i, f, o = torch.sigmoid(ifo).chunk(3, dim=-1)
        c = torch.addcmul(f * c, i, torch.tanh(g))
        return o * torch.tanh(c), c
    if cell == "gru":  # gates r, z, n; n reads r * (W_hn h + b_hn)
        gi_rz, gi_n = gi.split([2 * H, H], dim=-1)
        gh_rz, gh_n = torch.baddbmm(bias_h[:, None], h, w_hh_t).split([2 * H, H], dim=-1)
        r, z = torch.sigmoid(gi_rz + gh_rz).chunk(2, dim=-1)
        n = torch.tanh(torch.addcmul(gi_n, r, gh_n))
        return torch.lerp(n, h, z), None  # (1 - z) * n + z * h
    pre = torch.baddbmm(gi, h, w_hh_t)
    return (torch.tanh(pre) if cell == "rnn_tanh" else torch.relu(pre)), None


def pack_sorted(inputs: Tensor, lengths: Tensor) -> tuple[Tensor, list[int], Tensor]:
    """``(packed inputs (ΣT,) token ids or (ΣT, F) vectors, batch sizes per step, order)`` of a
    padded batch sorted longest first, as :func:`stacked_layer` reads it; ``order`` is the
    sort permutation."""
    order = torch.argsort(lengths, descending=True, stable=True)  # (B,) longest first
    steps = lengths[order].tolist()
    active = [sum(1 for n in steps if n > t) for t in range(steps[0])]
    tokens = inputs[order.to(inputs.device)]  # (B, T), longest first
    return torch.cat([tokens[:n, t] for t, n in enumerate(active)]), active, order


def unsort(values: Tensor, order: Tensor) -> Tensor:
    """``values`` (G, B, …) in sorted order back in the caller's order, as (B, G, …)."""
    inverse = torch.empty_like(order)
    inverse[order] = torch.arange(len(order))
    return values[:, inverse.to(values.device)].transpose(0, 1)


def _unpack_steps(steps: Tensor, active: list[int], order: Tensor, length: int) -> Tensor:
    """Packed per-step values (G, ΣT, C) (time-major, sorted batch ``order``) as (B, T, G, C)
    in the caller's order, zero past each sequence's end."""
    G, _, C = steps.shape
    B = active[0]
    rows = torch.cat([torch.arange(n) for n in active])  # each packed row's place in the sorted batch
    times = torch.cat([torch.full((n,), t) for t, n in enumerate(active)])
    place = (order[rows] * length + times).to(steps.device)  # flat (b, t) in the caller's order
    out = steps.new_zeros(G, B * length, C).index_copy(1, place, steps)  # (G, B·T, C)
    return out.view(G, B, length, C).permute(1, 2, 0, 3)  # (B, T, G, C)


class ClassifierStack(nn.Module):
    """``G`` SequenceClassifiers of equal hparams (no dropout) as one network.

    Parameters
    ----------
    members : sequence of SequenceClassifier
        At least one; their parameters and masks are copied, the members themselves are
        left untouched.

    Attributes
    ----------
    num_members : int
    hparams : dict
        The members' common :attr:`SequenceClassifier.hparams`.
    names : list of str
        The members' parameter names (their state_dict keys), in order.
    owners : dict[str, LongTensor]
        For every parameter of the stack (its ``named_parameters`` name), a tensor of its
        shape holding the member that owns each entry (its index along the first axis).
    """

    def __init__(self, members: Sequence[SequenceClassifier]) -> None:
        super().__init__()
        self.hparams = _check_members(members)
        self.num_members = G = len(members)
        self.cell = self.hparams["cell"]
        first = members[0]
        self.names = [name for name, _ in first.named_parameters()]
        self.masked = {}  # parameter name -> its mask's state_dict key
        for prefix, module in first.named_modules():
            if isinstance(module, MaskedModule):
                for weight in module.masked_weight_names:
                    self.masked[f"{prefix}.{weight}"] = f"{prefix}.{mask_name(weight)}"
        states = [m.state_dict() for m in members]
        with torch.no_grad():
            for name in self.names:
                self.register_parameter(_key(name), nn.Parameter(torch.stack([s[name] for s in states]).clone()))
            for mask in self.masked.values():
                self.register_buffer(_key(mask), torch.stack([s[mask] for s in states]).clone())
        self._module: SequenceClassifier | None = None  # the members' function, for evaluation
        self.owners = {_key(name): torch.arange(G).view(G, *[1] * (p.dim() - 1)).expand_as(p)
                       for name, p in zip(self.names, self.parameters())}

    def _template(self, g: int, inputs: Tensor, lengths: Tensor) -> Tensor:
        """Member ``g``'s logits (B, C) computed by a SequenceClassifier of the members' hparams
        on ``g``'s slices of the stack (:func:`torch.func.functional_call`: no copies)."""
        if self._module is None:
            with torch.device("meta"):
                self._module = SequenceClassifier(**self.hparams)
            self._module.train(False)
        tensors = {name: getattr(self, _key(name))[g] for name in self.names}
        tensors.update({mask: getattr(self, _key(mask))[g] for mask in self.masked.values()})
        return torch.func.functional_call(self._module, tensors, (inputs, lengths))

    def weight(self, name: str) -> Tensor:
        """The stacked parameter of the members' parameter ``name`` (G, *shape), as used:
        ``weight * mask`` for a masked weight."""
        value = getattr(self, _key(name))
        return value * getattr(self, _key(self.masked[name])) if name in self.masked else value

    def forward(self, inputs: Tensor, lengths: Tensor) -> Tensor:
        """Logits (B, num_members, num_classes): member g's at ``[:, g]``; with ``per_step``
        members, (B, T, num_members, num_classes), zero at padded steps."""
        hp = self.hparams
        lengths = check_batch(inputs, lengths, vocab_size=hp["vocab_size"], input_features=hp["input_features"])
        per_step = hp.get("per_step", False)
        if not torch.is_grad_enabled():  # evaluation: every member with torch's own fused kernels
            return torch.stack([self._template(g, inputs, lengths) for g in range(self.num_members)],
                               dim=2 if per_step else 1)
        packed, active, order = pack_sorted(inputs, lengths)  # (ΣT,) or (ΣT, F) time-major, batch sizes, order
        if hp["vocab_size"] is not None:
            x = self.weight("embed.weight")[:, packed]  # (G, ΣT, E)
        else:  # a linear input layer
            w_in = self.weight("embed.weight")  # (G, E, F)
            x = torch.baddbmm(self.weight("embed.bias")[:, None], packed.expand(len(w_in), -1, -1),
                              w_in.transpose(1, 2))  # (G, ΣT, E)
        for l in range(len(hp["hidden_sizes"])):
            x, h = self._layer(l, x, active)  # (G, ΣT, H_l), (G, B, H_l)
        w, b = self.weight("readout.weight"), self.weight("readout.bias")  # (G, C, H), (G, C)
        if per_step:
            steps = torch.baddbmm(b[:, None], x, w.transpose(1, 2))  # (G, ΣT, C), packed
            return _unpack_steps(steps, active, order, inputs.shape[1])  # (B, T, G, C)
        logits = torch.baddbmm(b[:, None], h, w.transpose(1, 2))  # (G, B, C), sorted order
        return unsort(logits, order)  # (B, G, C), the caller's order

    def _layer(self, l: int, x: Tensor, active: list[int]) -> tuple[Tensor, Tensor]:
        """Recurrent layer ``l`` over the packed ``x`` (G, ΣT, In) (see :func:`stacked_layer`)."""
        return stacked_layer(self.cell, x, active, *(self.weight(f"layers.{l}.{name}_l0") for name in
                                                     ("weight_ih", "weight_hh", "bias_ih", "bias_hh")))

    def member(self, index: int) -> SequenceClassifier:
        """A fresh SequenceClassifier holding member ``index``'s current parameters and masks."""
        if not isinstance(index, int) or not 0 <= index < self.num_members:
            raise InputError(f"The 'index' parameter of ClassifierStack.member must be an int in "
                             f"[0, {self.num_members - 1}]; got {index!r}.")
        reference = getattr(self, _key(self.names[0]))
        with torch.device("meta"):  # every entry is loaded below: no initialisation, no RNG draws
            model = SequenceClassifier(**self.hparams)
        model.to_empty(device=reference.device)
        state = {name: getattr(self, _key(name))[index].detach().clone() for name in self.names}
        state.update({mask: getattr(self, _key(mask))[index].clone() for mask in self.masked.values()})
        model.load_state_dict(state)
        return model.train(self.training)

    def unpack(self) -> list[SequenceClassifier]:
        """Every member as a fresh SequenceClassifier (see :meth:`member`)."""
        return [self.member(g) for g in range(self.num_members)]

    @torch.no_grad()
    def parameter_counts(self) -> list[ParameterCount]:
        """:func:`~sparsernn.nn.count_parameters` of every member, read off the stack."""
        G = self.num_members
        nonzero = torch.zeros(G, dtype=torch.long)
        total = 0
        for name in self.names:
            value = self.weight(name).reshape(G, -1)
            nonzero += (value != 0).sum(dim=1).cpu()
            total += value.shape[1]
        return [ParameterCount(nonzero=int(nonzero[g]), total=total) for g in range(G)]
