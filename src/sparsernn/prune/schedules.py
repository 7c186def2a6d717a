"""Pruning schedules: how the target sparsity evolves over training.

Two pure functions, and one stateful wrapper that applies the first during training:

* :func:`cubic_sparsity` — gradual pruning (Zhu & Gupta 2017): sparsity as a function of
  the optimizer step;
* :func:`iterative_sparsities` — iterative pruning / lottery tickets: the total sparsity
  after each prune-retrain round;
* :class:`GradualPruner` — calls :func:`sparsernn.prune.prune_to_sparsity` on the cubic
  schedule every ``frequency`` steps.

Examples
--------
>>> cubic_sparsity(50, initial=0.0, final=0.5, start=0, duration=100)   # 0.5 * (1 - 0.5**3)
0.4375
>>> iterative_sparsities(0.9, 0.5)
[0.5, 0.75, 0.875, 0.9]
"""

from __future__ import annotations

import math

from torch import nn

from ..checks import check_choice, check_fraction, check_int, is_int
from ..errors import InputError
from ..seeding import derive_seed
from ._core import DEFAULT_TARGETS, check_granularity, check_model, check_scope, check_targets, is_close, select
from .criteria import CRITERIA, prune_to_sparsity

__all__ = ["GradualPruner", "cubic_sparsity", "iterative_sparsities"]

# iterative_sparsities refuses schedules longer than this (a typo, not an experiment)
MAX_ROUNDS = 10_000


def _check_sparsities(initial, final, func: str) -> tuple[float, float]:
    initial = check_fraction(initial, "initial", func)
    final = check_fraction(final, "final", func)
    if final < initial:
        raise InputError(
            f"The 'final' parameter of {func} must be >= initial ({initial!r}), as masks only shrink; got {final!r}."
        )
    return initial, final


def cubic_sparsity(step: int, *, initial: float, final: float, start: int, duration: int) -> float:
    """Return the scheduled sparsity at ``step`` of the cubic gradual-pruning schedule.

    With :math:`s_i` = ``initial``, :math:`s_f` = ``final``, :math:`t_0` = ``start`` and
    :math:`n\\Delta t` = ``duration`` (Zhu & Gupta 2017, eq. 1):

    .. math::

        s_t = \\begin{cases}
            s_i & t < t_0 \\\\
            s_f + (s_i - s_f)\\left(1 - \\frac{t - t_0}{n\\Delta t}\\right)^3
                & t_0 \\le t \\le t_0 + n\\Delta t \\\\
            s_f & t > t_0 + n\\Delta t
        \\end{cases}

    so it starts at :math:`s_i`, rises fast and flattens into :math:`s_f`. With
    ``duration = 0`` it jumps from :math:`s_i` to :math:`s_f` at :math:`t_0`.

    Parameters
    ----------
    step : int >= 0
        Optimizer step :math:`t`.
    initial, final : float in [0, 1]
        :math:`s_i \\le s_f`.
    start, duration : int >= 0
        :math:`t_0` and :math:`n\\Delta t`, in optimizer steps.

    References
    ----------
    M. Zhu and S. Gupta, "To prune, or not to prune: exploring the efficacy of pruning
    for model compression", ICLR workshop, 2018. arXiv:1710.01878 (2017).

    Examples
    --------
    >>> kw = dict(initial=0.1, final=0.9, start=10, duration=20)
    >>> [cubic_sparsity(t, **kw) for t in (0, 10, 20, 30, 99)]
    [0.1, 0.1, 0.8, 0.9, 0.9]
    """
    func = "cubic_sparsity"
    step = check_int(step, "step", func, minimum=0)
    initial, final = _check_sparsities(initial, final, func)
    start = check_int(start, "start", func, minimum=0)
    duration = check_int(duration, "duration", func, minimum=0)
    if step < start or (step == start and duration > 0):
        return initial  # exactly, not s_f + (s_i - s_f) * 1.0 with its rounding
    if step >= start + duration:
        return final
    return final + (initial - final) * (1.0 - (step - start) / duration) ** 3


