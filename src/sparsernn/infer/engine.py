"""SparseModel: a masked model's logits, computed with sparse kernels (inference only).

A :class:`SparseModel` computes what a :class:`~sparsernn.nn.SequenceClassifier` or a
:class:`~sparsernn.nn.GraphRNN` in eval mode computes -- the same logits, to float
rounding (about 1e-7) -- from its *effective* weights ``W ⊙ M``. Each recurrent layer
runs one of two ways (``kernel``):

* ``"sparse"``: its weight matrices are torch CSR tensors with int32 indices (Intel MKL's
  sparse kernels in torch's CPU build), and a loop over time steps in Python computes
  the cell (below);
* ``"fused"``: torch's own fused RNN/LSTM/GRU op on the effective weights as dense
  matrices, the op the masked model itself runs.

``"auto"`` (the default) takes the sparse way for a layer whose recurrent matrix ``W_hh``
keeps at most :data:`DENSE_ABOVE` of its weights and has more than :data:`SMALL`
entries, and within it multiplies by ``W_ih`` as a dense matrix if that keeps more than
:data:`DENSE_ABOVE`; else the fused way. Both limits are measured
(docs/benchmarks/sparse_inference.md): denser matrices multiply faster dense, and for a
small layer the Python loop costs more than sparsity saves.

A batch is computed :data:`BATCH` (64) sequences at a time. The sparse way, for B
sequences of lengths ``T_b`` (``N = Σ T_b`` symbols):

* The batch is packed as :func:`torch.nn.utils.rnn.pack_padded_sequence` packs it: time
  step ``t`` holds the ``B_t`` sequences longer than ``t``, longest first; padding is
  never computed on.
* Input projections ``G = X W_ih^T + b_ih (+ b_hh)`` (gates·H per symbol) in blocks of
  32 symbols (or of one time step, for a larger batch), one matrix product per block,
  as the loop over time reaches them: besides the outputs a next layer reads, memory
  holds the projections of at most 64 symbols. For token inputs with a vocabulary no larger than
  the embedding, layer 0's projections are rows of a table, ``embed W_ih^T + b``,
  computed once when the model is built.
* Each time step multiplies the ``B_t`` active states by ``W_hh`` (a sparse
  matrix-vector product at batch 1) and applies torch's gate equations in its gate
  order (LSTM ``i, f, g, o``; GRU ``r, z, n`` with ``n = tanh(G_n + r ⊙ (W_hn h + b_hn))``).
* A sequence's final state is read after its last symbol; the readout sees the last
  layer's (a classifier) or every layer's, side by side (a GraphRNN, whose layer ``l``
  reads the outputs of all earlier layers).

Examples
--------
>>> import torch
>>> from sparsernn import prune
>>> from sparsernn.nn import SequenceClassifier
>>> torch.manual_seed(0) and None
>>> model = SequenceClassifier("lstm", vocab_size=6, hidden_sizes=[8, 8], embedding_dim=4).eval()
>>> _ = prune.prune_to_sparsity(model, 0.9, targets=("ih", "hh"), scope="layer")
>>> sparse = SparseModel.from_model(model, kernel="sparse")
>>> sparse.layers[1].w_hh.layout, SparseModel.from_model(model).layers[1].way   # W_hh (32, 8) is small
(torch.sparse_csr, 'fused')
>>> tokens, lengths = torch.tensor([[1, 2, 3], [4, 5, 0]]), torch.tensor([3, 2])
>>> torch.allclose(sparse(tokens, lengths), model(tokens, lengths), atol=1e-6)
True
"""

from __future__ import annotations

import copy
import re

import torch
from torch import Tensor, nn
from torch.nn import functional as F
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence

from ..checks import check_choice
from ..errors import InputError
from ..nn import GraphRNN, SequenceClassifier, mask_name
from ..nn.classifier import check_batch
from .storage import csr_from_mask

__all__ = ["BATCH", "DENSE_ABOVE", "KERNELS", "MODEL_CLASSES", "SMALL", "SparseModel"]

KERNELS = ("auto", "sparse", "fused")
"""How a SparseModel's layers compute: chosen per layer, every layer sparse, every layer fused."""

DENSE_ABOVE = 0.35
"""A matrix that keeps a larger fraction of its weights multiplies faster as a dense
matrix: on the machine of docs/benchmarks/sparse_inference.md, MKL's CSR product of a
(4H, H) matrix matched the dense one at about 35-50 % of the weights kept (H = 512 to
2048, batch 1 and 16), and a layer run the sparse way at 50 % was 0.4-1.1x as fast as
torch's dense layer."""

