"""Dynamic sparse training: train a sparse network from scratch at a fixed budget.

Instead of pruning a dense network, every targeted matrix starts sparse and keeps the
same number of unmasked entries (its *budget*) for the whole run, while the entries
themselves move: every few optimizer steps the weakest alive connections are dropped
and as many new ones are grown where the mask was False. This is SET (Mocanu et al.
2018, random regrowth) and RigL (Evci et al. 2020, regrowth by gradient); Selfish-RNN
(Liu et al. 2021) applies the same drop-and-grow cycle to recurrent networks.

* :func:`cosine_drop_fraction` — RigL's schedule of the fraction moved per update;
* :func:`dense_gradients` — the gradient of a loss w.r.t. the *effective* weights
  ``W ⊙ M``, masked positions included (what RigL grows by);
* :class:`DynamicSparsity` — the stateful updater, called after every optimizer step.

The rules of one update (at step :math:`t`, per targeted matrix with ``alive``
unmasked entries, ``masked`` masked ones):

1. :math:`k` = ``min(round(cosine_drop_fraction(t) * alive), masked)``.
2. Drop: the :math:`k` alive entries with the smallest ``|w|`` are masked, ties broken
   by position (row-major index, as :mod:`sparsernn.prune.criteria` does).
3. Grow: :math:`k` entries among those that were masked *before* this update are
   unmasked: uniformly at random (``regrowth="random"``) or those with the largest
   ``|dense gradient|``, ties by position (``regrowth="gradient"``). An entry dropped in
   this update is never grown back in the same update, so every entry that turns True
   was False before, and the count of unmasked entries is unchanged.
4. Grown weights are set to 0.0 (RigL's choice: the new connection starts without
   changing the function); dropped weights keep their raw values (invisible behind the
   mask). With an optimizer, its per-parameter state tensors of the weight's shape
   (Adam's ``exp_avg``/``exp_avg_sq``, SGD's ``momentum_buffer``) are zeroed at the
   grown and the dropped positions.

Examples
--------
>>> [cosine_drop_fraction(t, initial=0.3, end=100) for t in (0, 50, 100, 150)]
[0.3, 0.15, 0.0, 0.0]
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor, nn

from ..checks import check_choice, check_fraction, check_int, is_int
from ..errors import InputError
from ..nn import MaskedWeight
from ..seeding import rng
from ._core import DEFAULT_TARGETS, assign_masks, check_model, check_targets, select

__all__ = ["REGROWTH", "DynamicSparsity", "cosine_drop_fraction", "dense_gradients"]

# how grown entries are chosen: SET's and RigL's
REGROWTH = ("random", "gradient")


# ---------------------------------------------------------------------------------------
# Schedule


def cosine_drop_fraction(step: int, *, initial: float, end: int | None) -> float:
    """Return the fraction of alive weights moved by an update at ``step`` (RigL's cosine decay).

    With :math:`\\alpha` = ``initial`` and :math:`T_{end}` = ``end`` (Evci et al. 2020, eq. 1):

    .. math::

        f(t) = \\begin{cases}
            \\frac{\\alpha}{2}\\left(1 + \\cos\\frac{\\pi t}{T_{end}}\\right) & t < T_{end} \\\\
            0 & t \\ge T_{end}
        \\end{cases}

    so it falls from :math:`\\alpha` at :math:`t = 0` to :math:`\\alpha / 2` halfway and
    0 at the end. With ``end=None`` it is :math:`\\alpha` at every step (SET's constant
    fraction).

    Parameters
    ----------
    step : int >= 0
        Optimizer step :math:`t`.
    initial : float in [0, 1]
        :math:`\\alpha`.
    end : int >= 1 or None
        :math:`T_{end}`, the step from which nothing moves.

    Examples
    --------
    >>> round(cosine_drop_fraction(25, initial=0.4, end=100), 6)      # 0.2 * (1 + cos(pi / 4))
    0.341421
    >>> cosine_drop_fraction(10**6, initial=0.4, end=None)
    0.4
    """
    func = "cosine_drop_fraction"
    step = check_int(step, "step", func, minimum=0)
    initial = check_fraction(initial, "initial", func)
    if end is None:
        return initial
    end = check_int(end, "end", func, minimum=1)
    if step >= end:
        return 0.0
    return initial / 2 * (1.0 + math.cos(math.pi * step / end))


# ---------------------------------------------------------------------------------------
# Dense gradient


def _check_loss_value(value, func: str) -> Tensor:
    if not isinstance(value, Tensor) or value.numel() != 1:
        got = f"a tensor of shape {tuple(value.shape)}" if isinstance(value, Tensor) else type(value).__name__
        raise InputError(f"The 'loss' callable of {func} must return a scalar tensor; got {got}.")
    if not value.requires_grad:
        raise InputError(f"The 'loss' callable of {func} must return a loss that requires grad; "
                         "got one without (computed under torch.no_grad?).")
    if not bool(torch.isfinite(value.detach()).all()):
        raise InputError(f"The 'loss' callable of {func} returned {value.item()!r}; expected a finite loss.")
    return value.reshape(())


def _check_requires_grad(records: list[MaskedWeight], func: str) -> None:
    frozen = [r.name for r in records if not r.weight.requires_grad]
    if frozen:
        raise InputError(f"{func}: weight {frozen[0]!r} does not require grad; expected trainable weights "
                         "to take a gradient from.")


def _dense_gradients(records: list[MaskedWeight], loss: Callable[[], Tensor], func: str) -> dict[str, Tensor]:
    """Gradient of ``loss()`` w.r.t. ``W ⊙ M`` of each record; weights and masks restored bit for bit.

    For the call, ``W := W ⊙ M`` and ``M := True`` (the function computed is the same),
    so the gradient w.r.t. ``W`` is the one w.r.t. the effective weight everywhere.
    :func:`torch.autograd.grad` is used, so no ``.grad`` of any parameter is touched.
    """
    saved = [(r.weight.detach().clone(), r.mask.detach().clone()) for r in records]
    try:
        with torch.no_grad():
            for r in records:
                r.weight.mul_(r.mask)
                r.mask.fill_(True)
        value = _check_loss_value(loss(), func)
        grads = torch.autograd.grad(value, [r.weight for r in records], allow_unused=True)
    finally:
        with torch.no_grad():
            for r, (weight, mask) in zip(records, saved):
                r.weight.copy_(weight)
                r.mask.copy_(mask)
    return {r.name: torch.zeros_like(r.weight.detach()) if g is None else g.detach() for r, g in zip(records, grads)}


def dense_gradients(
    model: nn.Module,
    loss: Callable[[], Tensor],
    *,
    targets: str | tuple[str, ...] = DEFAULT_TARGETS,
) -> dict[str, Tensor]:
    """Return the gradient of ``loss()`` w.r.t. each targeted *effective* weight ``W ⊙ M``.

    Through ``W ⊙ M`` a masked entry has zero gradient, so this evaluates the loss with
    the masks opened instead: each targeted weight is set to ``W ⊙ M`` and its mask to
    all True (the model computes exactly the same function), ``loss()`` is called once,
    its gradient taken with :func:`torch.autograd.grad`, and every weight and mask is
    put back, bit for bit, even if ``loss()`` raises.

    Side effects:

    1. Calls ``loss()`` once, with whatever that does (a forward pass; dropout draws
       from torch's global RNG if the model is in training mode).
    2. None on the model: weights, masks and every parameter's ``.grad`` are as before.

    Parameters
    ----------
    model : torch.nn.Module
        A model built from :mod:`sparsernn.nn` masked modules.
    loss : callable
        ``loss() -> scalar tensor``: the loss of the model on one batch.
    targets : str or sequence of str, default ("ih", "hh")

    Returns
    -------
    dict
        ``{qualified weight name: gradient}``, each the weight's shape.

    Examples
    --------
    >>> import torch
    >>> from sparsernn.nn import MaskedLinear
    >>> lin = MaskedLinear(2, 1, bias=False)
    >>> lin.mask[0, 1] = False
    >>> x = torch.tensor([[3.0, 5.0]])
    >>> dense_gradients(lin, lambda: lin(x).sum(), targets="ho")["weight"]   # d(w·x)/dw = x
    tensor([[3., 5.]])
    >>> lin.mask
    tensor([[ True, False]])
    """
    func = "dense_gradients"
    check_model(model, func)
    targets = check_targets(targets, func)
    if not callable(loss):
        raise InputError(f"The 'loss' parameter of {func} must be a callable returning a scalar tensor; "
                         f"got {type(loss).__name__}.")
    records = select(model, targets, func)
    _check_requires_grad(records, func)
    return _dense_gradients(records, loss, func)


# ---------------------------------------------------------------------------------------
# One update


def _budget(total: int, sparsity: float) -> int:
    """Unmasked entries a matrix of ``total`` entries keeps at ``sparsity``."""
    return total - round(sparsity * total)


def _flat(mask: Tensor) -> Tensor:
    return mask.detach().reshape(-1).cpu()


def _move_count(record: MaskedWeight, fraction: float) -> int:
    """k = min(round(fraction * alive), masked)."""
    alive = int(record.mask.sum())
    return min(round(fraction * alive), record.mask.numel() - alive)


def _drop(record: MaskedWeight, k: int, func: str) -> Tensor:
    """Flat indices of the ``k`` alive entries with the smallest |w|, ties by position."""
    alive = _flat(record.mask).nonzero().squeeze(1)
    magnitude = record.weight.detach().reshape(-1).to("cpu", torch.float64).abs()[alive]
    if bool(torch.isnan(magnitude).any()):
        raise InputError(f"{func}: weight {record.name!r} holds NaN among its unmasked entries; "
                         "expected finite weights to rank.")
    return alive[torch.argsort(magnitude, stable=True)[:k]]


def _grow_by_gradient(record: MaskedWeight, k: int, grad: Tensor, func: str) -> Tensor:
    """Flat indices of the ``k`` masked entries with the largest |grad|, ties by position."""
    dead = (~_flat(record.mask)).nonzero().squeeze(1)
    scores = grad.detach().reshape(-1).to("cpu", torch.float64).abs()[dead]
    if bool(torch.isnan(scores).any()):
        raise InputError(f"{func}: the dense gradient of {record.name!r} holds NaN; expected a finite gradient.")
    return dead[torch.argsort(scores, descending=True, stable=True)[:k]]


def _grow_at_random(record: MaskedWeight, k: int, seed: int, step: int, func: str) -> Tensor:
    """Flat indices of ``k`` masked entries, uniformly at random from ``derive_seed(seed, "regrow", step, name)``."""
    dead = (~_flat(record.mask)).nonzero().squeeze(1)
    chosen = rng(seed, func, derive=("regrow", step, record.name)).choice(dead.numel(), size=k, replace=False)
    return dead[torch.from_numpy(chosen)]


def _positions(indices: Tensor, like: Tensor) -> Tensor:
    """Bool tensor shaped like ``like`` (on its device), True at the flat ``indices``."""
    positions = torch.zeros(like.numel(), dtype=torch.bool)
    positions[indices] = True
    return positions.reshape(like.shape).to(like.device)


def _optimizer_tensors(optimizer: torch.optim.Optimizer | None, param: Tensor) -> list[Tensor]:
    """The optimizer's state tensors of ``param`` that have its shape (per-entry state)."""
    if optimizer is None:
        return []
    state = optimizer.state.get(param, {})
    return [v for v in state.values() if isinstance(v, Tensor) and v.shape == param.shape]


def _zero_state(optimizer: torch.optim.Optimizer | None, param: Tensor, positions: Tensor) -> None:
    for tensor in _optimizer_tensors(optimizer, param):
        tensor.masked_fill_(positions.to(tensor.device), 0)


@torch.no_grad()
def _apply(records: list[MaskedWeight], plan: dict[str, tuple[Tensor, Tensor]],
           optimizer: torch.optim.Optimizer | None) -> None:
    """Write the planned ``{name: (dropped, grown)}`` moves: masks, grown weights, optimizer state.

    All of it or none: on any error every mask, weight and state tensor touched is restored.
    """
    moved = [r for r in records if r.name in plan]
    new_masks = {}
    for r in moved:
        dropped, grown = plan[r.name]
        flat = _flat(r.mask).clone()
        flat[dropped], flat[grown] = False, True
        new_masks[r.name] = flat.reshape(r.mask.shape)
    tensors = [t for r in moved for t in (r.mask, r.weight, *_optimizer_tensors(optimizer, r.weight))]
    saved = [t.detach().clone() for t in tensors]
    try:
        assign_masks(moved, new_masks, shrink_only=False)
        for r in moved:
            dropped, grown = plan[r.name]
            r.weight.masked_fill_(_positions(grown, r.weight), 0.0)
            _zero_state(optimizer, r.weight, _positions(torch.cat([dropped, grown]), r.weight))
    except BaseException:
        for tensor, old in zip(tensors, saved):
            tensor.copy_(old)
        raise


# ---------------------------------------------------------------------------------------
# The updater


def _random_masks(records: list[MaskedWeight], budgets: dict[str, int], seed: int, func: str) -> None:
    """Give each record a uniformly random mask with exactly its budget of True entries."""
    new_masks = {}
    for r in records:
        chosen = rng(seed, func, derive=("initial", r.name)).permutation(r.mask.numel())[: budgets[r.name]]
        flat = torch.zeros(r.mask.numel(), dtype=torch.bool)
        flat[torch.from_numpy(chosen)] = True
        new_masks[r.name] = flat.reshape(r.mask.shape)
    assign_masks(records, new_masks, shrink_only=False)


def _check_budgets(records: list[MaskedWeight], budgets: dict[str, int], func: str, why: str) -> None:
    for r in records:
        alive = int(r.mask.sum())
        if alive != budgets[r.name]:
            raise InputError(f"{func}: {r.name!r} has {alive} unmasked entries; expected its budget of "
                             f"{budgets[r.name]} {why}.")


def _checked_config(sparsity, regrowth, drop_fraction, frequency, end, targets, seed, initialize, func) -> dict:
    if not isinstance(initialize, bool):
        raise InputError(f"The 'initialize' parameter of {func} must be a bool; got {initialize!r}.")
    if sparsity is None and initialize:
        raise InputError(f"The 'sparsity' parameter of {func} may be None only with initialize=False "
                         "(then each matrix keeps its current count); got None.")
    if not is_int(seed):
        raise InputError(f"The 'seed' parameter of {func} must be an int (each update derives its own); got {seed!r}.")
    return dict(
        sparsity=None if sparsity is None else check_fraction(sparsity, "sparsity", func),
        regrowth=check_choice(regrowth, "regrowth", func, REGROWTH),
        drop_fraction=check_fraction(drop_fraction, "drop_fraction", func),
        frequency=check_int(frequency, "frequency", func, minimum=1),
        end=None if end is None else check_int(end, "end", func, minimum=1),
        targets=list(check_targets(targets, func)),
        seed=int(seed),
    )


def _check_extras(optimizer, loss, regrowth: str, func: str) -> None:
    if optimizer is not None and not isinstance(optimizer, torch.optim.Optimizer):
        raise InputError(f"The 'optimizer' parameter of {func} must be a torch.optim.Optimizer or None; "
                         f"got {type(optimizer).__name__}.")
    if regrowth == "gradient" and not callable(loss):
        raise InputError(f"The 'loss' parameter of {func} must be a callable returning a scalar tensor with "
                         f"regrowth='gradient'; got {type(loss).__name__}.")
    if regrowth == "random" and loss is not None:
        raise InputError(f"The 'loss' parameter of {func} is used only with regrowth='gradient'; "
                         "got a loss with regrowth='random'.")


class DynamicSparsity:
    """Sparse training from scratch at a fixed budget: SET and RigL drop-and-grow updates.

    Call :meth:`step` after every optimizer step. The updater counts the calls
    (:math:`t` = calls so far, the first call is step 1) and updates the masks at every
    step with :math:`t \\bmod \\Delta t = 0` and :math:`t < T_{end}` (any :math:`t` when
    ``end`` is None), moving ``drop_fraction_at(t)`` of each targeted matrix's alive
    entries by the rules in :mod:`sparsernn.prune.dynamic`: drop the smallest ``|w|``,
    grow as many among the entries masked before the update (at random, or by largest
    ``|dense gradient|``), set grown weights to 0.0 and zero the optimizer's state at
    grown and dropped positions. Every targeted matrix holds exactly its budget of
    unmasked entries, ``total - round(sparsity * total)``, after construction and after
    every update; layer scope only (each matrix its own budget).

    Side effects of the constructor:

    1. With ``initialize=True``: replaces each targeted mask by a uniformly random mask
       with exactly its budget of True entries, drawn from
       ``derive_seed(seed, "initial", name)`` (the network starts sparse). Weights and
       optimizer state are not touched.
    2. With ``initialize=False``: none; the masks must already hold their budgets.

    Side effects of :meth:`step`:

    1. Advances the step counter by one.
    2. At an update step: moves :math:`k` entries of each targeted mask as above, sets
       the grown weights to 0.0 and zeroes ``optimizer``'s per-entry state at the grown
       and dropped positions; with ``regrowth="gradient"`` calls ``loss()`` once (see
       :func:`dense_gradients`; the model is left bit for bit as it was apart from the
       update itself).
    3. On any error (a budget changed behind its back, NaN weights, a bad loss) no mask,
       weight or state tensor is changed and the counter does not advance.

    Parameters
    ----------
    model : torch.nn.Module
        A model built from :mod:`sparsernn.nn` masked modules.
    sparsity : float in [0, 1], or None
        Fraction of each targeted matrix that is masked. None (only with
        ``initialize=False``) keeps each matrix's current count as its budget, e.g. a
        :class:`~sparsernn.nn.GraphRNN`'s wiring.
    regrowth : {"random", "gradient"}, default "random"
        SET (uniformly random among the masked entries) or RigL (largest ``|∂L/∂(W ⊙ M)|``).
    drop_fraction : float in [0, 1], default 0.3
        :math:`\\alpha` of :func:`cosine_drop_fraction`.
    frequency : int >= 1, default 100
        :math:`\\Delta t`, optimizer steps between updates.
    end : int >= 1 or None, default None
        :math:`T_{end}`: no update from this step on, and the drop fraction decays to 0
        along the cosine; None keeps updating with the constant ``drop_fraction``.
    targets : str or sequence of str, default ("ih", "hh")
    seed : int
        The initial masks and every random regrowth derive their own seed from it (the
        update at step :math:`t` from ``derive_seed(seed, "regrow", t, name)``), so the
        same seed gives the same masks and a resumed run draws the same.
    optimizer : torch.optim.Optimizer, optional
        Whose state to zero at the moved positions.
    loss : callable, optional
        Required with ``regrowth="gradient"`` (refused otherwise): ``loss() -> scalar``,
        the model's loss on one batch, called once per update.
    initialize : bool, default True
        Start from random masks at the budget; False takes the masks as they are and
        refuses (InputError) a matrix whose count differs from its budget.

    Notes
    -----
    Where this differs from the references: :math:`k` is ``round`` (the repository's
    count rule), RigL's code takes the floor. RigL's reference code lets an entry
    dropped in an update be grown back in the same update (keeping its value); here the
    candidates are the entries masked before the update, so every entry that turns True
    was False before and :math:`k` is at most the number masked. Regrown weights start
    at 0.0 for SET too (SET draws them at random). Every matrix gets the same sparsity
    (RigL's "uniform"); ERK and Selfish-RNN's cell-gate redistribution and SNT-ASGD are
    not implemented. Selfish-RNN grows at random, as ``regrowth="random"``.

    References
    ----------
    D. C. Mocanu, E. Mocanu, P. Stone, P. H. Nguyen, M. Gibescu and A. Liotta, "Scalable
    training of artificial neural networks with adaptive sparse connectivity inspired by
    network science", Nature Communications 9, 2383 (2018).

    U. Evci, T. Gale, J. Menick, P. S. Castro and E. Elsen, "Rigging the lottery: making
    all tickets winners", ICML 2020. arXiv:1911.11134.

    S. Liu, D. C. Mocanu, Y. Pei and M. Pechenizkiy, "Selfish sparse RNN training",
    ICML 2021. arXiv:2101.09048.

    Examples
    --------
    >>> import torch
    >>> from sparsernn.nn import MaskedLSTM
    >>> lstm = MaskedLSTM(4, 5)                                  # 80 + 100 weights
    >>> dst = DynamicSparsity(lstm, sparsity=0.5, frequency=2, seed=0)
    >>> [int(m.sum()) for m in (lstm.mask_ih_l0, lstm.mask_hh_l0)]
    [40, 50]
    >>> before = lstm.mask_hh_l0.clone()
    >>> [dst.step() for _ in range(2)]       # after each optimizer.step(); 12 + 15 moved
    [None, {'dropped': 27, 'grown': 27}]
    >>> [int(m.sum()) for m in (lstm.mask_ih_l0, lstm.mask_hh_l0)]
    [40, 50]
    >>> int((lstm.mask_hh_l0 & ~before).sum())                  # grown where masks were False
    15

    RigL grows where the loss would fall fastest:

    >>> x = torch.randn(3, 2, 4)
    >>> rigl = DynamicSparsity(lstm, sparsity=0.5, regrowth="gradient", frequency=1, end=10,
    ...                        seed=0, initialize=False, loss=lambda: lstm(x)[0].square().sum())
    >>> round(rigl.drop_fraction_at(1), 6)                      # 0.15 * (1 + cos(pi / 10))
    0.292658
    >>> rigl.step()                                              # round(0.29 * 40) + round(0.29 * 50)
    {'dropped': 27, 'grown': 27}
    """

    def __init__(
        self,
        model: nn.Module,
        *,
        sparsity: float | None,
        regrowth: str = "random",
        drop_fraction: float = 0.3,
        frequency: int = 100,
        end: int | None = None,
        targets: str | tuple[str, ...] = DEFAULT_TARGETS,
        seed: int,
        optimizer: torch.optim.Optimizer | None = None,
        loss: Callable[[], Tensor] | None = None,
        initialize: bool = True,
    ) -> None:
        func = "DynamicSparsity"
        self.model = check_model(model, func)
        self.config = _checked_config(sparsity, regrowth, drop_fraction, frequency, end, targets, seed,
                                      initialize, func)
        _check_extras(optimizer, loss, regrowth, func)
        self.optimizer, self.loss = optimizer, loss
        self.records = select(model, tuple(self.config["targets"]), func)
        if regrowth == "gradient":
            _check_requires_grad(self.records, func)
        if sparsity is None:
            self.budgets = {r.name: int(r.mask.sum()) for r in self.records}
        else:
            self.budgets = {r.name: _budget(r.mask.numel(), self.config["sparsity"]) for r in self.records}
        if initialize:
            _random_masks(self.records, self.budgets, self.config["seed"], func)
        else:
            _check_budgets(self.records, self.budgets, func, f"at sparsity {sparsity!r} (or pass initialize=True)")
        self.last_step = 0

    def drop_fraction_at(self, step: int) -> float:
        """:func:`cosine_drop_fraction` at ``step`` with this updater's ``drop_fraction`` and ``end``."""
        return cosine_drop_fraction(step, initial=self.config["drop_fraction"], end=self.config["end"])

    def is_update_step(self, step: int) -> bool:
        """Whether the call that makes the counter ``step`` updates the masks."""
        end = self.config["end"]
        return step % self.config["frequency"] == 0 and (end is None or step < end)

    def step(self) -> dict | None:
        """Advance one optimizer step; update the masks if it is an update step.

        Returns
        -------
        dict or None
            ``{"dropped": k, "grown": k}`` (summed over the targeted matrices) at an
            update step, None otherwise.
        """
        t = self.last_step + 1
        result = self._update(t) if self.is_update_step(t) else None
        self.last_step = t
        return result

    def _update(self, t: int) -> dict:
        func = "DynamicSparsity.step"
        _check_budgets(self.records, self.budgets, func, "(were its masks changed by something else?)")
        fraction = self.drop_fraction_at(t)
        counts = {r.name: _move_count(r, fraction) for r in self.records}
        moving = [r for r in self.records if counts[r.name] > 0]
        if self.config["regrowth"] == "gradient":
            grads = _dense_gradients(moving, self.loss, func) if moving else {}
            grow = lambda r, k: _grow_by_gradient(r, k, grads[r.name], func)  # noqa: E731
        else:
            grow = lambda r, k: _grow_at_random(r, k, self.config["seed"], t, func)  # noqa: E731
        plan = {r.name: (_drop(r, counts[r.name], func), grow(r, counts[r.name])) for r in moving}
        _apply(self.records, plan, self.optimizer)
        moved = sum(counts.values())
        return {"dropped": moved, "grown": moved}

    def state_dict(self) -> dict:
        """Return ``{"step": steps taken, "config": the constructor's settings}`` (JSON-able).

        The masks live in the model's ``state_dict`` and the optimizer's state in its own;
        save those too.
        """
        return {"step": self.last_step, "config": {**self.config, "targets": list(self.config["targets"])}}

    def load_state_dict(self, state: dict) -> None:
        """Resume from :meth:`state_dict`: set the step counter.

        Load the model's masks (its own ``state_dict``) and build this updater with
        ``initialize=False``, or load them after building it. The saved configuration
        must equal this updater's (InputError naming the keys that differ), so a run
        never resumes on different settings by accident.
        """
        func = "DynamicSparsity.load_state_dict"
        if not isinstance(state, dict) or set(state) != {"step", "config"} or not isinstance(state["config"], dict):
            raise InputError(f"{func} expects a dict with keys 'step' and 'config'; got {state!r}.")
        step = check_int(state["step"], "step", func, minimum=0)
        saved = {**state["config"], "targets": list(state["config"].get("targets", []))}
        differ = sorted(k for k in set(saved) | set(self.config) if saved.get(k) != self.config.get(k))
        if differ:
            raise InputError(f"{func}: the saved config differs from this updater's in {differ}; "
                             "expected equal configs.")
        self.last_step = step