def iterative_sparsities(final: float, per_round: float) -> list[float]:
    """Return the total sparsity after each round of iterative pruning.

    Each round removes a fraction ``per_round`` (:math:`p`) of the weights that remain,
    so after round :math:`r` the sparsity is :math:`1 - (1 - p)^r`. Rounds continue until
    that reaches ``final``; the last round is clipped to exactly ``final``. Values are
    rounded to 12 decimals, so float noise neither shows (0.2, not 0.19999999999999996)
    nor adds a spurious round. ``final = 0`` needs no round.

    Apply round :math:`r` with ``prune_to_sparsity(model, s_r)`` (exact counts), or with
    ``magnitude(model, amount_for_sparsity(s_{r-1}, s_r))``.

    Parameters
    ----------
    final : float in [0, 1]
        Sparsity after the last round; 1 only with ``per_round = 1``.
    per_round : float in (0, 1]
        Fraction of the remaining weights each round removes (Frankle & Carbin use 0.2).

    Returns
    -------
    list of float
        Non-decreasing, ending with ``final``.

    References
    ----------
    J. Frankle and M. Carbin, "The lottery ticket hypothesis: finding sparse, trainable
    neural networks", ICLR 2019. arXiv:1803.03635.

    Examples
    --------
    >>> iterative_sparsities(0.5, 0.2)     # 0.2, 0.36, 0.488, then clipped
    [0.2, 0.36, 0.488, 0.5]
    >>> iterative_sparsities(0.0, 0.2)
    []
    """
    func = "iterative_sparsities"
    final = check_fraction(final, "final", func)
    per_round = check_fraction(per_round, "per_round", func, low_open=True)
    if final == 1.0 and per_round < 1.0:
        raise InputError(
            f"The 'final' parameter of {func} must be < 1 unless per_round is 1 "
            f"(removing a fraction of what remains never reaches 1); got final=1.0, per_round={per_round!r}."
        )
    if final > 0.0 and per_round < 1.0:
        rounds = math.log1p(-final) / math.log1p(-per_round)
        if rounds > MAX_ROUNDS:
            raise InputError(
                f"{func}: reaching final={final!r} with per_round={per_round!r} "
                f"takes about {rounds:.3g} rounds; "
                f"expected at most {MAX_ROUNDS}."
            )
    sparsities: list[float] = []
    while final > 0.0:
        reached = round(1.0 - (1.0 - per_round) ** (len(sparsities) + 1), 12)
        if reached >= final or is_close(reached, final):
            sparsities.append(final)
            break
        sparsities.append(reached)
    return sparsities