BATCH = 64
"""Sequences a SparseModel computes at once (a larger batch is split): memory stays
``O(64 · T · H)`` and, measured, both ways run large batches fastest in blocks this size."""

SMALL = 2**18
"""A recurrent matrix with at most this many entries (1 MiB as float32; an LSTM of hidden
256) runs torch's fused dense op under ``kernel="auto"``: the sparse way's loop in Python
costs about 0.1 ms a step (a dozen small torch ops), more than a dense product this size
takes; measured at batch 1, an LSTM or GRU of hidden 256 ran slower the sparse way even at
99 % sparsity, one of hidden 512 faster from 90 % on."""

MODEL_CLASSES = {"SequenceClassifier": SequenceClassifier, "GraphRNN": GraphRNN}
"""The models a SparseModel computes (a GraphRNNPack is many networks: export one member)."""

_TORCH = {"rnn_tanh": (nn.RNN, {"nonlinearity": "tanh"}), "rnn_relu": (nn.RNN, {"nonlinearity": "relu"}),
          "lstm": (nn.LSTM, {}), "gru": (nn.GRU, {})}
_LAYER = re.compile(r"^layers\.(\d+)\.weight_ih_l0$")
_CHUNK = 32
"""Symbols per sparse input projection: MKL's CSR product slows down about 2x per column once
the (in, n) block of inputs outgrows the L2 cache (measured: 32 columns of 1024 inputs)."""


def _kept(weight: Tensor) -> float:
    """The fraction of a CSR matrix's entries that it stores."""
    return weight.values().numel() / max(weight.shape[0] * weight.shape[1], 1)


def _dense(weight: Tensor) -> Tensor:
    return weight.to_dense() if weight.layout == torch.sparse_csr else weight


def _matmul(weight: Tensor, x: Tensor) -> Tensor:
    """``x W^T`` (n, out) for ``x`` (n, in), ``W`` dense or CSR."""
    if weight.layout != torch.sparse_csr:
        return F.linear(x, weight)
    if x.shape[0] == 1:
        return torch.mv(weight, x[0]).unsqueeze(0)  # (1, out): MKL's sparse matrix-vector product
    return (weight @ x.T).T  # (n, out), a transposed view


def _rnn_tanh(layer: _Layer, g: Tensor, h: Tensor, c: None) -> tuple[Tensor, None]:
    return torch.tanh(g + _matmul(layer.w_hh, h)), None


def _rnn_relu(layer: _Layer, g: Tensor, h: Tensor, c: None) -> tuple[Tensor, None]:
    return torch.relu(g + _matmul(layer.w_hh, h)), None


def _lstm(layer: _Layer, g: Tensor, h: Tensor, c: Tensor) -> tuple[Tensor, Tensor]:
    n = layer.hidden
    gates = g + _matmul(layer.w_hh, h)  # (b, 4H): i, f, g, o (both biases are in g)
    input_forget = torch.sigmoid(gates[:, :2 * n])
    c = torch.addcmul(input_forget[:, n:] * c, input_forget[:, :n], torch.tanh(gates[:, 2 * n:3 * n]))
    return torch.sigmoid(gates[:, 3 * n:]) * torch.tanh(c), c


def _gru(layer: _Layer, g: Tensor, h: Tensor, c: None) -> tuple[Tensor, None]:
    n = layer.hidden
    gh = _matmul(layer.w_hh, h) + layer.b_hh  # (b, 3H): r, z, n
    reset_update = torch.sigmoid(g[:, :2 * n] + gh[:, :2 * n])
    candidate = torch.tanh(torch.addcmul(g[:, 2 * n:], reset_update[:, :n], gh[:, 2 * n:]))
    return torch.lerp(candidate, h, reset_update[:, n:]), None  # (1 - z) n + z h


_STEPS = {"rnn_tanh": _rnn_tanh, "rnn_relu": _rnn_relu, "lstm": _lstm, "gru": _gru}


