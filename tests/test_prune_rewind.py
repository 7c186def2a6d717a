"""rewind: initial values back, masks kept, all or nothing."""

from __future__ import annotations

import copy

import pytest
import torch

from sparsernn.errors import InputError
from sparsernn.nn import SequenceClassifier, masked_weights
from sparsernn.prune import magnitude, rewind


def trained_and_pruned(seed=0):
    torch.manual_seed(seed)
    model = SequenceClassifier("gru", vocab_size=6, hidden_sizes=(4, 3), embedding_dim=3)
    theta0 = copy.deepcopy(model.state_dict())
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    tokens, lengths = torch.tensor([[1, 2, 3], [4, 5, 0]]), torch.tensor([3, 2])
    for _ in range(3):  # a few real updates so every parameter moves
        optimizer.zero_grad()
        model(tokens, lengths).sum().backward()
        optimizer.step()
    magnitude(model, 0.6, targets=("ih", "hh", "ho"))
    return model, theta0, optimizer


def masks_of(model):
    return {r.name: r.mask.clone() for r in masked_weights(model)}


def test_rewind_restores_every_parameter_and_keeps_masks():
    model, theta0, optimizer = trained_and_pruned()
    params_before = [id(p) for p in model.parameters()]
    masks = masks_of(model)
    moved = [n for n, p in model.named_parameters() if not torch.equal(p, theta0[n])]
    assert "embed.weight" in moved and "layers.0.weight_hh_l0" in moved and "readout.bias" in moved
    assert rewind(model, theta0) is model
    for name, param in model.named_parameters():
        assert torch.equal(param, theta0[name]), name
    assert all(torch.equal(m, masks[k]) for k, m in masks_of(model).items())
    assert [id(p) for p in model.parameters()] == params_before  # the optimizer still holds them
    assert all(p is q for p, q in zip(optimizer.param_groups[0]["params"], model.parameters()))


def test_rewind_surviving_weights_equal_initial_times_mask():
    model, theta0, _ = trained_and_pruned(1)
    rewind(model, theta0)
    for r in masked_weights(model):
        assert torch.equal(r.effective(), theta0[r.name] * r.mask), r.name


def test_rewind_targets_only_touch_those_matrices():
    model, theta0, _ = trained_and_pruned()
    trained = {n: p.detach().clone() for n, p in model.named_parameters()}
    rewind(model, theta0, targets="hh")
    for name, param in model.named_parameters():
        expected = theta0[name] if "weight_hh" in name else trained[name]
        assert torch.equal(param, expected), name


def test_rewind_bad_input_changes_nothing():
    model, theta0, _ = trained_and_pruned()
    trained = {n: p.detach().clone() for n, p in model.named_parameters()}
    broken = dict(theta0)
    del broken["readout.bias"]  # the last parameter: everything before it would be copied
    with pytest.raises(InputError, match="no entry 'readout.bias'"):
        rewind(model, broken)
    wrong_shape = {**theta0, "layers.1.weight_ih_l0": torch.zeros(2, 2)}
    with pytest.raises(InputError, match=r"must be a tensor of shape \(9, 4\); got \(2, 2\)"):
        rewind(model, wrong_shape)
    with pytest.raises(InputError, match="'initial_state_dict' parameter of rewind must be a mapping"):
        rewind(model, list(theta0.values()))
    with pytest.raises(InputError, match="'targets' parameter of rewind"):
        rewind(model, theta0, targets="bias")
    assert all(torch.equal(p, trained[n]) for n, p in model.named_parameters())
