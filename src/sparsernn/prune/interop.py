"""Exchange masks with :mod:`torch.nn.utils.prune`'s ``<name>_mask`` convention.

torch stores the mask of a pruned parameter ``<prefix>.<weight>`` as a float 0/1 buffer
``<prefix>.<weight>_mask`` (next to ``<prefix>.<weight>_orig``). :func:`export_masks`
writes the masks of a sparsernn model under those keys; :func:`import_masks` reads such
a mapping, or the whole ``state_dict()`` of a module pruned with torch, into a model's
bool mask buffers.

Examples
--------
>>> import torch
>>> from torch.nn.utils import prune as torch_prune
>>> from sparsernn.nn import MaskedGRU
>>> gru = MaskedGRU(3, 4)
>>> plain = gru.to_torch()
>>> _ = torch_prune.l1_unstructured(plain, "weight_hh_l0", amount=0.5)
>>> _ = import_masks(gru, plain.state_dict())          # takes the '*_mask' entries
>>> torch.equal(gru.mask_hh_l0, plain.weight_hh_l0_mask.bool())
True
>>> sorted(export_masks(gru))
['weight_hh_l0_mask', 'weight_ih_l0_mask']
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import Tensor, nn

from ..checks import check_choice
from ..errors import InputError
from ._core import assign_masks, check_model, check_targets, select

__all__ = ["MODES", "SUFFIX", "export_masks", "import_masks"]

SUFFIX = "_mask"
MODES = ("and", "replace")


def export_masks(model: nn.Module, targets: str | tuple[str, ...] | None = None) -> dict[str, Tensor]:
    """Return the masks of ``model`` in torch's pruning convention.

    Parameters
    ----------
    model : torch.nn.Module
        A model built from :mod:`sparsernn.nn` masked modules.
    targets : str or sequence of str, optional
        As in :func:`sparsernn.prune.magnitude`; None (default) exports every mask.

    Returns
    -------
    dict
        ``{"<qualified weight name>_mask": tensor}`` in module order, e.g.
        ``"layers.0.weight_ih_l0_mask"``; each tensor is a new float 0/1 tensor with the
        weight's dtype, device and shape, as torch stores it.

    Examples
    --------
    >>> from sparsernn.nn import MaskedLinear
    >>> lin = MaskedLinear(2, 1)
    >>> lin.mask[0, 1] = False
    >>> export_masks(lin)
    {'weight_mask': tensor([[1., 0.]])}
    """
    func = "export_masks"
    check_model(model, func)
    if targets is not None:
        targets = check_targets(targets, func)
    return {r.name + SUFFIX: r.mask.detach().to(r.weight.dtype).clone() for r in select(model, targets, func)}


def import_masks(model: nn.Module, masks: Mapping[str, Tensor], *, mode: str = "and") -> nn.Module:
    """Set the masks of ``model`` from a ``{"<weight name>_mask": 0/1 tensor}`` mapping.

    Keys that do not end in ``"_mask"`` are ignored, so the ``state_dict()`` of a module
    pruned with :mod:`torch.nn.utils.prune` can be passed whole (its ``*_orig`` weights
    and biases are skipped). Every ``"_mask"`` key must name a masked weight of
    ``model`` (its qualified name, as in :func:`export_masks`); weights not named keep
    their masks.

    Side effects:

    1. With ``mode="and"`` (default) each named mask becomes ``old & new``: masks only
       shrink. With ``mode="replace"`` it becomes ``new``, so entries may be unmasked.
       Buffers are updated in place; weight values are unchanged.
    2. Everything is validated before anything is written: on any error no mask changes.

    Parameters
    ----------
    model : torch.nn.Module
    masks : mapping of str to Tensor
        Tensors of the weights' shapes holding only 0 and 1 (float, int or bool).
    mode : {"and", "replace"}, default "and"

    Returns
    -------
    torch.nn.Module
        ``model`` itself.

    Examples
    --------
    >>> import torch
    >>> from sparsernn.nn import MaskedLinear
    >>> lin = MaskedLinear(2, 1)
    >>> lin.mask[0, 0] = False
    >>> import_masks(lin, {"weight_mask": torch.tensor([[1.0, 0.0]])}).mask      # ANDed
    tensor([[False, False]])
    >>> import_masks(lin, {"weight_mask": torch.tensor([[1.0, 0.0]])}, mode="replace").mask
    tensor([[ True, False]])
    """
    func = "import_masks"
    check_model(model, func)
    if not isinstance(masks, Mapping):
        raise InputError(f"The 'masks' parameter of {func} must be a mapping of names to tensors; "
                         f"got {type(masks).__name__}.")
    check_choice(mode, "mode", func, MODES)
    records = select(model, None, func)
    by_name = {r.name: r for r in records}
    keys = [k for k in masks if isinstance(k, str) and k.endswith(SUFFIX)]
    if not keys:
        raise InputError(
            f"{func}: masks holds no '<weight name>{SUFFIX}' entries; "
            f"expected keys like {next(iter(by_name)) + SUFFIX!r}."
        )

    new_masks: dict[str, Tensor] = {}
    for key in keys:
        name = key[: -len(SUFFIX)]
        if name not in by_name:
            raise InputError(
                f"{func}: {key!r} names no masked weight of the model; expected one of "
                f"{', '.join(repr(n + SUFFIX) for n in by_name)}."
            )
        value, shape = masks[key], tuple(by_name[name].mask.shape)
        if not isinstance(value, Tensor) or tuple(value.shape) != shape:
            shown = tuple(value.shape) if isinstance(value, Tensor) else type(value).__name__
            raise InputError(f"{func}: {key!r} must be a tensor of shape {shape}; got {shown}.")
        value = value.detach()
        if value.dtype != torch.bool and not bool(((value == 0) | (value == 1)).all()):
            raise InputError(f"{func}: {key!r} must hold only 0 and 1; got other values.")
        new_masks[name] = value != 0
    assign_masks(records, new_masks, shrink_only=mode == "and")
    return model
