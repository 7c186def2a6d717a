"""Find the masked weights of a model and count its (nonzero) parameters.

:func:`masked_weights` is the one place that knows where masks live: pruning functions
iterate over its :class:`MaskedWeight` records, filter them by ``target`` / ``layer`` /
``direction`` and shrink ``record.mask`` in place.

Examples
--------
>>> from sparsernn.nn import MaskedLSTM, masked_weights, count_parameters
>>> lstm = MaskedLSTM(2, 3)
>>> [(w.name, w.target, w.layer) for w in masked_weights(lstm)]
[('weight_ih_l0', 'ih', 0), ('weight_hh_l0', 'hh', 0)]
>>> _ = lstm.mask_hh_l0.fill_(False)
>>> count_parameters(lstm)       # 4*3*2 + 4*3*3 + 2*4*3 parameters; the hh block is cut
ParameterCount(nonzero=48, total=84)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import torch
from torch import Tensor, nn

from .masked import MaskedModule, mask_name

__all__ = [
    "MaskedWeight",
    "ParameterCount",
    "masked_weights",
    "effective_parameters",
    "count_parameters",
]


@dataclass(frozen=True)
class MaskedWeight:
    """One masked weight matrix of a model and where it sits.

    Attributes
    ----------
    name : str
        Qualified parameter name in the model, e.g. ``"layers.1.weight_hh_l0"``.
    module : torch.nn.Module
        The masked module that owns the weight.
    weight_name, mask_name : str
        Attribute names of the weight and its mask on ``module``.
    target : str
        ``"ih"`` (input to hidden), ``"hh"`` (hidden to hidden), ``"hr"`` (LSTM
        projection) or ``"ho"`` (a :class:`MaskedLinear`, e.g. the readout).
    layer : int or None
        Recurrent layer index counted through the whole model in module order: every
        recurrent module (masked or not) adds its ``num_layers``. For one multi-layer
        module it is the ``_l{k}`` index, for a stack of single-layer modules the stack
        index; None for a linear layer.
    direction : int
        1 for a ``_reverse`` weight of a bidirectional layer, else 0.
    """

    name: str
    module: nn.Module = field(repr=False, compare=False)
    weight_name: str
    mask_name: str
    target: str
    layer: int | None
    direction: int

    @property
    def weight(self) -> nn.Parameter:
        """The raw weight Parameter."""
        return getattr(self.module, self.weight_name)

    @property
    def mask(self) -> Tensor:
        """The live bool mask buffer (same shape as :attr:`weight`)."""
        return getattr(self.module, self.mask_name)

    @property
    def qualified_mask_name(self) -> str:
        """The mask's key in ``model.state_dict()``, e.g. ``"layers.1.mask_hh_l0"``."""
        prefix = self.name[: len(self.name) - len(self.weight_name)]
        return prefix + self.mask_name

    def effective(self) -> Tensor:
        """Return ``weight * mask``, detached."""
        return (self.weight * self.mask).detach()


class ParameterCount(NamedTuple):
    """Number of nonzero effective parameter elements and of all parameter elements."""

    nonzero: int
    total: int

    @property
    def density(self) -> float:
        """``nonzero / total`` (0.0 for a model without parameters)."""
        return self.nonzero / self.total if self.total else 0.0

    @property
    def sparsity(self) -> float:
        """Fraction of parameter elements that are zero: ``1 - density``."""
        return 1.0 - self.density if self.total else 0.0


