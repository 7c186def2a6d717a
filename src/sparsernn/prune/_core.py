"""Shared machinery of the pruning functions: argument checks, target selection, and the
all-or-nothing mask update.

Every public pruning function in :mod:`sparsernn.prune` goes through here, so ``amount``,
``targets`` and ``scope`` are checked and interpreted in exactly one place:

* ``targets`` picks masked weights by :attr:`sparsernn.nn.MaskedWeight.target`;
* ``granularity`` picks the unit of removal: a weight (the record itself) or a
  connection (a :class:`Connections` view of the record, one entry per (unit, input)
  pair shared by every gate block; :func:`units_of`);
* :func:`remove_by_score` ranks the still-unmasked units of each group (one matrix for
  ``scope="layer"``, all targeted matrices pooled for ``scope="global"``) and removes the
  ``k`` lowest-scoring ones, ties broken by position; :func:`remove_units` does the same
  and expands connections back to full masks;
* :func:`assign_masks` writes every new mask or, if anything fails, none.

Examples
--------
>>> from sparsernn.nn import MaskedLSTM
>>> check_targets("both", "magnitude")
('ih', 'hh')
>>> [r.name for r in select(MaskedLSTM(2, 3), ("hh",), "magnitude")]
['weight_hh_l0']
>>> view = Connections.of(select(MaskedLSTM(2, 3), ("ih",), "magnitude")[0])
>>> view.gates, tuple(view.mask.shape)         # weight_ih (4*3, 2): 3*2 connections in 4 gates
(4, (3, 2))
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ..checks import check_choice, check_fraction
from ..errors import InputError
from ..nn import MaskedWeight, masked_weights

__all__ = [
    "ALIASES",
    "DEFAULT_TARGETS",
    "GRANULARITIES",
    "SCOPES",
    "TARGETS",
    "Connections",
    "assign_masks",
    "check_amount",
    "check_finite_scores",
    "check_granularity",
    "check_model",
    "check_scope",
    "check_targets",
    "gates_of",
    "groups_of",
    "is_close",
    "remove_by_score",
    "remove_units",
    "select",
    "units_of",
]

TARGETS = ("ih", "hh", "hr", "ho")
ALIASES = {"both": ("ih", "hh")}
DEFAULT_TARGETS = ("ih", "hh")
SCOPES = ("layer", "global")
GRANULARITIES = ("weight", "connection")
# gate blocks stacked in the rows of an ih/hh matrix, by torch's RNNBase.mode (else 1)
_GATES = {"LSTM": 4, "GRU": 3}


def _quoted(names) -> str:
    return ", ".join(repr(n) for n in names)


def check_model(model, func: str) -> nn.Module:
    """Return ``model`` if it is a :class:`torch.nn.Module`, else raise :class:`InputError`."""
    if not isinstance(model, nn.Module):
        raise InputError(f"The 'model' parameter of {func} must be a torch.nn.Module; got {type(model).__name__}.")
    return model


def check_amount(amount, func: str) -> float:
    """Check ``amount``: a float in [0, 1], the fraction of still-unmasked targeted weights to remove."""
    return check_fraction(amount, "amount", func, allow_int=False)


def check_scope(scope, func: str) -> str:
    """Return ``scope`` if it is ``"layer"`` or ``"global"``."""
    return check_choice(scope, "scope", func, SCOPES)


def check_granularity(granularity, func: str) -> str:
    """Return ``granularity`` if it is ``"weight"`` or ``"connection"``."""
    return check_choice(granularity, "granularity", func, GRANULARITIES)


def check_targets(targets, func: str) -> tuple[str, ...]:
    """Return ``targets`` as a tuple of distinct names from :data:`TARGETS`, aliases expanded.

    ``targets`` is one name or a non-empty sequence of names; ``"both"`` means ``("ih", "hh")``.
    """
    allowed = f"{_quoted(TARGETS + tuple(ALIASES))}"
    names = [targets] if isinstance(targets, str) else targets
    if not isinstance(names, Sequence) or isinstance(names, bytes) or len(names) == 0:
        raise InputError(
            f"The 'targets' parameter of {func} must be a name or a non-empty sequence of names from {allowed}; "
            f"got {targets!r}."
        )
    expanded: list[str] = []
    for name in names:
        if not isinstance(name, str) or (name not in TARGETS and name not in ALIASES):
            raise InputError(f"The 'targets' parameter of {func} accepts only {allowed}; got {name!r}.")
        for target in ALIASES.get(name, (name,)):
            if target not in expanded:
                expanded.append(target)
    return tuple(expanded)


def select(model: nn.Module, targets: tuple[str, ...] | None, func: str) -> list[MaskedWeight]:
    """Return the masked weights of ``model`` whose target is in ``targets`` (all if None), in module order.

    Raises :class:`InputError` when the model has no masked weights, or none for one of
    the requested targets.
    """
    records = masked_weights(model)
    present = tuple(t for t in TARGETS if any(r.target == t for r in records))
    if not records:
        raise InputError(
            f"{func}: model has no masked weights to prune; build it from sparsernn.nn masked modules."
        )
    if targets is None:
        return records
    for target in targets:
        if target not in present:
            raise InputError(f"{func}: model has no {target!r} weights to prune; it has {_quoted(present)}.")
    return [r for r in records if r.target in targets]


def groups_of(records: list[MaskedWeight], scope: str) -> list[list[MaskedWeight]]:
    """One group per matrix for ``scope="layer"``, one pooled group for ``scope="global"``."""
    return [[r] for r in records] if scope == "layer" else [list(records)]


def gates_of(record: MaskedWeight) -> int:
    """Number of gate blocks stacked in the rows of ``record``'s matrix.

    4 for the ih/hh matrices of an LSTM (i, f, g, o), 3 for a GRU's (r, z, n), 1 for a
    plain RNN's, for an LSTM projection (``"hr"``) and for a linear layer (``"ho"``).
    """
    if record.target in ("ih", "hh") and isinstance(record.module, nn.RNNBase):
        return _GATES.get(record.module.mode, 1)
    return 1


@dataclass(frozen=True)
class Connections:
    """The connection-level view of one masked weight matrix.

    A matrix of shape ``(gates * H, in)`` holds, for each connection (unit ``h``, input
    ``j``), one weight per gate block, at rows ``g * H + h``. Viewed as
    ``(gates, H, in)``, connection ``(h, j)`` is alive while any gate keeps it, and
    removing it masks it in every gate at once.

    Attributes
    ----------
    record : MaskedWeight
        The matrix.
    gates : int
        Its number of gate blocks (:func:`gates_of`).
    mask : Tensor
        ``(H, in)`` bool, True where some gate keeps the connection: a copy taken when
        the view is made (:meth:`of`), so it does not follow later writes.
    """

    record: MaskedWeight
    gates: int
    mask: Tensor

    @classmethod
    def of(cls, record: MaskedWeight) -> Connections:
        """The view of ``record`` as its mask is now."""
        gates = gates_of(record)
        alive = record.mask.detach().reshape(gates, -1, record.mask.shape[-1]).any(dim=0)  # (H, in)
        return cls(record, gates, alive.cpu())

    @property
    def name(self) -> str:
        """The qualified weight name of the matrix (what new masks are keyed by)."""
        return self.record.name

    def blocks(self, tensor: Tensor) -> Tensor:
        """``tensor`` of the matrix's shape ``(gates * H, in)`` viewed as ``(gates, H, in)``."""
        return tensor.reshape(self.gates, -1, tensor.shape[-1])

    def expand(self, keep: Tensor) -> Tensor:
        """The full ``(gates * H, in)`` mask that keeps connection ``(h, j)`` where ``keep``
        is True in the gates that kept it, and masks it in every gate elsewhere."""
        return keep.cpu().repeat(self.gates, 1) & self.record.mask.detach().cpu()  # block-wise over the gates


