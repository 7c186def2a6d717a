"""Pruning criteria: shrink the masks of a model's targeted weight matrices.

Each function changes the model's mask buffers in place and returns the model, like
:mod:`torch.nn.utils.prune`; weight values are never touched. They work on any model
built from :mod:`sparsernn.nn` masked modules (found with
:func:`sparsernn.nn.masked_weights`).

``amount`` (the same in every function of :mod:`sparsernn.prune`)
    A float in [0, 1]: the fraction of the targeted weights that are *still unmasked*
    to remove now. The number removed from a group is ``round(amount * remaining)``
    with Python's ``round`` (half to even, as :mod:`torch.nn.utils.prune` computes it),
    and exactly that many are removed, ties broken by position. Consequences: on a
    dense model ``amount`` is the resulting sparsity; ``1.0`` removes every targeted
    weight; repeated calls compose like torch's pruning containers (0.5 then 0.5 leaves
    0.25 of the weights, sparsity 0.75). Ints (counts, in torch) are refused, so ``1``
    can never mean "one weight". To reach a total sparsity use
    :func:`prune_to_sparsity` or :func:`sparsernn.prune.amount_for_sparsity`.

``targets``
    Which matrices: any non-empty subset of ``"ih"`` (input to hidden), ``"hh"``
    (hidden to hidden), ``"hr"`` (LSTM projection), ``"ho"`` (masked readout), as one
    name or a sequence; ``"both"`` is ``("ih", "hh")``.

``scope``
    ``"layer"``: every targeted matrix is a group of its own, so each loses the same
    fraction of its own remaining weights. ``"global"``: all targeted matrices form one
    pool with one ranking, so matrices with small weights lose more.

``granularity``
    The unit of removal. ``"weight"`` (the default): every matrix entry on its own.
    ``"connection"``: a connection (unit :math:`h`, input :math:`j`) of a matrix of
    shape ``(gates * H, in)``, which holds one weight per gate block, at rows
    ``g * H + h`` (4 gates for an LSTM's ih/hh matrices, 3 for a GRU's, 1 for a plain
    RNN's, an LSTM projection ``"hr"`` and a linear ``"ho"``). Viewed as
    ``(gates, H, in)``, a connection is alive while any gate keeps it, and removing it
    masks it in every gate block at once, so gate blocks that agreed -- as in a
    :class:`sparsernn.nn.GraphRNN`, whose connections are its DAG's edges -- still agree.
    Counts (``amount``, ``remaining``, ``total``, ``sparsity``) are then over
    connections, ``H * in`` per matrix, not weights. A connection's magnitude is the L2
    norm over gates of its unmasked weights,

    .. math:: s_{hj} = \\Big(\\sum_{g=1}^{\\text{gates}} M_{g h j}\\, W_{g h j}^2\\Big)^{1/2},

    and :func:`random` draws one uniform per connection. With one gate, ``"connection"``
    removes exactly what ``"weight"`` removes.

Ties are broken by position: among equal scores the weight that comes first (module
order, then row-major index) is removed first. Weights already masked are never
selected again, and no mask entry ever goes back to True. Every function computes all
new masks before writing any; if something fails, the model is left as it was.

Examples
--------
>>> import torch
>>> from sparsernn.nn import MaskedLinear
>>> from sparsernn.prune import sparsity
>>> lin = MaskedLinear(4, 1, bias=False)
>>> with torch.no_grad():
...     _ = lin.weight.copy_(torch.tensor([[0.3, -0.1, 2.0, 0.2]]))
>>> magnitude(lin, 0.5, targets="ho").mask          # removes the 2 smallest |w|
tensor([[ True, False,  True, False]])
>>> magnitude(lin, 0.5, targets="ho").mask          # half of the 2 that remain
tensor([[False, False,  True, False]])
>>> sparsity(lin)
{'weight': 0.75, 'overall': 0.75}
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor, nn

from .. import seeding
from ..checks import check_choice, check_fraction, is_real
from ..errors import InputError
from ..nn import MaskedWeight
from ._core import (
    DEFAULT_TARGETS,
    Connections,
    assign_masks,
    check_amount,
    check_finite_scores,
    check_granularity,
    check_model,
    check_scope,
    check_targets,
    remove_units,
    select,
    units_of,
)

__all__ = ["CRITERIA", "magnitude", "prune_to_sparsity", "random", "threshold"]

# criteria that rank weights, by name (what GradualPruner and prune_to_sparsity accept)
CRITERIA = ("magnitude", "random")


# ---------------------------------------------------------------------------------------
# Scores: lower is removed first


def _magnitude_scores(record: MaskedWeight) -> Tensor:
    """|w| of one matrix; NaN among its unmasked entries is refused."""
    return check_finite_scores(record, record.weight.detach().abs(), "magnitude")


def _random_source(seed, func: str):
    """Decode ``seed`` once into ``draw(shape) -> float64 CPU tensor`` of uniforms in [0, 1)."""
    if isinstance(seed, torch.Generator):
        return lambda shape: torch.rand(shape, generator=seed, dtype=torch.float64, device=seed.device).cpu()
    rng = seeding.rng(seed, func, expected="an int, a numpy.random.Generator or a torch.Generator")
    return lambda shape: torch.from_numpy(rng.random(tuple(shape)))


def _random_scores(units: list[MaskedWeight] | list[Connections], seed, func: str) -> dict[str, Tensor]:
    """One uniform score per unit (weight or connection) of every matrix, drawn in module
    order from one source."""
    draw = _random_source(seed, func)
    return {u.name: draw(u.mask.shape) for u in units}


def _connection_norms(view: Connections, magnitudes: Tensor) -> Tensor:
    """L2 norm over the gates of each connection's unmasked ``magnitudes``: (H, in) float64."""
    kept = torch.where(view.record.mask, magnitudes, torch.zeros_like(magnitudes)).to(torch.float64)
    return torch.linalg.vector_norm(view.blocks(kept), dim=0)  # (gates, H, in) -> (H, in)