def masked_weights(model: nn.Module) -> list[MaskedWeight]:
    """Return every masked weight of ``model``, in module order.

    Parameters
    ----------
    model : torch.nn.Module
        Any module tree; modules that derive from :class:`MaskedModule` contribute
        their masked weights, others only advance the recurrent layer count.

    Returns
    -------
    list of MaskedWeight

    Examples
    --------
    >>> from sparsernn.nn import MaskedLSTM
    >>> lstm = MaskedLSTM(2, 3, num_layers=2, bidirectional=True)
    >>> [(w.mask_name, w.layer, w.direction) for w in masked_weights(lstm)][-2:]
    [('mask_ih_l1_reverse', 1, 1), ('mask_hh_l1_reverse', 1, 1)]
    """
    records = []
    layer_offset = 0
    for prefix, module in model.named_modules():
        if isinstance(module, MaskedModule):
            for weight_name in module.masked_weight_names:
                target, layer, direction = module._mask_location(weight_name)
                records.append(
                    MaskedWeight(
                        name=f"{prefix}.{weight_name}" if prefix else weight_name,
                        module=module,
                        weight_name=weight_name,
                        mask_name=mask_name(weight_name),
                        target=target,
                        layer=None if layer is None else layer_offset + layer,
                        direction=direction,
                    )
                )
        if isinstance(module, nn.RNNBase):
            layer_offset += module.num_layers
    return records


@torch.no_grad()
def effective_parameters(model: nn.Module) -> dict[str, Tensor]:
    """Return ``{qualified name: detached tensor}`` of the parameters the model computes with.

    A masked weight appears as ``weight * mask``; every other parameter as itself.
    """
    masked = {record.name: record for record in masked_weights(model)}
    return {
        name: masked[name].effective() if name in masked else param.detach()
        for name, param in model.named_parameters()
    }


def count_parameters(model: nn.Module) -> ParameterCount:
    """Count the nonzero effective parameter elements and all parameter elements of ``model``.

    ``total`` is the number of elements of all parameters (masked or not, each shared
    parameter once); ``nonzero`` counts the nonzero elements of
    :func:`effective_parameters`, so a masked-out weight counts as zero whatever its raw
    value.

    Examples
    --------
    >>> import torch
    >>> from sparsernn.nn import MaskedLinear
    >>> lin = MaskedLinear(2, 2)                  # 4 weights + 2 biases
    >>> with torch.no_grad():
    ...     _ = lin.weight.fill_(1.0), lin.bias.fill_(0.0)
    >>> lin.mask[0, 0] = False
    >>> count_parameters(lin)
    ParameterCount(nonzero=3, total=6)
    """
    tensors = effective_parameters(model).values()
    return ParameterCount(
        nonzero=int(sum(int(torch.count_nonzero(t)) for t in tensors)),
        total=int(sum(t.numel() for t in tensors)),
    )


@torch.no_grad()
def weight_histograms(model: nn.Module, *, bins: int = 40) -> dict[str, dict]:
    """Histogram of ``|w|`` over the unmasked entries of each masked weight matrix.

    Returns ``{qualified weight name: {"edges": [bins + 1 floats], "counts": [bins ints],
    "masked": int}}``, plain lists ready for JSON. The edges run linearly from 0 to the
    largest surviving ``|w|`` of that matrix (0 to 1 when nothing survives).

    Examples
    --------
    >>> import torch
    >>> from sparsernn.nn import MaskedLinear
    >>> lin = MaskedLinear(2, 2, bias=False)
    >>> with torch.no_grad():
    ...     _ = lin.weight.copy_(torch.tensor([[0.1, -0.4], [0.3, 0.2]]))
    >>> lin.mask[0, 1] = False
    >>> h = weight_histograms(lin, bins=3)["weight"]
    >>> h["counts"], h["masked"], [round(e, 2) for e in h["edges"]]
    ([1, 1, 1], 1, [0.0, 0.1, 0.2, 0.3])
    """
    out = {}
    for record in masked_weights(model):
        values = record.weight[record.mask].abs().double()
        high = float(values.max()) if values.numel() else 1.0
        counts = torch.histc(values, bins=bins, min=0.0, max=high or 1.0) if values.numel() else torch.zeros(bins)
        edges = torch.linspace(0.0, high or 1.0, bins + 1, dtype=torch.float64)
        out[record.name] = {"edges": edges.tolist(), "counts": [int(c) for c in counts],
                            "masked": int((~record.mask).sum())}
    return out