def units_of(records: list[MaskedWeight], granularity: str) -> list[MaskedWeight] | list[Connections]:
    """The units of removal: the records themselves (``"weight"``) or their connection views."""
    return list(records) if granularity == "weight" else [Connections.of(r) for r in records]


def remove_units(
    units: list[MaskedWeight] | list[Connections],
    scope: str,
    count: Callable[[int, int], int],
    score: Callable,
) -> dict[str, Tensor]:
    """:func:`remove_by_score` over the groups of ``units`` (see :func:`units_of`), with
    connection-level masks expanded back to full ``(gates * H, in)`` masks."""
    new_masks = remove_by_score(groups_of(units, scope), count, score)
    for unit in units:
        if isinstance(unit, Connections) and unit.name in new_masks:
            new_masks[unit.name] = unit.expand(new_masks[unit.name])
    return new_masks


def remove_by_score(
    groups: list[list[MaskedWeight]],
    count: Callable[[int, int], int],
    score: Callable[[MaskedWeight], Tensor],
) -> dict[str, Tensor]:
    """Compute (do not assign) new masks that remove the lowest-scoring unmasked weights.

    For each group, ``k = count(remaining, total)`` (``remaining`` = unmasked entries of
    the group, ``total`` = all its entries) of its unmasked entries are removed: those
    with the smallest ``score``, ties broken by position (module order, then row-major
    index; a stable sort). ``score`` is only called for groups with ``k > 0``. Returns
    ``{record name: new bool mask}`` for the groups that change. A group holds records or
    :class:`Connections` views (anything with a ``name`` and a ``mask``); the new masks
    have the shape of that ``mask``.
    """
    new_masks: dict[str, Tensor] = {}
    for group in groups:
        flat_masks = [r.mask.detach().reshape(-1).cpu() for r in group]
        keep = torch.cat(flat_masks)
        remaining, total = int(keep.sum()), keep.numel()
        k = count(remaining, total)
        if not 0 <= k <= remaining:  # a bug in a caller, not bad user input
            raise RuntimeError(f"cannot remove {k} of {remaining} remaining weights")
        if k == 0:
            continue
        scores = torch.cat([score(r).detach().reshape(-1).to("cpu", torch.float64) for r in group])
        alive = keep.nonzero().squeeze(1)  # (remaining,)
        order = torch.argsort(scores[alive], stable=True)
        keep = keep.clone()
        keep[alive[order[:k]]] = False
        for r, part in zip(group, keep.split([m.numel() for m in flat_masks])):
            new_masks[r.name] = part.reshape(r.mask.shape)
    return new_masks


