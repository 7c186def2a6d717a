"""Mini-batches of encoded strings, each trimmed to its own longest string.

Example
-------
>>> inputs = torch.tensor([[2, 3, 4], [2, 0, 0], [2, 3, 0]])
>>> lengths, labels = torch.tensor([3, 1, 2]), torch.tensor([1, 0, 1])
>>> [batch.inputs.tolist() for batch in iterate_batches(inputs, lengths, labels, 2)]
[[[2, 3, 4], [2, 0, 0]], [[2, 3]]]
>>> num_batches(3, 2), num_batches(3, 2, drop_last=True)
(2, 1)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

import torch

from ..checks import check_int
from ..errors import InputError

__all__ = ["Batch", "iterate_batches", "num_batches"]


class Batch(NamedTuple):
    """One mini-batch.

    Attributes
    ----------
    inputs : torch.Tensor, shape (B, T_b) long or (B, T_b, C) float
        Padded tokens or real vectors; ``T_b`` is the longest length in this batch.
    lengths : torch.Tensor, shape (B,), long, on the CPU
        As :func:`torch.nn.utils.rnn.pack_padded_sequence` wants them.
    labels : torch.Tensor, shape (B,) or (B, T_b, ...)
        The targets: one per sequence, or per step (trimmed to ``T_b`` like the inputs).
    """

    inputs: torch.Tensor
    lengths: torch.Tensor
    labels: torch.Tensor


def num_batches(n: int, batch_size: int, drop_last: bool = False) -> int:
    """Number of batches :func:`iterate_batches` yields for ``n`` examples.

    :math:`\\lceil n / b \\rceil`, or :math:`\\lfloor n / b \\rfloor` with ``drop_last``.

    >>> num_batches(10, 4), num_batches(10, 4, drop_last=True), num_batches(0, 4)
    (3, 2, 0)
    """
    n = check_int(n, "n", "num_batches", minimum=0)
    batch_size = check_int(batch_size, "batch_size", "num_batches", minimum=1)
    return n // batch_size if drop_last else -(-n // batch_size)


def iterate_batches(
    inputs: torch.Tensor,
    lengths: torch.Tensor,
    labels: torch.Tensor,
    batch_size: int,
    *,
    shuffle: bool = False,
    generator: torch.Generator | None = None,
    drop_last: bool = False,
) -> Iterator[Batch]:
    """Yield mini-batches of ``(inputs, lengths, labels)``, in order or shuffled.

    Parameters
    ----------
    inputs : torch.Tensor, shape (N, T) integer, or (N, T, C)
        Padded tokens, e.g. from :meth:`~sparsernn.data.vocab.Vocabulary.encode`, or
        padded real vectors.
    lengths : torch.Tensor, shape (N,), integer
        Each in ``[1, T]``.
    labels : torch.Tensor, shape (N,), or (N, T, ...) for per-step targets
    batch_size : int
        Examples per batch, ``>= 1``; the last batch may be smaller.
    shuffle : bool
        Visit the examples in the order of ``torch.randperm(N, generator=generator)``.
    generator : torch.Generator, optional
        Required when shuffling: the order depends only on its state, so a generator
        seeded the same way gives the same order. Nothing else is random here.
    drop_last : bool
        Skip a last batch smaller than ``batch_size``.

    Yields
    ------
    Batch
        ``inputs`` trimmed to the batch's longest length; ``lengths`` on the CPU.

    Raises
    ------
    InputError
        At the call (not at the first batch) for mismatched shapes, lengths out of
        range, a bad ``batch_size``, or ``shuffle`` without a generator.
    """
    func = "iterate_batches"
    batch_size = check_int(batch_size, "batch_size", func, minimum=1)
    for name, t, ndims in (("inputs", inputs, (2, 3)), ("lengths", lengths, (1,)), ("labels", labels, (1, 2, 3))):
        if not isinstance(t, torch.Tensor) or t.dim() not in ndims:
            got = f"shape {tuple(t.shape)}" if isinstance(t, torch.Tensor) else type(t).__name__
            dims = " or ".join(f"{d}-D" for d in ndims)
            raise InputError(f"The {name!r} parameter of {func} must be a {dims} tensor; got {got}.")
    n = inputs.shape[0]
    if lengths.shape[0] != n or labels.shape[0] != n:
        raise InputError(
            f"{func}: inputs, lengths and labels must have the same first size; got {n}, "
            f"{lengths.shape[0]} and {labels.shape[0]}."
        )
    if labels.dim() > 1 and labels.shape[1] != inputs.shape[1]:
        raise InputError(f"{func}: per-step labels must have the inputs' {inputs.shape[1]} steps; got "
                         f"shape {tuple(labels.shape)}.")
    if lengths.is_floating_point() or lengths.is_complex():
        raise InputError(f"The 'lengths' parameter of {func} must be an integer tensor; got {lengths.dtype}.")
    lengths = lengths.to("cpu", torch.long)
    if n and (int(lengths.min()) < 1 or int(lengths.max()) > inputs.shape[1]):
        raise InputError(
            f"{func}: every length must be in [1, {inputs.shape[1]}] (the width of inputs); got "
            f"lengths from {int(lengths.min())} to {int(lengths.max())}."
        )
    if shuffle and not isinstance(generator, torch.Generator):
        raise InputError(
            f"{func}: shuffle=True needs a seeded torch.Generator as 'generator'; got {generator!r}."
        )
    if shuffle:
        order = torch.randperm(n, generator=generator, device=generator.device).cpu()
    else:
        order = torch.arange(n)
    return _batches(inputs, lengths, labels, order, batch_size, drop_last)


def _batches(inputs: torch.Tensor, lengths: torch.Tensor, labels: torch.Tensor, order: torch.Tensor,
             batch_size: int, drop_last: bool) -> Iterator[Batch]:
    n = len(order)
    stop = n - n % batch_size if drop_last else n
    for start in range(0, stop, batch_size):
        idx = order[start:start + batch_size]
        batch_lengths = lengths[idx]  # (B,)
        t_b = int(batch_lengths.max())
        on_device = idx.to(inputs.device)
        targets = labels[idx.to(labels.device)]
        yield Batch(inputs[on_device, :t_b], batch_lengths, targets[:, :t_b] if targets.dim() > 1 else targets)