def _connection_magnitude_scores(view: Connections) -> Tensor:
    """The gate norm of every connection of one matrix; NaN among its unmasked weights is refused."""
    return _connection_norms(view, _magnitude_scores(view.record))


def _scorer(criterion: str, units: list, seed, func: str):
    """``score(unit)`` for :func:`sparsernn.prune._core.remove_units`; random scores are drawn now."""
    if criterion == "random":
        scores = _random_scores(units, seed, func)
        return lambda u: scores[u.name]
    if any(isinstance(u, Connections) for u in units):
        return lambda u: _connection_magnitude_scores(u)
    return lambda r: _magnitude_scores(r)


# ---------------------------------------------------------------------------------------
# Criteria


def _prune(model, targets, scope, granularity, func, criterion, seed, count):
    """Select, score, compute every new mask, then assign them all (or none)."""
    records = select(model, targets, func)
    units = units_of(records, granularity)
    assign_masks(records, remove_units(units, scope, count, _scorer(criterion, units, seed, func)))
    return model


def magnitude(
    model: nn.Module,
    amount: float,
    *,
    targets: str | tuple[str, ...] = DEFAULT_TARGETS,
    scope: str = "layer",
    granularity: str = "weight",
) -> nn.Module:
    """Remove the still-unmasked targeted weights with the smallest absolute value.

    Per group (one matrix for ``scope="layer"``, all targeted matrices pooled for
    ``scope="global"``) the ``round(amount * remaining)`` unmasked weights with the
    smallest ``|w|`` are masked; see the module docstring for ``amount``, ``targets``,
    ``scope`` and ties. Layer scope selects the same weights as
    ``torch.nn.utils.prune.l1_unstructured`` on each matrix, global scope the same as
    ``torch.nn.utils.prune.global_unstructured(..., pruning_method=L1Unstructured)``.
    With ``granularity="connection"`` the units are connections instead, ranked by the
    L2 norm over gates of their unmasked weights,
    :math:`s_{hj} = (\\sum_g M_{ghj} W_{ghj}^2)^{1/2}`, and each removed connection is
    masked in every gate block.

    Side effects:

    1. Sets to False, in place, the mask entries of the removed weights (with
       ``granularity="connection"``, of every gate of each removed connection); no
       entry becomes True, weight values are unchanged.
    2. On any error (bad argument, NaN among the unmasked weights) no mask is changed.

    Parameters
    ----------
    model : torch.nn.Module
        A model built from :mod:`sparsernn.nn` masked modules.
    amount : float in [0, 1]
        Fraction of the still-unmasked targeted weights (or connections) to remove.
    targets : str or sequence of str, default ("ih", "hh")
    scope : {"layer", "global"}, default "layer"
    granularity : {"weight", "connection"}, default "weight"
        The unit of removal; see the module docstring.

    Returns
    -------
    torch.nn.Module
        ``model`` itself.

    Examples
    --------
    >>> import torch
    >>> from sparsernn.nn import MaskedGRU, MaskedLinear
    >>> lin = MaskedLinear(3, 2, bias=False)
    >>> with torch.no_grad():
    ...     _ = lin.weight.copy_(torch.tensor([[0.1, -0.1, 5.0], [0.1, 2.0, -3.0]]))
    >>> magnitude(lin, 0.5, targets="ho").mask       # 3 of 6 removed: three tied 0.1, by position
    tensor([[False, False,  True],
            [False,  True,  True]])

    A GRU with one unit and two inputs has two connections, each with an r, z and n weight:

    >>> gru = MaskedGRU(2, 1)
    >>> with torch.no_grad():
    ...     _ = gru.weight_ih_l0.copy_(torch.tensor([[3.0, 0.1], [0.0, 2.0], [0.0, 2.0]]))
    >>> magnitude(gru, 0.5, targets="ih", granularity="connection").mask_ih_l0   # gate norms 3.0, 2.83
    tensor([[ True, False],
            [ True, False],
            [ True, False]])
    """
    func = "magnitude"
    check_model(model, func)
    amount = check_amount(amount, func)
    targets = check_targets(targets, func)
    scope = check_scope(scope, func)
    granularity = check_granularity(granularity, func)
    count = lambda remaining, total: round(amount * remaining)
    return _prune(model, targets, scope, granularity, func, "magnitude", None, count)