class _Layer(nn.Module):
    """One recurrent layer: its weights, and its loop over time steps or torch's fused op.

    ``way`` is ``"sparse"`` or ``"fused"`` (see the module docstring); ``weights`` are its
    state (``weight_ih_l0``, ...), the matrices as CSR tensors.
    """

    def __init__(self, cell: str, weights: dict[str, Tensor], kernel: str) -> None:
        super().__init__()
        w_ih, w_hh = weights["weight_ih_l0"], weights["weight_hh_l0"]
        self.cell, self.hidden = cell, w_hh.shape[1]
        sparse = kernel == "sparse" or (kernel == "auto" and _kept(w_hh) <= DENSE_ABOVE and w_hh.numel() > SMALL)
        self.way = "sparse" if sparse else "fused"
        self.fused = None
        self.register_buffer("table", None)  # token ids -> input projections, see use_table
        if not sparse:
            torch_class, extra = _TORCH[cell]
            with torch.device("meta"):  # no initialisation: the weights are assigned below
                self.fused = torch_class(w_ih.shape[1], self.hidden, **extra)
            self.fused.load_state_dict({**weights, "weight_ih_l0": _dense(w_ih), "weight_hh_l0": _dense(w_hh)},
                                       assign=True)
            return
        fold = cell != "gru"  # b_hh joins the input projection, except in the GRU's n gate
        b_ih, b_hh = weights["bias_ih_l0"], weights["bias_hh_l0"]
        self.register_buffer("w_ih", w_ih if kernel == "sparse" or _kept(w_ih) <= DENSE_ABOVE else _dense(w_ih))
        self.register_buffer("w_hh", w_hh)
        self.register_buffer("b_in", b_ih + b_hh if fold else b_ih)
        self.register_buffer("b_hh", None if fold else b_hh)

    def use_table(self, embedding: Tensor) -> None:
        """Read token ids from now on: project every row of ``embedding`` (V, E) once."""
        self.table = self.project(embedding)  # (V, gates·H)
        self.w_ih = None

    def project(self, x: Tensor) -> Tensor:
        """Input projections ``x W_ih^T + b`` (n, gates·H), contiguous, of inputs ``x`` (n, in)
        (or of token ids ``x`` (n,) after :meth:`use_table`)."""
        if self.table is not None:
            return self.table[x]
        g = x.new_empty(x.shape[0], self.b_in.shape[0])
        for start in range(0, x.shape[0], _CHUNK):
            torch.add(_matmul(self.w_ih, x[start:start + _CHUNK]), self.b_in, out=g[start:start + _CHUNK])
        return g

    def run(self, x: Tensor, sizes: Tensor, keep_outputs: bool) -> tuple[Tensor | None, Tensor]:
        """Outputs (N, H) in packed order (None unless ``keep_outputs``) and final states
        (B, H), longest sequence first, of the packed inputs ``x`` (N, in) with batch
        sizes ``sizes`` (as in a :class:`~torch.nn.utils.rnn.PackedSequence`)."""
        if self.fused is not None:
            out, state = self.fused(PackedSequence(x, sizes))
            return out.data, (state[0] if isinstance(state, tuple) else state)[0]
        step, sizes = _STEPS[self.cell], sizes.tolist()
        total, width = x.shape[0], sizes[0]
        out = self.b_in.new_empty(total, self.hidden) if keep_outputs else None
        final = self.b_in.new_empty(width, self.hidden)
        h = self.b_in.new_zeros(width, self.hidden)  # (B_t, H)
        c = self.b_in.new_zeros(width, self.hidden) if self.cell == "lstm" else None
        offset = start = stop = 0
        for b in sizes:
            if b < h.shape[0]:  # sequences b.. ended at the previous step
                final[b:h.shape[0]] = h[b:]
                h, c = h[:b], (None if c is None else c[:b])
            if offset + b > stop:  # the next block of input projections
                start, stop = offset, min(total, offset + max(b, _CHUNK))
                block = self.project(x[start:stop])  # (stop - start, gates·H)
            h, c = step(self, block[offset - start:offset - start + b], h, c)
            if out is not None:
                out[offset:offset + b] = h
            offset += b
        final[:h.shape[0]] = h
        return out, final


