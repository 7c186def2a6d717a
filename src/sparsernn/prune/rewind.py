"""Rewind weights to their initial values, keeping the masks: the lottery-ticket reset.

After training and pruning, Frankle & Carbin (2019) reset the surviving weights to the
values they had at initialisation, :math:`\\theta \\leftarrow M \\odot \\theta_0`, and
retrain. Here the mask is applied in the forward pass anyway, so restoring every raw
weight (masked ones too, which never reach the output) is the same reset.

Examples
--------
>>> import copy, torch
>>> from sparsernn.nn import MaskedRNN
>>> from sparsernn.prune import magnitude
>>> rnn = MaskedRNN(2, 3)
>>> theta0 = copy.deepcopy(rnn.state_dict())
>>> with torch.no_grad():                         # stands in for training
...     _ = rnn.weight_hh_l0.add_(1.0)
>>> _ = magnitude(rnn, 0.5)
>>> masks = {k: v.clone() for k, v in rnn.state_dict().items() if "mask" in k}
>>> _ = rewind(rnn, theta0)
>>> torch.equal(rnn.weight_hh_l0, theta0["weight_hh_l0"])
True
>>> all(torch.equal(rnn.state_dict()[k], v) for k, v in masks.items())
True
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import Tensor, nn

from ..errors import InputError
from ._core import check_model, check_targets, select

__all__ = ["rewind"]


def rewind(
    model: nn.Module,
    initial_state_dict: Mapping[str, Tensor],
    *,
    targets: str | tuple[str, ...] | None = None,
) -> nn.Module:
    """Restore weights from ``initial_state_dict``, leaving every mask as it is.

    Side effects:

    1. Copies, in place, ``initial_state_dict[name]`` into each restored parameter:
       with ``targets=None`` every parameter of ``model`` (masked weights, biases,
       embedding, unmasked layers: the full lottery-ticket reset); otherwise only the
       masked weight matrices of those targets. Parameter objects keep their identity,
       so an optimizer holding them stays valid (its state, e.g. momentum, is not reset).
    2. Masks and other buffers are not touched.
    3. If an entry is missing or has the wrong shape, nothing is restored.

    Parameters
    ----------
    model : torch.nn.Module
        A model built from :mod:`sparsernn.nn` masked modules.
    initial_state_dict : mapping of str to Tensor
        ``copy.deepcopy(model.state_dict())`` taken at initialisation (any mapping from
        the model's parameter names to tensors of their shapes; extra keys are ignored).
    targets : str or sequence of str, optional
        As in :func:`sparsernn.prune.magnitude`; None (default) restores every parameter.

    Returns
    -------
    torch.nn.Module
        ``model`` itself.

    Examples
    --------
    >>> import torch
    >>> from sparsernn.nn import MaskedLSTM
    >>> lstm = MaskedLSTM(2, 2)
    >>> theta0 = {k: v.clone() for k, v in lstm.state_dict().items()}
    >>> with torch.no_grad():
    ...     _ = lstm.weight_ih_l0.zero_(), lstm.bias_ih_l0.zero_()
    >>> _ = rewind(lstm, theta0, targets="ih")        # the ih matrix only, not its bias
    >>> torch.equal(lstm.weight_ih_l0, theta0["weight_ih_l0"]), bool(lstm.bias_ih_l0.any())
    (True, False)
    """
    func = "rewind"
    check_model(model, func)
    if not isinstance(initial_state_dict, Mapping):
        raise InputError(
            f"The 'initial_state_dict' parameter of {func} must be a mapping of names to tensors "
            f"(model.state_dict()); got {type(initial_state_dict).__name__}."
        )
    if targets is None:
        params = dict(model.named_parameters())
    else:
        params = {r.name: r.weight for r in select(model, check_targets(targets, func), func)}

    for name, param in params.items():
        if name not in initial_state_dict:
            raise InputError(
                f"{func}: initial_state_dict has no entry {name!r}; expected the model's initial state_dict."
            )
        value = initial_state_dict[name]
        if not isinstance(value, Tensor) or value.shape != param.shape:
            shown = tuple(value.shape) if isinstance(value, Tensor) else type(value).__name__
            raise InputError(
                f"{func}: initial_state_dict[{name!r}] must be a tensor of shape {tuple(param.shape)}; got {shown}."
            )

    with torch.no_grad():
        old = {name: param.detach().clone() for name, param in params.items()}
        done: list[str] = []
        try:
            for name, param in params.items():
                param.copy_(initial_state_dict[name])
                done.append(name)
        except BaseException:
            for name in done:
                params[name].copy_(old[name])
            raise
    return model
