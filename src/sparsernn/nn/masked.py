"""Masked recurrent layers: torch's RNN/LSTM/GRU and Linear with a bool mask per weight.

Each weight matrix ``weight<suffix>`` gets a persistent bool buffer ``mask<suffix>`` of
the same shape (``weight_ih_l0`` -> ``mask_ih_l0``, ``weight_hr_l1_reverse`` ->
``mask_hr_l1_reverse``, ``weight`` -> ``mask``), initialised all True and saved in
``state_dict()``, so a checkpoint alone rebuilds the masked model. Biases are never
masked. The layer computes with the *effective* weights

.. math:: \\tilde W = W \\odot M,

built once per forward call; the recurrence itself is torch's own fused op, so a masked
layer with an all-True mask gives the same outputs and gradients as its ``torch.nn`` twin,
and the gradient of a masked-out weight is exactly zero. Pruning only ever changes the
masks; the raw values under a False mask are kept (and may still drift under weight
decay) but never reach the output.

With torch: :meth:`~MaskedModule.from_torch` copies a ``torch.nn`` module, also one
pruned with :mod:`torch.nn.utils.prune` (its ``<weight>_orig`` and ``<weight>_mask``
become the weight and the mask); :meth:`~MaskedModule.to_torch` gives back a plain module
(zeros where masked) or a torch-pruned one, computing the same outputs. To compile or
deploy, use :func:`torch.export.export`, which takes the masked layers as they are.
TorchScript (``torch.jit.script``, deprecated by torch) cannot compile them: their forward
assembles the effective weights in Python, with ``try`` blocks and annotations it does
not read (with torch 2.13 a scripted plain ``nn.LSTM`` cannot be called either).

Examples
--------
>>> import torch
>>> lstm = MaskedLSTM(3, 4, num_layers=2, batch_first=True)
>>> sorted(lstm.masks())[:2]
['weight_hh_l0', 'weight_hh_l1']
>>> lstm.mask_ih_l0.dtype, lstm.mask_ih_l0.shape
(torch.bool, torch.Size([16, 3]))
>>> lstm.mask_hh_l0[:, 0] = False        # cut the input from hidden unit 0
>>> out, (h, c) = lstm(torch.randn(2, 5, 3))
>>> out.shape, h.shape
(torch.Size([2, 5, 4]), torch.Size([2, 2, 4]))
"""

from __future__ import annotations

import re

import torch
from torch import Tensor, nn
from torch.nn import functional as F
from torch.nn.utils import prune as torch_prune

from ..errors import InputError

__all__ = [
    "MaskedModule",
    "MaskedRNN",
    "MaskedLSTM",
    "MaskedGRU",
    "MaskedLinear",
    "mask_name",
]

_RNN_WEIGHT = re.compile(r"^weight_(ih|hh|hr)_l(\d+)(_reverse)?$")


def mask_name(weight_name: str) -> str:
    """Return the name of the mask buffer of ``weight_name``: the leading ``weight`` becomes ``mask``.

    Examples
    --------
    >>> mask_name("weight_ih_l0")
    'mask_ih_l0'
    >>> mask_name("weight_hh_l1_reverse")
    'mask_hh_l1_reverse'
    >>> mask_name("weight")
    'mask'
    """
    if not isinstance(weight_name, str) or not weight_name.startswith("weight"):
        raise InputError(f"weight_name must be a string starting with 'weight'; got {weight_name!r}.")
    return "mask" + weight_name[len("weight"):]


class MaskedModule:
    """Mixin for modules whose weights carry bool mask buffers.

    Subclasses call :meth:`_init_masks` once their parameters exist and use
    :meth:`effective_weight` in ``forward``. :func:`sparsernn.nn.masked_weights` finds every
    module that derives from this class and asks it :meth:`_mask_location` where each
    masked weight sits (target, layer, direction).
    """

    masked_weight_names: tuple[str, ...] = ()
    _torch_class: type[nn.Module]  # the torch.nn module it masks

    def _init_masks(self, weight_names) -> None:
        self.masked_weight_names = tuple(weight_names)
        for name in self.masked_weight_names:
            weight = getattr(self, name)
            self.register_buffer(mask_name(name), torch.ones_like(weight, dtype=torch.bool))

    def masks(self) -> dict[str, Tensor]:
        """Return ``{weight name: mask buffer}``; the buffers are live (edit them in place)."""
        return {name: getattr(self, mask_name(name)) for name in self.masked_weight_names}

    def effective_weight(self, weight_name: str) -> Tensor:
        """Return ``weight * mask`` for one masked weight (differentiable w.r.t. the weight)."""
        if weight_name not in self.masked_weight_names:
            raise InputError(
                f"weight_name must be one of {list(self.masked_weight_names)}; got {weight_name!r}."
            )
        return getattr(self, weight_name) * getattr(self, mask_name(weight_name))

    def _mask_location(self, weight_name: str) -> tuple[str, int | None, int]:
        """Return ``(target, layer within this module or None, direction)`` of a masked weight."""
        raise NotImplementedError


