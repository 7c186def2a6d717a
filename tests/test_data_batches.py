"""Tests for sparsernn.data.batches: iterate_batches and num_batches."""

from __future__ import annotations

import pytest
import torch

from sparsernn.data import Batch, iterate_batches, num_batches
from sparsernn.errors import InputError


def make_data(n=23, width=9):
    """Example i has length 1 + i % width; its tokens are i + 2 then padding; its label is i."""
    lengths = 1 + torch.arange(n) % width
    inputs = torch.zeros(n, width, dtype=torch.long)
    for i in range(n):
        inputs[i, : lengths[i]] = i + 2
    return inputs, lengths, torch.arange(n)


def check_batch(batch, inputs, lengths):
    assert isinstance(batch, Batch)
    ids = batch.labels
    assert batch.lengths.device.type == "cpu" and batch.lengths.dtype == torch.long
    assert torch.equal(batch.lengths, lengths[ids])
    assert batch.inputs.shape == (len(ids), int(lengths[ids].max()))  # trimmed to the longest
    assert torch.equal(batch.inputs, inputs[ids, : batch.inputs.shape[1]])


def test_in_order_batches_cover_every_example_once():
    inputs, lengths, labels = make_data()
    batches = list(iterate_batches(inputs, lengths, labels, 5))
    assert [len(b.labels) for b in batches] == [5, 5, 5, 5, 3]
    assert torch.cat([b.labels for b in batches]).tolist() == list(range(23))
    for b in batches:
        check_batch(b, inputs, lengths)
    # Batch 0 holds lengths 1..5, so it is 5 wide; the last holds 20..22 -> lengths 3..5.
    assert batches[0].inputs.shape == (5, 5) and batches[-1].inputs.shape == (3, 5)
    assert batches[0].inputs[0].tolist() == [2, 0, 0, 0, 0]


def test_shuffled_batches_cover_every_example_once_and_are_deterministic():
    inputs, lengths, labels = make_data(50)
    order = lambda seed: [b.labels.tolist() for b in iterate_batches(  # noqa: E731
        inputs, lengths, labels, 8, shuffle=True, generator=torch.Generator().manual_seed(seed))]
    first = order(0)
    assert sorted(sum(first, [])) == list(range(50))
    assert sum(first, []) != list(range(50))
    assert first == order(0)
    assert first != order(1)
    expected = torch.randperm(50, generator=torch.Generator().manual_seed(0)).tolist()
    assert sum(first, []) == expected
    for b in iterate_batches(inputs, lengths, labels, 8, shuffle=True, generator=torch.Generator().manual_seed(2)):
        check_batch(b, inputs, lengths)


def test_shuffling_does_not_touch_the_global_rng():
    inputs, lengths, labels = make_data()
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    list(iterate_batches(inputs, lengths, labels, 4, shuffle=True, generator=torch.Generator().manual_seed(0)))
    assert torch.equal(torch.rand(3), expected)


def test_drop_last_and_num_batches():
    inputs, lengths, labels = make_data(23)
    batches = list(iterate_batches(inputs, lengths, labels, 5, drop_last=True))
    assert [len(b.labels) for b in batches] == [5, 5, 5, 5]
    for n in range(0, 12):
        for size in (1, 3, 4, 11, 20):
            data = make_data(n)
            for drop in (False, True):
                got = len(list(iterate_batches(*data, size, drop_last=drop)))
                assert got == num_batches(n, size, drop_last=drop)
    assert num_batches(10, 3) == 4 and num_batches(10, 3, drop_last=True) == 3 and num_batches(9, 3) == 3


def test_empty_data_yields_nothing():
    assert list(iterate_batches(torch.zeros(0, 4, dtype=torch.long), torch.zeros(0, dtype=torch.long),
                                torch.zeros(0, dtype=torch.long), 3)) == []


def test_errors_are_raised_at_the_call_not_at_the_first_batch():
    inputs, lengths, labels = make_data()
    with pytest.raises(InputError, match="'batch_size' parameter of iterate_batches must be an int >= 1; got 0"):
        iterate_batches(inputs, lengths, labels, 0)
    with pytest.raises(InputError, match="'batch_size' parameter"):
        iterate_batches(inputs, lengths, labels, True)
    with pytest.raises(InputError, match="'batch_size' parameter"):
        iterate_batches(inputs, lengths, labels, 2.0)
    with pytest.raises(InputError, match="shuffle=True needs a seeded torch.Generator"):
        iterate_batches(inputs, lengths, labels, 4, shuffle=True)
    with pytest.raises(InputError, match="same first size; got 23, 22 and 23"):
        iterate_batches(inputs, lengths[:-1], labels, 4)
    with pytest.raises(InputError, match=r"'inputs' parameter .* must be a 2-D or 3-D tensor; got shape \(23,\)"):
        iterate_batches(labels, lengths, labels, 4)
    with pytest.raises(InputError, match="'labels' parameter .* 1-D or 2-D or 3-D tensor; got list"):
        iterate_batches(inputs, lengths, [0] * 23, 4)
    bad = lengths.clone()
    bad[3] = 0
    with pytest.raises(InputError, match=r"every length must be in \[1, 9\]"):
        iterate_batches(inputs, bad, labels, 4)
    bad[3] = 10
    with pytest.raises(InputError, match=r"every length must be in \[1, 9\]"):
        iterate_batches(inputs, bad, labels, 4)
    with pytest.raises(InputError, match="integer tensor"):
        iterate_batches(inputs, lengths.float(), labels, 4)
    with pytest.raises(InputError, match="'batch_size' parameter of num_batches"):
        num_batches(5, 0)
    with pytest.raises(InputError, match="'n' parameter of num_batches"):
        num_batches(-1, 2)