def random(
    model: nn.Module,
    amount: float,
    *,
    targets: str | tuple[str, ...] = DEFAULT_TARGETS,
    scope: str = "layer",
    seed: int | np.random.Generator | torch.Generator,
    granularity: str = "weight",
) -> nn.Module:
    """Remove a uniformly random subset of the still-unmasked targeted weights (a baseline).

    Per group (see the module docstring) exactly ``round(amount * remaining)`` unmasked
    weights are removed, each subset of that size equally likely. Every targeted
    matrix draws one uniform score per entry, in module order, from the source decoded
    from ``seed``; the lowest-scoring unmasked entries go. The global RNGs of torch,
    numpy and ``random`` are never used. With ``granularity="connection"`` the same
    holds for connections: one uniform per connection (an ``(H, in)`` draw per matrix),
    and a removed connection is masked in every gate block.

    Side effects:

    1. Sets to False, in place, the mask entries of the removed weights (or of every
       gate of each removed connection); no entry becomes True, weight values are
       unchanged.
    2. Advances ``seed`` when it is a generator (not when it is an int).
    3. On any error no mask is changed.

    Parameters
    ----------
    model : torch.nn.Module
    amount : float in [0, 1]
        Fraction of the still-unmasked targeted weights to remove.
    targets : str or sequence of str, default ("ih", "hh")
    scope : {"layer", "global"}, default "layer"
    seed : int, numpy.random.Generator or torch.Generator
        Required: the same int gives the same masks.
    granularity : {"weight", "connection"}, default "weight"
        The unit of removal; see the module docstring.

    Returns
    -------
    torch.nn.Module
        ``model`` itself.

    Examples
    --------
    >>> from sparsernn.nn import MaskedLSTM
    >>> lstm = MaskedLSTM(4, 5)
    >>> _ = random(lstm, 0.25, seed=0)
    >>> [int((~m).sum()) for m in (lstm.mask_ih_l0, lstm.mask_hh_l0)]   # round(0.25 * 80), round(0.25 * 100)
    [20, 25]
    >>> lstm = MaskedLSTM(4, 5)
    >>> _ = random(lstm, 0.25, seed=0, granularity="connection")
    >>> [int((~m).sum()) for m in (lstm.mask_ih_l0, lstm.mask_hh_l0)]   # 4 gates * round(0.25 * 20), * round(0.25 * 25)
    [20, 24]
    """
    func = "random"
    check_model(model, func)
    amount = check_amount(amount, func)
    targets = check_targets(targets, func)
    scope = check_scope(scope, func)
    granularity = check_granularity(granularity, func)
    count = lambda remaining, total: round(amount * remaining)
    return _prune(model, targets, scope, granularity, func, "random", seed, count)


