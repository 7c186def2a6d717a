"""How sparse a model's masks are, and which ``amount`` gets it to a total sparsity.

Here *sparsity* is the fraction of mask entries that are False: what pruning controls.
(:func:`sparsernn.nn.count_parameters` instead counts zeros of the effective weights,
biases and unmasked parameters included.)

Examples
--------
>>> from sparsernn.nn import MaskedRNN
>>> from sparsernn.prune import magnitude
>>> rnn = MaskedRNN(2, 2)                                # weight_ih 2x2, weight_hh 2x2
>>> _ = magnitude(rnn, 0.5, targets="hh")
>>> sparsity(rnn)
{'weight_ih_l0': 0.0, 'weight_hh_l0': 0.5, 'overall': 0.25}
>>> amount_for_sparsity(0.25, 0.5)                   # remove a third of what is left
0.3333333333333333
"""

from __future__ import annotations

from torch import nn

from ..checks import check_fraction
from ..errors import InputError
from ._core import check_granularity, check_model, check_targets, select, units_of

__all__ = ["amount_for_sparsity", "sparsity"]


def sparsity(model: nn.Module, targets: str | tuple[str, ...] | None = None, *,
             granularity: str = "weight") -> dict[str, float]:
    """Return the fraction of masked entries of each targeted matrix, and over all of them.

    .. math:: s_W = \\frac{\\#\\{M_{ij} = \\text{False}\\}}{\\#M}, \\qquad
              s_\\text{overall} = \\frac{\\sum_W \\#\\{M_{ij} = \\text{False}\\}}{\\sum_W \\#M}

    With ``granularity="connection"`` the entries are connections instead (see
    :mod:`sparsernn.prune.criteria`): :math:`M` is the ``(H, in)`` connection mask of a
    ``(gates * H, in)`` matrix, True where any gate keeps the connection.

    Parameters
    ----------
    model : torch.nn.Module
        A model built from :mod:`sparsernn.nn` masked modules.
    targets : str or sequence of str, optional
        As in :func:`sparsernn.prune.magnitude`; None (default) reports every masked matrix.
    granularity : {"weight", "connection"}, default "weight"
        What an entry is: a weight, or a connection shared by the gate blocks.

    Returns
    -------
    dict
        ``{qualified weight name: sparsity}`` in module order, then ``"overall"``: the
        count-weighted sparsity of the reported matrices.

    Examples
    --------
    >>> from sparsernn.nn import SequenceClassifier
    >>> model = SequenceClassifier("gru", vocab_size=5, hidden_sizes=(3,), embedding_dim=2)
    >>> model.readout.mask[0] = False                    # 3 of 6 readout weights
    >>> sparsity(model, targets="ho")
    {'readout.weight': 0.5, 'overall': 0.5}
    >>> round(sparsity(model)["overall"], 4)             # 3 of 18 + 27 + 6 masked weights
    0.0588
    """
    func = "sparsity"
    check_model(model, func)
    if targets is not None:
        targets = check_targets(targets, func)
    granularity = check_granularity(granularity, func)
    records = select(model, targets, func)
    report: dict[str, float] = {}
    masked = total = 0
    for unit in units_of(records, granularity):
        off, size = int((~unit.mask).sum()), unit.mask.numel()
        report[unit.name] = off / size if size else 0.0
        masked, total = masked + off, total + size
    report["overall"] = masked / total if total else 0.0
    return report


def amount_for_sparsity(current: float, target: float) -> float:
    """Return the ``amount`` that takes a sparsity ``current`` to ``target``.

    Removing a fraction :math:`a` of the remaining :math:`1 - s_c` weights leaves
    :math:`s_c + a (1 - s_c)` masked, so

    .. math:: a = \\frac{s_t - s_c}{1 - s_c},

    and ``0.0`` when ``current`` is 1 (nothing is left; then ``target`` must be 1 too).
    Counts are rounded per call, so the sparsity reached is ``target`` up to one weight
    per group; :func:`sparsernn.prune.prune_to_sparsity` lands on exact counts.

    Parameters
    ----------
    current, target : float in [0, 1]
        Sparsity now and wanted; ``target >= current`` (masks only shrink).

    Examples
    --------
    >>> amount_for_sparsity(0.0, 0.9)
    0.9
    >>> amount_for_sparsity(0.5, 0.75)
    0.5
    """
    func = "amount_for_sparsity"
    current = check_fraction(current, "current", func)
    target = check_fraction(target, "target", func)
    if target < current:
        raise InputError(
            f"The 'target' parameter of {func} must be >= current ({current!r}), as masks only shrink; got {target!r}."
        )
    if current == 1.0:
        return 0.0
    return (target - current) / (1.0 - current)
