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
    assign_masks,
    check_amount,
    check_finite_scores,
    check_model,
    check_scope,
    check_targets,
    groups_of,
    remove_by_score,
    select,
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


def _random_scores(records: list[MaskedWeight], seed, func: str) -> dict[str, Tensor]:
    """One uniform score per entry of every record, drawn in module order from one source."""
    draw = _random_source(seed, func)
    return {r.name: draw(r.mask.shape) for r in records}


# ---------------------------------------------------------------------------------------
# Criteria


def _prune_amount(model, amount, targets, scope, func, score):
    records = select(model, targets, func)
    new_masks = remove_by_score(
        groups_of(records, scope),
        count=lambda remaining, total: round(amount * remaining),
        score=score,
    )
    assign_masks(records, new_masks)
    return model


def magnitude(
    model: nn.Module,
    amount: float,
    *,
    targets: str | tuple[str, ...] = DEFAULT_TARGETS,
    scope: str = "layer",
) -> nn.Module:
    """Remove the still-unmasked targeted weights with the smallest absolute value.

    Per group (one matrix for ``scope="layer"``, all targeted matrices pooled for
    ``scope="global"``) the ``round(amount * remaining)`` unmasked weights with the
    smallest ``|w|`` are masked; see the module docstring for ``amount``, ``targets``,
    ``scope`` and ties. Layer scope selects the same weights as
    ``torch.nn.utils.prune.l1_unstructured`` on each matrix, global scope the same as
    ``torch.nn.utils.prune.global_unstructured(..., pruning_method=L1Unstructured)``.

    Side effects:

    1. Sets to False, in place, the mask entries of the removed weights; no entry
       becomes True, weight values are unchanged.
    2. On any error (bad argument, NaN among the unmasked weights) no mask is changed.

    Parameters
    ----------
    model : torch.nn.Module
        A model built from :mod:`sparsernn.nn` masked modules.
    amount : float in [0, 1]
        Fraction of the still-unmasked targeted weights to remove.
    targets : str or sequence of str, default ("ih", "hh")
    scope : {"layer", "global"}, default "layer"

    Returns
    -------
    torch.nn.Module
        ``model`` itself.

    Examples
    --------
    >>> import torch
    >>> from sparsernn.nn import MaskedLinear
    >>> lin = MaskedLinear(3, 2, bias=False)
    >>> with torch.no_grad():
    ...     _ = lin.weight.copy_(torch.tensor([[0.1, -0.1, 5.0], [0.1, 2.0, -3.0]]))
    >>> magnitude(lin, 0.5, targets="ho").mask       # 3 of 6 removed: three tied 0.1, by position
    tensor([[False, False,  True],
            [False,  True,  True]])
    """
    func = "magnitude"
    check_model(model, func)
    amount = check_amount(amount, func)
    targets = check_targets(targets, func)
    scope = check_scope(scope, func)
    return _prune_amount(model, amount, targets, scope, func, lambda r: _magnitude_scores(r))


def random(
    model: nn.Module,
    amount: float,
    *,
    targets: str | tuple[str, ...] = DEFAULT_TARGETS,
    scope: str = "layer",
    seed: int | np.random.Generator | torch.Generator,
) -> nn.Module:
    """Remove a uniformly random subset of the still-unmasked targeted weights (a baseline).

    Per group (see the module docstring) exactly ``round(amount * remaining)`` unmasked
    weights are removed, each subset of that size equally likely. Every targeted
    matrix draws one uniform score per entry, in module order, from the source decoded
    from ``seed``; the lowest-scoring unmasked entries go. The global RNGs of torch,
    numpy and ``random`` are never used.

    Side effects:

    1. Sets to False, in place, the mask entries of the removed weights; no entry
       becomes True, weight values are unchanged.
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
    """
    func = "random"
    check_model(model, func)
    amount = check_amount(amount, func)
    targets = check_targets(targets, func)
    scope = check_scope(scope, func)
    records = select(model, targets, func)
    scores = _random_scores(records, seed, func)
    return _prune_amount(model, amount, targets, scope, func, lambda r: scores[r.name])


def threshold(
    model: nn.Module,
    value: float,
    *,
    targets: str | tuple[str, ...] = DEFAULT_TARGETS,
) -> nn.Module:
    """Remove every still-unmasked targeted weight with ``|w| < value``.

    The number removed follows from the weights, not from an amount: it may be none or
    all of them, and neither is an error. Check the outcome with
    :func:`sparsernn.prune.sparsity`. NaN weights are never below a threshold, so they
    stay.

    Side effects:

    1. Sets to False, in place, the mask entries of the removed weights; no entry
       becomes True, weight values are unchanged.
    2. On any error no mask is changed.

    Parameters
    ----------
    model : torch.nn.Module
    value : float >= 0
        A finite magnitude; weights strictly below it are removed (0.0 removes nothing).
    targets : str or sequence of str, default ("ih", "hh")

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
    records = select(model, targets, func)
    new_masks = {r.name: ~(r.weight.detach().abs() < value) for r in records}
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

    Side effects:

    1. Sets to False, in place, the mask entries of the removed weights; no entry
       becomes True, weight values are unchanged.
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
    """
    func = "prune_to_sparsity"
    check_model(model, func)
    sparsity = check_fraction(sparsity, "sparsity", func)
    check_choice(criterion, "criterion", func, CRITERIA)
    targets = check_targets(targets, func)
    scope = check_scope(scope, func)
    if criterion == "random" and seed is None:
        raise InputError(f"The 'seed' parameter of {func} is required with criterion='random'; got None.")
    records = select(model, targets, func)
    if criterion == "random":
        scores = _random_scores(records, seed, func)
        score = lambda r: scores[r.name]  # noqa: E731
    else:
        score = lambda r: _magnitude_scores(r)  # noqa: E731
    new_masks = remove_by_score(
        groups_of(records, scope),
        count=lambda remaining, total: max(0, round(sparsity * total) - (total - remaining)),
        score=score,
    )
    assign_masks(records, new_masks)
    return model