def threshold(
    model: nn.Module,
    value: float,
    *,
    targets: str | tuple[str, ...] = DEFAULT_TARGETS,
    granularity: str = "weight",
) -> nn.Module:
    """Remove every still-unmasked targeted weight with ``|w| < value``.

    The number removed follows from the weights, not from an amount: it may be none or
    all of them, and neither is an error. Check the outcome with
    :func:`sparsernn.prune.sparsity`. NaN weights are never below a threshold, so they
    stay. With ``granularity="connection"`` every connection whose gate norm
    :math:`s_{hj} = (\\sum_g M_{ghj} W_{ghj}^2)^{1/2}` is below ``value`` is removed, in
    every gate block (a NaN among its unmasked weights makes the norm NaN: it stays).

    Side effects:

    1. Sets to False, in place, the mask entries of the removed weights (or of every
       gate of each removed connection); no entry becomes True, weight values are
       unchanged.
    2. On any error no mask is changed.

    Parameters
    ----------
    model : torch.nn.Module
    value : float >= 0
        A finite magnitude; weights strictly below it are removed (0.0 removes nothing).
    targets : str or sequence of str, default ("ih", "hh")
    granularity : {"weight", "connection"}, default "weight"
        The unit of removal; see the module docstring.

    Returns
    -------
    torch.nn.Module
        ``model`` itself.

    Examples
    --------
    >>> import torch
    >>> from sparsernn.nn import MaskedLinear
    >>> lin = MaskedLinear(4, 1, bias=False)
    >>> with torch.no_grad():
    ...     _ = lin.weight.copy_(torch.tensor([[0.005, -0.01, 0.2, -0.009]]))
    >>> threshold(lin, 0.01, targets="ho").mask
    tensor([[False,  True,  True, False]])
    """
    func = "threshold"
    check_model(model, func)
    if not is_real(value) or not math.isfinite(value) or value < 0:
        raise InputError(f"The 'value' parameter of {func} must be a finite float >= 0; got {value!r}.")
    value = float(value)
    targets = check_targets(targets, func)
    granularity = check_granularity(granularity, func)
    records = select(model, targets, func)
    if granularity == "weight":
        new_masks = {r.name: ~(r.weight.detach().abs() < value) for r in records}
    else:
        views = units_of(records, granularity)
        new_masks = {v.name: v.expand(~(_connection_norms(v, v.record.weight.detach().abs()) < value)) for v in views}
    assign_masks(records, new_masks)
    return model