@torch.no_grad()
def assign_masks(records: list[MaskedWeight], new_masks: dict[str, Tensor], *, shrink_only: bool = True) -> None:
    """Write ``new_masks`` into the live mask buffers, all of them or none.

    With ``shrink_only`` the new mask is ANDed with the old one, so no entry is ever
    unmasked. The buffers are updated in place (their identity is kept); if a write
    fails, the buffers already written are restored and the error is re-raised.
    """
    by_name = {r.name: r for r in records}
    old = {name: by_name[name].mask.clone() for name in new_masks}
    done: list[str] = []
    try:
        for name, mask in new_masks.items():
            live = by_name[name].mask
            mask = mask.to(device=live.device, dtype=torch.bool)
            live.copy_(live & mask if shrink_only else mask)
            done.append(name)
    except BaseException:
        for name in done:
            by_name[name].mask.copy_(old[name])
        raise


def check_finite_scores(record: MaskedWeight, scores: Tensor, func: str) -> Tensor:
    """Raise :class:`InputError` if an unmasked entry of ``scores`` is NaN; return ``scores``."""
    bad = int(torch.isnan(scores[record.mask]).sum())
    if bad:
        raise InputError(f"{func}: weight {record.name!r} holds {bad} NaN value(s) among its unmasked entries; "
                         "expected finite weights to rank.")
    return scores


def is_close(a: float, b: float) -> bool:
    """Float comparison used where a schedule must land exactly on a value."""
    return math.isclose(a, b, rel_tol=0.0, abs_tol=1e-12)