class SparseModel(nn.Module):
    """Logits of a masked SequenceClassifier or GraphRNN, computed with sparse kernels.

    Parameters
    ----------
    model_class : {"SequenceClassifier", "GraphRNN"}
    hparams : dict
        The model's constructor arguments (``model.hparams``).
    weights : dict of str to Tensor
        The model's state dict without masks, each masked weight replaced by its
        effective weight as a torch CSR tensor (:func:`~sparsernn.infer.storage.csr_from_mask`),
        every other tensor dense. Taken as given: :func:`sparsernn.infer.load` and
        :meth:`from_model` check it first.
    kernel : {"auto", "sparse", "fused"}, default "auto"
        How each recurrent layer computes (module docstring); ``layers[i].way`` says
        which way layer ``i`` took.

    Calling it, ``model(inputs, lengths)``, takes what the source model takes (token ids
    (B, T) or features (B, T, F), and lengths (B,)) and returns logits (B, classes);
    it never records gradients. ``hparams`` and ``model_class`` say what it computes.
    """

    def __init__(self, model_class: str, hparams: dict, weights: dict[str, Tensor], *, kernel: str = "auto") -> None:
        super().__init__()
        if model_class not in MODEL_CLASSES:
            raise InputError(f"SparseModel computes a model of a class in {sorted(MODEL_CLASSES)}; "
                             f"got {model_class!r}.")
        check_choice(kernel, "kernel", "SparseModel", KERNELS)
        self.model_class, self._hparams = model_class, copy.deepcopy(hparams)
        self.reads_all = model_class == "GraphRNN"  # layer l reads all earlier layers, not just l - 1
        self.vocab_size = hparams.get("vocab_size")
        self.input_features = hparams.get("input_features")
        count = sum(1 for key in weights if _LAYER.match(key))
        self.layers = nn.ModuleList(
            _Layer(hparams["cell"], {k.split(".", 2)[2]: v for k, v in weights.items()
                                     if k.startswith(f"layers.{i}.")}, kernel)
            for i in range(count))
        self.register_buffer("embed_weight", weights["embed.weight"])
        self.register_buffer("embed_bias", weights.get("embed.bias"))
        self.register_buffer("readout_weight", _dense(weights["readout.weight"]))
        self.register_buffer("readout_bias", weights["readout.bias"])
        first = self.layers[0]
        if first.way == "sparse" and self.vocab_size is not None \
                and self.embed_weight.shape[0] <= self.embed_weight.shape[1]:
            first.use_table(self.embed_weight)

    @classmethod
    def from_model(cls, model: nn.Module, *, kernel: str = "auto") -> SparseModel:
        """The SparseModel of a (masked) SequenceClassifier or GraphRNN."""
        name = type(model).__name__
        if name not in MODEL_CLASSES or type(model) is not MODEL_CLASSES[name]:
            raise InputError(f"SparseModel computes a model of a class in {sorted(MODEL_CLASSES)} (one network: "
                             f"export a member of a pack, pack.member(i)); got {name}.")
        state = model.state_dict()
        weights = {}
        for key, tensor in state.items():
            prefix, _, last = key.rpartition(".")
            if last.startswith("mask"):
                continue
            mask = state.get(f"{prefix}.{mask_name(last)}") if last.startswith("weight") else None
            weights[key] = tensor.detach().cpu().float() if mask is None else csr_from_mask(tensor, mask)
        return cls(name, model.hparams, weights, kernel=kernel)

    @property
    def hparams(self) -> dict:
        """A copy of the constructor arguments of the model it computes."""
        return copy.deepcopy(self._hparams)

    def forward(self, inputs: Tensor, lengths: Tensor) -> Tensor:
        """Logits (B, classes) of a padded batch, read at each sequence's last symbol; computed
        :data:`BATCH` sequences at a time."""
        lengths = check_batch(inputs, lengths, vocab_size=self.vocab_size, input_features=self.input_features)
        inputs = inputs.cpu()
        with torch.no_grad():
            return torch.cat([self._logits(inputs[i:i + BATCH], lengths[i:i + BATCH])
                              for i in range(0, len(lengths), BATCH)])

    def _logits(self, inputs: Tensor, lengths: Tensor) -> Tensor:
        """Logits (B, classes) of checked inputs (B, T) or (B, T, F) and lengths (B,)."""
        packed = pack_padded_sequence(inputs, lengths, batch_first=True, enforce_sorted=False)
        if self.layers[0].table is not None:
            x = packed.data  # (N,) token ids: layer 0 projects them from its table
        elif self.vocab_size is not None:
            x = F.embedding(packed.data, self.embed_weight)  # (N, E)
        else:
            x = F.linear(packed.data.float(), self.embed_weight, self.embed_bias)  # (N, E)
        outputs, finals = [], []
        for index, layer in enumerate(self.layers):
            if index > 0:
                x = torch.cat(outputs, dim=1) if self.reads_all else outputs[-1]  # (N, Σ w) or (N, w)
            out, final = layer.run(x, packed.batch_sizes, keep_outputs=index < len(self.layers) - 1)
            outputs.append(out)
            finals.append(final)
        states = torch.cat(finals, dim=1) if self.reads_all else finals[-1]  # (B, n), longest first
        return F.linear(states[packed.unsorted_indices], self.readout_weight, self.readout_bias)