def prune_to_sparsity(
    model: nn.Module,
    sparsity: float,
    *,
    criterion: str = "magnitude",
    targets: str | tuple[str, ...] = DEFAULT_TARGETS,
    scope: str = "layer",
    seed: int | np.random.Generator | torch.Generator | None = None,
    granularity: str = "weight",
) -> nn.Module:
    """Remove just enough weights that each group reaches ``sparsity``, counted exactly.

    A group (one matrix for ``scope="layer"``, the pooled targeted matrices for
    ``"global"``) with ``total`` entries of which ``masked`` are already False loses
    ``max(0, round(sparsity * total) - masked)`` still-unmasked weights, chosen by
    ``criterion`` (``"magnitude"`` or ``"random"``, as in :func:`magnitude` and
    :func:`random`). A group already at or above ``sparsity`` is left alone: masks never
    grow. Here ``sparsity`` is a target, not an ``amount``; this is what
    :class:`sparsernn.prune.GradualPruner` calls, and what an iterative schedule
    (:func:`sparsernn.prune.iterative_sparsities`) should call to land on exact counts.
    With ``granularity="connection"`` entries are connections (``H * in`` per matrix; a
    connection is masked when every gate masks it), so each group ends with
    ``round(sparsity * connections)`` masked connections, each masked in every gate.

    Side effects:

    1. Sets to False, in place, the mask entries of the removed weights (or of every
       gate of each removed connection); no entry becomes True, weight values are
       unchanged.
    2. Advances ``seed`` when it is a generator and ``criterion="random"``.
    3. On any error no mask is changed.

    Parameters
    ----------
    model : torch.nn.Module
    sparsity : float in [0, 1]
        Fraction of each group's entries that should be masked afterwards.
    criterion : {"magnitude", "random"}, default "magnitude"
    targets : str or sequence of str, default ("ih", "hh")
    scope : {"layer", "global"}, default "layer"
    seed : int or generator, optional
        Required for ``criterion="random"``, ignored otherwise.
    granularity : {"weight", "connection"}, default "weight"
        The unit of removal and of counting; see the module docstring.

    Returns
    -------
    torch.nn.Module
        ``model`` itself.

    Examples
    --------
    >>> from sparsernn.nn import MaskedGRU
    >>> gru = MaskedGRU(3, 4)                        # weight_ih 12x3, weight_hh 12x4
    >>> _ = prune_to_sparsity(gru, 0.3)
    >>> [int((~m).sum()) for m in (gru.mask_ih_l0, gru.mask_hh_l0)]   # round(0.3 * 36), round(0.3 * 48)
    [11, 14]
    >>> _ = prune_to_sparsity(gru, 0.1)              # already sparser: nothing happens
    >>> [int((~m).sum()) for m in (gru.mask_ih_l0, gru.mask_hh_l0)]
    [11, 14]
    >>> gru = MaskedGRU(3, 4)                        # 4x3 and 4x4 connections, 3 gates each
    >>> _ = prune_to_sparsity(gru, 0.3, granularity="connection")
    >>> [int((~m).sum()) for m in (gru.mask_ih_l0, gru.mask_hh_l0)]   # 3 * round(0.3 * 12), 3 * round(0.3 * 16)
    [12, 15]
    """
    func = "prune_to_sparsity"
    check_model(model, func)
    sparsity = check_fraction(sparsity, "sparsity", func)
    check_choice(criterion, "criterion", func, CRITERIA)
    targets = check_targets(targets, func)
    scope = check_scope(scope, func)
    granularity = check_granularity(granularity, func)
    if criterion == "random" and seed is None:
        raise InputError(f"The 'seed' parameter of {func} is required with criterion='random'; got None.")
    count = lambda remaining, total: max(0, round(sparsity * total) - (total - remaining))
    return _prune(model, targets, scope, granularity, func, criterion, seed, count)