class GradualPruner:
    """Prune a model during training along :func:`cubic_sparsity` (Zhu & Gupta 2017).

    Call :meth:`step` after every optimizer step. The pruner counts the calls
    (:math:`t` = number of calls so far, so the first call is step 1) and, at every
    step :math:`t` with :math:`t_0 \\le t` and either
    :math:`(t - t_0) \\bmod \\Delta t = 0` or :math:`t \\ge t_0 + n\\Delta t`, calls
    :func:`sparsernn.prune.prune_to_sparsity` with :math:`s_t`. Each group therefore
    holds exactly ``round(final * size)`` masked entries from the end step
    :math:`t_0 + n\\Delta t` on (unless it was sparser already: masks never grow). After
    the end, a step that finds nothing to remove costs one mask count per matrix. With
    ``granularity="connection"`` the entries counted and removed are connections (see
    :mod:`sparsernn.prune.criteria`), each removed in every gate block.

    Side effects of :meth:`step`: those of :func:`sparsernn.prune.prune_to_sparsity`
    on ``model``, and the step counter advances by one.

    Parameters
    ----------
    model : torch.nn.Module
        A model built from :mod:`sparsernn.nn` masked modules.
    final : float in [0, 1]
        :math:`s_f`.
    initial : float in [0, final], default 0.0
        :math:`s_i`, applied at step ``start``.
    start : int >= 0
        :math:`t_0`.
    duration : int >= 0
        :math:`n\\Delta t`, steps from the first to the last pruning.
    frequency : int >= 1
        :math:`\\Delta t`, steps between prunings.
    criterion : {"magnitude", "random"}, default "magnitude"
    targets : str or sequence of str, default ("ih", "hh")
    scope : {"layer", "global"}, default "layer"
    seed : int, optional
        Required for ``criterion="random"``: the pruning at step :math:`t` draws from
        ``derive_seed(seed, "gradual", t)``, so a resumed run draws the same.
    granularity : {"weight", "connection"}, default "weight"
        The unit of removal and of counting, as in :func:`sparsernn.prune.prune_to_sparsity`.

    Examples
    --------
    >>> from sparsernn.nn import MaskedLSTM
    >>> from sparsernn.prune import sparsity
    >>> lstm = MaskedLSTM(4, 5)                                  # 80 + 100 weights
    >>> pruner = GradualPruner(lstm, final=0.9, start=2, duration=6, frequency=2)
    >>> for _ in range(10):
    ...     # loss.backward(); optimizer.step()
    ...     _ = pruner.step()
    >>> sparsity(lstm)
    {'weight_ih_l0': 0.9, 'weight_hh_l0': 0.9, 'overall': 0.9}
    >>> pruner.state_dict()["step"]
    10
    >>> lstm = MaskedLSTM(4, 5)                                  # 20 + 25 connections, 4 gates each
    >>> pruner = GradualPruner(lstm, final=0.8, start=0, duration=4, frequency=2, granularity="connection")
    >>> for _ in range(4):
    ...     _ = pruner.step()
    >>> sparsity(lstm, granularity="connection")
    {'weight_ih_l0': 0.8, 'weight_hh_l0': 0.8, 'overall': 0.8}
    """

    def __init__(
        self,
        model: nn.Module,
        *,
        final: float,
        initial: float = 0.0,
        start: int,
        duration: int,
        frequency: int,
        criterion: str = "magnitude",
        targets: str | tuple[str, ...] = DEFAULT_TARGETS,
        scope: str = "layer",
        seed: int | None = None,
        granularity: str = "weight",
    ) -> None:
        func = "GradualPruner"
        self.model = check_model(model, func)
        initial, final = _check_sparsities(initial, final, func)
        check_choice(criterion, "criterion", func, CRITERIA)
        if criterion == "random" and not is_int(seed):
            raise InputError(f"The 'seed' parameter of {func} must be an int with criterion='random'; got {seed!r}.")
        targets = check_targets(targets, func)
        select(model, targets, func)  # the model must have every target
        self.config = dict(
            final=final,
            initial=initial,
            start=check_int(start, "start", func, minimum=0),
            duration=check_int(duration, "duration", func, minimum=0),
            frequency=check_int(frequency, "frequency", func, minimum=1),
            criterion=criterion,
            targets=list(targets),
            scope=check_scope(scope, func),
            seed=None if seed is None else int(seed),
            granularity=check_granularity(granularity, func),
        )
        self.last_step = 0

    @property
    def end(self) -> int:
        """The step from which the scheduled sparsity is ``final``: ``start + duration``."""
        return self.config["start"] + self.config["duration"]

    def scheduled_sparsity(self, step: int | None = None) -> float:
        """:func:`cubic_sparsity` at ``step`` (default: the last step taken)."""
        c = self.config
        t = self.last_step if step is None else step
        return cubic_sparsity(t, initial=c["initial"], final=c["final"], start=c["start"], duration=c["duration"])

    def step(self) -> float | None:
        """Advance one optimizer step; prune if it is a pruning step.

        Returns
        -------
        float or None
            The scheduled sparsity pruned to at this step, or None if this step does
            not prune.
        """
        self.last_step += 1
        t, c = self.last_step, self.config
        if t < c["start"] or ((t - c["start"]) % c["frequency"] != 0 and t < self.end):
            return None
        target = self.scheduled_sparsity(t)
        seed = derive_seed(c["seed"], "gradual", t) if c["criterion"] == "random" else None
        prune_to_sparsity(
            self.model, target, criterion=c["criterion"], targets=tuple(c["targets"]), scope=c["scope"], seed=seed,
            granularity=c["granularity"],
        )
        return target

    def state_dict(self) -> dict:
        """Return ``{"step": steps taken, "config": the constructor arguments}`` (JSON-able)."""
        return {"step": self.last_step, "config": {**self.config, "targets": list(self.config["targets"])}}

    def load_state_dict(self, state: dict) -> None:
        """Resume from :meth:`state_dict`: set the step counter.

        The model's masks live in the model's own ``state_dict``; load them there. The
        saved configuration must equal this pruner's (InputError naming the keys that
        differ), so a run never resumes on a different schedule by accident. A config
        saved before ``granularity`` existed has no such key: it means ``"weight"``.
        """
        func = "GradualPruner.load_state_dict"
        if not isinstance(state, dict) or set(state) != {"step", "config"} or not isinstance(state["config"], dict):
            raise InputError(f"{func} expects a dict with keys 'step' and 'config'; got {state!r}.")
        step = check_int(state["step"], "step", func, minimum=0)
        saved = {"granularity": "weight", **state["config"], "targets": list(state["config"].get("targets", []))}
        differ = sorted(k for k in set(saved) | set(self.config) if saved.get(k) != self.config.get(k))
        if differ:
            raise InputError(
                f"{func}: the saved config differs from this pruner's in {differ}; expected equal configs."
            )
        self.last_step = step