# ---------------------------------------------------------------------------------------
# Recurrent layers

    @classmethod
    def from_torch(cls, module: nn.Module):
        """Return a masked copy of ``module``, its torch twin (same arguments, weights, mode).

        Masks are all True; copied when ``module`` is itself masked; or taken from
        :mod:`torch.nn.utils.prune`: a weight pruned there (``<weight>_orig`` and a 0/1
        ``<weight>_mask``) becomes this module's weight and mask, so the outputs agree.
        Anything else that cannot be carried over -- a pruned bias, another
        parametrization, a mask that is not 0/1 -- is refused with
        :class:`~sparsernn.errors.InputError`. For :class:`MaskedRNN` the nonlinearity is
        taken from ``module``.
        """
        if not isinstance(module, cls._torch_class):
            raise InputError(f"module must be a torch.nn.{cls._torch_class.__name__}; got {type(module).__name__}.")
        if getattr(module, "parametrizations", None):
            raise InputError(f"module has torch parametrizations ({', '.join(module.parametrizations)}); only "
                             "torch.nn.utils.prune's masks can be converted: remove the others first.")
        masked = cls(**cls._constructor_kwargs(module))
        masked._load_torch_state(module)
        masked.train(module.training)
        return masked

    def _load_torch_state(self, module: nn.Module) -> None:
        """Load ``module``'s state: plain, masked, or pruned with torch (see :meth:`from_torch`)."""
        state = dict(module.state_dict())
        if isinstance(module, MaskedModule):
            self.load_state_dict(state)
            return
        for key in [k for k in state if k.endswith("_orig")]:
            name = key.removesuffix("_orig")
            if name not in self.masked_weight_names:
                raise InputError(f"{name!r} of the {type(module).__name__} is pruned with torch.nn.utils.prune, but "
                                 f"only weight matrices have masks here; call prune.remove(module, {name!r}) first.")
            mask = state.pop(name + "_mask")
            if not bool(((mask == 0) | (mask == 1)).all()):
                raise InputError(f"the torch mask of {name!r} holds values other than 0 and 1.")
            state[name], state[mask_name(name)] = state.pop(key), mask.bool()
        result = self.load_state_dict(state, strict=False)
        unexpected = list(result.unexpected_keys) + [k for k in result.missing_keys if not k.startswith("mask")]
        if unexpected:
            raise InputError(f"cannot convert the {type(module).__name__}: unexpected state {unexpected[:3]}.")

    def to_torch(self, pruned: bool = False) -> nn.Module:
        """Return the ``torch.nn`` twin of this module.

        By default its weights are the effective ``weight * mask`` (zeros where masked);
        with ``pruned=True`` it is pruned with :func:`torch.nn.utils.prune.custom_from_mask`
        instead: ``<weight>_orig`` holds the raw weights and ``<weight>_mask`` the mask,
        as if torch had pruned it. Either way it computes what this module computes.
        """
        plain = self._torch_class(**self._constructor_kwargs(self))
        with torch.no_grad():
            for name, param in plain.named_parameters():
                source = getattr(self, name)
                masked = name in self.masked_weight_names and not pruned
                param.copy_(self.effective_weight(name) if masked else source)
                param.requires_grad_(source.requires_grad)
        if pruned:
            for name in self.masked_weight_names:
                torch_prune.custom_from_mask(plain, name, getattr(self, mask_name(name)))
        plain.train(self.training)
        return plain


class _MaskedRNNBase(MaskedModule):
    """Shared body of MaskedRNN/LSTM/GRU; mixed in before the torch class it masks.

    ``forward`` swaps ``self._flat_weights`` (the list torch hands to its fused op) for
    the masked tensors, calls torch's own ``forward`` and restores the list afterwards.
    Not safe to call the same module from several threads at once.
    """

    _torch_class: type[nn.RNNBase]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._init_masks(n for n in self._flat_weights_names if n.startswith("weight"))
        # (weight name, mask name or None for a bias) in the order torch's op expects
        self._flat_mask_pairs = [
            (n, mask_name(n) if n in self.masked_weight_names else None)
            for n in self._flat_weights_names
        ]
        self._in_masked_call = False

    def _masked_flat_weights(self) -> list[Tensor]:
        # read the Parameters themselves, not torch's cached list, so functional_call and
        # load_state_dict(assign=True) are seen
        return [
            getattr(self, w) if m is None else getattr(self, w) * getattr(self, m)
            for w, m in self._flat_mask_pairs
        ]

    def _update_flat_weights(self) -> None:
        # torch's forward refreshes _flat_weights from the Parameters when it thinks they
        # were replaced; inside our call that would silently drop the masks.
        if not getattr(self, "_in_masked_call", False):
            super()._update_flat_weights()

    def forward(self, input, hx=None):  # noqa: A002 - torch's signature
        raw = self._flat_weights
        self._flat_weights = self._masked_flat_weights()  # W ⊙ M, once per call
        self._in_masked_call = True
        try:
            return super().forward(input, hx)
        finally:
            self._in_masked_call = False
            self._flat_weights = raw

    def _mask_location(self, weight_name: str) -> tuple[str, int | None, int]:
        match = _RNN_WEIGHT.match(weight_name)
        if match is None:
            raise InputError(f"weight_name must look like 'weight_ih_l0'; got {weight_name!r}.")
        target, layer, reverse = match.groups()
        return target, int(layer), int(reverse is not None)

    @classmethod
    def _constructor_kwargs(cls, module: nn.RNNBase) -> dict:
        kwargs = dict(
            input_size=module.input_size,
            hidden_size=module.hidden_size,
            num_layers=module.num_layers,
            bias=module.bias,
            batch_first=module.batch_first,
            dropout=module.dropout,
            bidirectional=module.bidirectional,
        )
        if isinstance(module, nn.LSTM):
            kwargs["proj_size"] = module.proj_size
        if isinstance(module, nn.RNN):
            kwargs["nonlinearity"] = module.nonlinearity
        first = getattr(module, module._flat_weights_names[0])
        kwargs.update(device=first.device, dtype=first.dtype)
        return kwargs


class MaskedRNN(_MaskedRNNBase, nn.RNN):
    """:class:`torch.nn.RNN` (tanh or relu) with a bool mask per weight matrix.

    Takes exactly torch's arguments and returns exactly torch's outputs; see the module
    docstring for the masking rule.

    Examples
    --------
    >>> import torch
    >>> rnn = MaskedRNN(3, 4, nonlinearity="relu")
    >>> [name for name, _ in rnn.named_buffers()]
    ['mask_ih_l0', 'mask_hh_l0']
    >>> out, h = rnn(torch.randn(5, 2, 3))   # (T, B, F) -> (T, B, H), (1, B, H)
    >>> out.shape, h.shape
    (torch.Size([5, 2, 4]), torch.Size([1, 2, 4]))
    """

    _torch_class = nn.RNN


class MaskedLSTM(_MaskedRNNBase, nn.LSTM):
    """:class:`torch.nn.LSTM` with a bool mask per weight matrix (``mask_hr_l*`` too with ``proj_size``).

    Examples
    --------
    >>> import torch
    >>> lstm = MaskedLSTM(3, 4, proj_size=2)
    >>> [name for name, _ in lstm.named_buffers()]
    ['mask_ih_l0', 'mask_hh_l0', 'mask_hr_l0']
    >>> plain = lstm.to_torch()                  # a torch.nn.LSTM holding weight * mask
    >>> x = torch.randn(5, 2, 3)
    >>> torch.allclose(lstm(x)[0], plain(x)[0])
    True
    """

    _torch_class = nn.LSTM


class MaskedGRU(_MaskedRNNBase, nn.GRU):
    """:class:`torch.nn.GRU` with a bool mask per weight matrix.

    Examples
    --------
    >>> import torch
    >>> gru = MaskedGRU.from_torch(torch.nn.GRU(3, 4, bidirectional=True))
    >>> gru.mask_hh_l0_reverse.all().item()
    True
    """

    _torch_class = nn.GRU


# ---------------------------------------------------------------------------------------
# Readout


class MaskedLinear(MaskedModule, nn.Linear):
    """:class:`torch.nn.Linear` with a bool buffer ``mask`` over ``weight``: ``y = x (W ⊙ M)^T + b``.

    Examples
    --------
    >>> import torch
    >>> lin = MaskedLinear(3, 2)
    >>> lin.mask[0] = False                      # output 0 now ignores every input
    >>> y = lin(torch.randn(4, 3))
    >>> torch.equal(y[:, 0], lin.bias[0].expand(4))
    True
    """

    _torch_class = nn.Linear

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._init_masks(["weight"])

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002 - torch's signature
        return F.linear(input, self.weight * self.mask, self.bias)

    def _mask_location(self, weight_name: str) -> tuple[str, int | None, int]:
        return "ho", None, 0

    @classmethod
    def _constructor_kwargs(cls, module: nn.Linear) -> dict:
        return dict(
            in_features=module.in_features,
            out_features=module.out_features,
            bias=module.bias is not None,
            device=module.weight.device,
            dtype=module.weight.dtype,
        )
