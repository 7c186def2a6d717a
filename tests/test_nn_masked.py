"""Masked recurrent layers against their torch.nn twins (one contract for every cell)."""

from __future__ import annotations

import copy
import io

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from sparsernn.errors import InputError
from sparsernn.nn import (
    MaskedGRU,
    MaskedLinear,
    MaskedLSTM,
    MaskedRNN,
    count_parameters,
    effective_parameters,
    mask_name,
    masked_weights,
)

# cell -> (torch class, masked class, extra constructor arguments)
CELLS = {
    "rnn_tanh": (nn.RNN, MaskedRNN, {"nonlinearity": "tanh"}),
    "rnn_relu": (nn.RNN, MaskedRNN, {"nonlinearity": "relu"}),
    "lstm": (nn.LSTM, MaskedLSTM, {}),
    "gru": (nn.GRU, MaskedGRU, {}),
}
IN, HID, BATCH, STEPS = 3, 5, 4, 6
LENGTHS = torch.tensor([6, 2, 5, 1])  # unsorted on purpose


def make_pair(cell, seed=0, **kwargs):
    """A torch module and its masked copy with the same weights."""
    torch_cls, masked_cls, extra = CELLS[cell]
    torch.manual_seed(seed)
    plain = torch_cls(IN, HID, **extra, **kwargs)
    masked = masked_cls.from_torch(plain)
    assert type(masked) is masked_cls
    return plain, masked


def make_input(batch_first, packed, seed=1, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(BATCH, STEPS, IN, generator=g, dtype=dtype)
    if not batch_first:
        x = x.transpose(0, 1).contiguous()
    x.requires_grad_(True)
    if packed:
        return x, pack_padded_sequence(x, LENGTHS, batch_first=batch_first, enforce_sorted=False)
    return x, x


def run(module, inputs, batch_first):
    """Outputs and final states as a flat list of padded tensors."""
    out, state = module(inputs)
    if isinstance(out, nn.utils.rnn.PackedSequence):
        out, _ = pad_packed_sequence(out, batch_first=batch_first)
    states = list(state) if isinstance(state, tuple) else [state]
    return [out, *states]


def scalar_loss(tensors):
    g = torch.Generator().manual_seed(2)
    return sum((t * torch.randn(t.shape, generator=g)).sum() for t in tensors)


def random_masks(module, density=0.6, seed=3):
    g = torch.Generator().manual_seed(seed)
    for mask in module.masks().values():
        mask.copy_(torch.rand(mask.shape, generator=g) < density)


# ---------------------------------------------------------------------------------------
# All-True masks: the masked module is its torch twin


@pytest.mark.parametrize("cell", sorted(CELLS))
@pytest.mark.parametrize("num_layers", [1, 3])
@pytest.mark.parametrize("batch_first", [True, False])
@pytest.mark.parametrize("packed", [False, True])
def test_all_true_masks_match_torch_forward_and_backward(cell, num_layers, batch_first, packed):
    plain, masked = make_pair(cell, num_layers=num_layers, batch_first=batch_first)
    x_plain, in_plain = make_input(batch_first, packed)
    x_masked, in_masked = make_input(batch_first, packed)

    expected = run(plain, in_plain, batch_first)
    got = run(masked, in_masked, batch_first)
    for e, g in zip(expected, got, strict=True):
        torch.testing.assert_close(g, e, rtol=0, atol=1e-5)

    scalar_loss(expected).backward()
    scalar_loss(got).backward()
    torch.testing.assert_close(x_masked.grad, x_plain.grad, rtol=0, atol=1e-5)
    plain_params = dict(plain.named_parameters())
    for name, param in masked.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name
        torch.testing.assert_close(param.grad, plain_params[name].grad, rtol=0, atol=1e-5, msg=name)


@pytest.mark.parametrize("cell", sorted(CELLS))
@pytest.mark.parametrize("packed", [False, True])
def test_bidirectional_matches_torch(cell, packed):
    plain, masked = make_pair(cell, num_layers=2, bidirectional=True, batch_first=True)
    _, inputs = make_input(True, packed)
    for e, g in zip(run(plain, inputs, True), run(masked, inputs, True), strict=True):
        torch.testing.assert_close(g, e, rtol=0, atol=1e-5)


@pytest.mark.filterwarnings("ignore:LSTM with projections is not supported with oneDNN")
@pytest.mark.parametrize("packed", [False, True])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_lstm_projection_matches_torch(packed, bidirectional):
    plain, masked = make_pair("lstm", num_layers=2, proj_size=2, bidirectional=bidirectional)
    assert "mask_hr_l0" in dict(masked.named_buffers())
    _, inputs = make_input(False, packed)
    expected, got = run(plain, inputs, False), run(masked, inputs, False)
    assert got[0].shape[-1] == 2 * (2 if bidirectional else 1)
    for e, g in zip(expected, got, strict=True):
        torch.testing.assert_close(g, e, rtol=0, atol=1e-5)


@pytest.mark.parametrize("cell", sorted(CELLS))
def test_dropout_and_unbatched_input_match_torch(cell):
    plain, masked = make_pair(cell, num_layers=3, dropout=0.5)
    x = torch.randn(STEPS, BATCH, IN)
    torch.manual_seed(7)
    expected = run(plain, x, False)
    torch.manual_seed(7)
    got = run(masked, x, False)
    for e, g in zip(expected, got, strict=True):
        torch.testing.assert_close(g, e, rtol=0, atol=1e-5)
    plain.eval(), masked.eval()
    single = x[:, 0]  # (T, F): torch's unbatched form
    for e, g in zip(run(plain, single, False), run(masked, single, False), strict=True):
        torch.testing.assert_close(g, e, rtol=0, atol=1e-5)


def test_same_constructor_and_parameter_names_as_torch():
    plain = nn.RNN(3, 4, 2, "relu", False, True, 0.0, True)  # torch's positional order
    masked = MaskedRNN(3, 4, 2, "relu", False, True, 0.0, True)
    assert masked.nonlinearity == "relu" and masked.bias is False and masked.batch_first
    assert [n for n, _ in masked.named_parameters()] == [n for n, _ in plain.named_parameters()]
    assert [n for n, _ in masked.named_buffers()] == [
        "mask_ih_l0", "mask_hh_l0", "mask_ih_l0_reverse", "mask_hh_l0_reverse",
        "mask_ih_l1", "mask_hh_l1", "mask_ih_l1_reverse", "mask_hh_l1_reverse",
    ]  # fmt: skip
    lstm = MaskedLSTM(3, 4, proj_size=2)
    assert [n for n, _ in lstm.named_buffers()] == ["mask_ih_l0", "mask_hh_l0", "mask_hr_l0"]
    for name, mask in lstm.masks().items():
        assert mask.dtype == torch.bool and mask.all() and mask.shape == getattr(lstm, name).shape


def test_mask_name():
    assert mask_name("weight_ih_l0") == "mask_ih_l0"
    assert mask_name("weight_hh_l1_reverse") == "mask_hh_l1_reverse"
    assert mask_name("weight_hr_l0") == "mask_hr_l0"
    assert mask_name("weight") == "mask"
    with pytest.raises(InputError, match="starting with 'weight'"):
        mask_name("bias_ih_l0")


# ---------------------------------------------------------------------------------------
# Random masks: the masked module is torch's module with weight * mask


@pytest.mark.parametrize("cell", sorted(CELLS))
@pytest.mark.parametrize("packed", [False, True])
def test_random_mask_equals_masked_torch_weights_and_zeroes_gradients(cell, packed):
    kwargs = {"num_layers": 2, "bidirectional": True}
    if cell == "lstm":
        kwargs["proj_size"] = 3
    plain_ref, masked = make_pair(cell, **kwargs)
    random_masks(masked)
    plain = masked.to_torch()
    assert type(plain) is type(plain_ref)
    x_plain, in_plain = make_input(False, packed)
    x_masked, in_masked = make_input(False, packed)

    expected, got = run(plain, in_plain, False), run(masked, in_masked, False)
    for e, g in zip(expected, got, strict=True):
        torch.testing.assert_close(g, e, rtol=0, atol=1e-6)
    # the masks matter: the unmasked module computes something else
    assert not torch.allclose(run(plain_ref, in_plain, False)[0], got[0], atol=1e-3)

    scalar_loss(expected).backward()
    scalar_loss(got).backward()
    torch.testing.assert_close(x_masked.grad, x_plain.grad, rtol=0, atol=1e-5)
    plain_params = dict(plain.named_parameters())
    for name, mask in masked.masks().items():
        grad = getattr(masked, name).grad
        assert (grad[~mask] == 0).all(), name
        assert (grad[mask] != 0).any(), name
        # chain rule through weight * mask: torch's gradient, cut where the mask is False
        expected_grad = plain_params[name].grad * mask
        torch.testing.assert_close(grad, expected_grad, rtol=0, atol=1e-5, msg=name)


@pytest.mark.parametrize("cell", sorted(CELLS))
def test_masked_weights_have_no_effect_after_training_with_weight_decay(cell):
    _, rnn = make_pair(cell, num_layers=2, batch_first=True)
    readout = MaskedLinear(HID, 2)
    model = nn.ModuleDict({"rnn": rnn, "readout": readout})
    random_masks(rnn, density=0.5)
    readout.mask[1, :2] = False
    before = {r.name: r.weight.detach().clone() for r in masked_weights(model)}

    g = torch.Generator().manual_seed(4)
    x = torch.randn(16, STEPS, IN, generator=g)
    y = (x[:, :, 0].sum(1) > 0).long()

    def logits(rnn_module, readout_module):
        out, _ = rnn_module(x)
        return readout_module(out[:, -1])

    opt = torch.optim.Adam(model.parameters(), lr=0.02, weight_decay=0.1)
    first = None
    for _ in range(50):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(logits(rnn, readout), y)
        first = loss.item() if first is None else first
        loss.backward()
        opt.step()
    assert loss.item() < first

    for record in masked_weights(model):
        moved = record.weight.detach() != before[record.name]
        assert moved[~record.mask].all(), f"weight decay should move masked raw values of {record.name}"

    with torch.no_grad():
        trained = logits(rnn, readout)
        torch.testing.assert_close(trained, logits(rnn.to_torch(), readout.to_torch()), rtol=0, atol=1e-6)
        for record in masked_weights(model):
            record.weight[~record.mask] = torch.randn(int((~record.mask).sum())) * 100
        assert torch.equal(logits(rnn, readout), trained)


# ---------------------------------------------------------------------------------------
# State, devices and dtypes, conversions


def test_state_dict_round_trip_restores_masks():
    _, lstm = make_pair("lstm", num_layers=2, bidirectional=True)
    random_masks(lstm)
    state = lstm.state_dict()
    assert state["mask_hh_l1_reverse"].dtype == torch.bool
    assert {k for k in state if k.startswith("mask")} == {mask_name(n) for n in lstm.masked_weight_names}

    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    loaded = torch.load(buffer, weights_only=True)

    fresh = MaskedLSTM(IN, HID, num_layers=2, bidirectional=True)
    assert fresh.mask_ih_l0.all()
    fresh.load_state_dict(loaded)
    for name, mask in lstm.masks().items():
        assert torch.equal(fresh.masks()[name], mask)
    x = torch.randn(STEPS, BATCH, IN)
    assert torch.equal(fresh(x)[0], lstm(x)[0])
    clone = copy.deepcopy(lstm)
    assert clone.mask_ih_l0 is not lstm.mask_ih_l0
    assert torch.equal(clone(x)[0], lstm(x)[0])


def test_load_state_dict_assign_and_functional_call_keep_masking():
    _, gru = make_pair("gru")
    random_masks(gru)
    x = torch.randn(STEPS, BATCH, IN)
    expected = gru.to_torch()(x)[0]

    fresh = MaskedGRU(IN, HID)
    fresh.load_state_dict(gru.state_dict(), assign=True)  # replaces the Parameter objects
    torch.testing.assert_close(fresh(x)[0], expected, rtol=0, atol=1e-6)

    params = {n: p.detach().clone() for n, p in gru.named_parameters()}
    out = torch.func.functional_call(gru, params, (x,))[0]
    torch.testing.assert_close(out, expected, rtol=0, atol=1e-6)
    scaled = {n: 2 * p for n, p in params.items()}
    assert not torch.allclose(torch.func.functional_call(gru, scaled, (x,))[0], expected)


@pytest.mark.parametrize("cell", sorted(CELLS))
def test_to_float64_keeps_masks_and_masking(cell):
    _, masked = make_pair(cell, num_layers=2)
    random_masks(masked)
    masked = masked.to(torch.float64)
    assert masked.weight_ih_l0.dtype == torch.float64
    assert all(m.dtype == torch.bool for m in masked.masks().values())
    plain = masked.to_torch()
    assert plain.weight_ih_l0.dtype == torch.float64
    x = torch.randn(STEPS, BATCH, IN, dtype=torch.float64)
    torch.testing.assert_close(masked(x)[0], plain(x)[0], rtol=0, atol=1e-12)


def test_from_torch_copies_mode_and_masks_and_rejects_other_modules():
    plain = nn.RNN(IN, HID, nonlinearity="relu").eval()
    masked = MaskedRNN.from_torch(plain)
    assert masked.nonlinearity == "relu" and not masked.training
    assert all(m.all() for m in masked.masks().values())
    masked.weight_hh_l0.data.add_(1.0)
    assert not torch.equal(masked.weight_hh_l0, plain.weight_hh_l0)  # a copy, not a view

    random_masks(masked)
    again = MaskedRNN.from_torch(masked)
    assert torch.equal(again.mask_hh_l0, masked.mask_hh_l0)

    with pytest.raises(InputError, match="torch.nn.LSTM"):
        MaskedLSTM.from_torch(nn.GRU(IN, HID))
    with pytest.raises(InputError, match="torch.nn.Linear"):
        MaskedLinear.from_torch(nn.GRU(IN, HID))


def test_masked_linear_matches_linear_and_zeroes_masked_gradients():
    torch.manual_seed(0)
    plain = nn.Linear(4, 3)
    masked = MaskedLinear.from_torch(plain)
    x = torch.randn(5, 4)
    assert torch.equal(masked(x), plain(x))
    masked.mask[0, 1] = False
    masked.mask[2] = False
    torch.testing.assert_close(masked(x), masked.to_torch()(x), rtol=0, atol=0)
    assert masked.to_torch().weight[2].eq(0).all()
    masked(x).sum().backward()
    assert (masked.weight.grad[~masked.mask] == 0).all()
    assert (masked.weight.grad[masked.mask] != 0).all()
    assert list(masked.state_dict()) == ["weight", "bias", "mask"]


# ---------------------------------------------------------------------------------------
# Enumerating masked weights and counting parameters


def test_masked_weights_of_two_layer_bidirectional_lstm():
    lstm = MaskedLSTM(IN, HID, num_layers=2, bidirectional=True)
    records = masked_weights(lstm)
    assert [(r.name, r.mask_name, r.target, r.layer, r.direction) for r in records] == [
        ("weight_ih_l0", "mask_ih_l0", "ih", 0, 0),
        ("weight_hh_l0", "mask_hh_l0", "hh", 0, 0),
        ("weight_ih_l0_reverse", "mask_ih_l0_reverse", "ih", 0, 1),
        ("weight_hh_l0_reverse", "mask_hh_l0_reverse", "hh", 0, 1),
        ("weight_ih_l1", "mask_ih_l1", "ih", 1, 0),
        ("weight_hh_l1", "mask_hh_l1", "hh", 1, 0),
        ("weight_ih_l1_reverse", "mask_ih_l1_reverse", "ih", 1, 1),
        ("weight_hh_l1_reverse", "mask_hh_l1_reverse", "hh", 1, 1),
    ]
    record = records[5]
    assert record.weight is lstm.weight_hh_l1 and record.mask is lstm.mask_hh_l1
    record.mask[0, 0] = False  # the record hands out the live buffer
    assert not lstm.mask_hh_l1[0, 0]
    assert torch.equal(record.effective(), lstm.weight_hh_l1.detach() * lstm.mask_hh_l1)

    proj = masked_weights(MaskedLSTM(IN, HID, proj_size=2))
    assert [(r.target, r.layer) for r in proj] == [("ih", 0), ("hh", 0), ("hr", 0)]


def test_masked_weights_count_layers_through_the_model():
    model = nn.Sequential(nn.LSTM(IN, HID, num_layers=2), MaskedGRU(HID, HID, num_layers=2), MaskedLinear(HID, 2))
    records = masked_weights(model)
    assert [(r.name, r.target, r.layer) for r in records] == [
        ("1.weight_ih_l0", "ih", 2),
        ("1.weight_hh_l0", "hh", 2),
        ("1.weight_ih_l1", "ih", 3),
        ("1.weight_hh_l1", "hh", 3),
        ("2.weight", "ho", None),
    ]
    assert records[-1].qualified_mask_name == "2.mask"
    assert records[-1].qualified_mask_name in model.state_dict()


def test_count_parameters_and_effective_parameters():
    lstm = MaskedLSTM(2, 3)  # ih 12x2, hh 12x3, two biases of 12
    with torch.no_grad():
        for p in lstm.parameters():
            p.fill_(0.5)
        lstm.bias_ih_l0[:4] = 0.0  # a raw zero counts as zero too
    lstm.mask_hh_l0[:, 1:] = False  # 24 of the 36 hh weights cut
    assert count_parameters(lstm) == (24 + 12 + 8 + 12, 84)
    effective = effective_parameters(lstm)
    assert list(effective) == [n for n, _ in lstm.named_parameters()]
    assert torch.equal(effective["weight_hh_l0"], 0.5 * lstm.mask_hh_l0)
    assert not effective["weight_hh_l0"].requires_grad
    count = count_parameters(lstm)
    assert count.sparsity == pytest.approx(1 - 56 / 84)




def _torch_pruned(cell):
    """A torch module with two layers, two of its weights pruned by torch.nn.utils.prune."""
    from torch.nn.utils import prune as torch_prune

    torch_cls, _, extra = CELLS[cell]
    torch.manual_seed(3)
    plain = torch_cls(IN, HID, num_layers=2, **extra)
    torch_prune.l1_unstructured(plain, "weight_hh_l0", amount=0.5)
    torch_prune.random_unstructured(plain, "weight_ih_l1", amount=0.3)
    return plain


@pytest.mark.parametrize("cell", sorted(CELLS))
def test_from_torch_keeps_the_weights_and_masks_of_a_torch_pruned_module(cell):
    plain = _torch_pruned(cell)
    masked = CELLS[cell][1].from_torch(plain)
    assert torch.equal(masked.mask_hh_l0, plain.weight_hh_l0_mask.bool())
    assert torch.equal(masked.mask_ih_l1, plain.weight_ih_l1_mask.bool())
    assert masked.mask_ih_l0.all() and masked.mask_hh_l1.all()
    assert torch.equal(masked.weight_hh_l0, plain.weight_hh_l0_orig)  # raw values kept under the mask
    _, x = make_input(False, True)  # packed, as well
    torch.testing.assert_close(run(masked, x, False), run(plain, x, False), rtol=0, atol=0)


def test_from_torch_keeps_a_torch_pruned_linear_and_refuses_what_it_cannot_carry():
    from torch.nn.utils import prune as torch_prune

    torch.manual_seed(0)
    plain = nn.Linear(4, 3)
    torch_prune.l1_unstructured(plain, "weight", amount=0.5)
    masked = MaskedLinear.from_torch(plain)
    x = torch.randn(5, 4)
    assert torch.equal(masked.mask, plain.weight_mask.bool()) and torch.equal(masked(x), plain(x))
    torch_prune.l1_unstructured(plain, "bias", amount=0.5)
    with pytest.raises(InputError, match="'bias' of the Linear is pruned .* prune.remove"):
        MaskedLinear.from_torch(plain)
    gru = nn.GRU(IN, HID)
    torch_prune.l1_unstructured(gru, "bias_hh_l0", amount=0.5)
    with pytest.raises(InputError, match="'bias_hh_l0' of the GRU is pruned"):
        MaskedGRU.from_torch(gru)
    scaled = nn.Linear(4, 3)
    torch_prune.custom_from_mask(scaled, "weight", torch.full((3, 4), 0.5))
    with pytest.raises(InputError, match="other than 0 and 1"):
        MaskedLinear.from_torch(scaled)
    para = nn.Linear(4, 3)
    nn.utils.parametrizations.weight_norm(para)
    with pytest.raises(InputError, match="parametrizations"):
        MaskedLinear.from_torch(para)


@pytest.mark.parametrize("cell", sorted(CELLS))
def test_to_torch_pruned_is_a_torch_pruned_twin(cell):
    _, masked = make_pair(cell, num_layers=2)
    random_masks(masked)
    twin = masked.to_torch(pruned=True)
    for name in masked.masked_weight_names:
        assert torch.equal(getattr(twin, name + "_mask").bool(), getattr(masked, mask_name(name)))
        assert torch.equal(getattr(twin, name + "_orig"), getattr(masked, name))
    _, x = make_input(False, True)
    torch.testing.assert_close(run(twin, x, False), run(masked, x, False), rtol=0, atol=0)
    torch.testing.assert_close(run(masked.to_torch(), x, False), run(masked, x, False), rtol=0, atol=0)
    back = CELLS[cell][1].from_torch(twin)  # and back again, losslessly
    assert all(torch.equal(a, b) for a, b in zip(back.state_dict().values(), masked.state_dict().values()))


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_torch_export_takes_masked_layers(cell):
    _, masked = make_pair(cell)
    random_masks(masked)
    x = torch.randn(STEPS, BATCH, IN)
    exported = torch.export.export(masked, (x,)).module()
    torch.testing.assert_close(run(exported, x, False), run(masked, x, False))
    masked.mask_hh_l0.zero_()  # another mask, exported again
    exported = torch.export.export(masked, (x,)).module()
    torch.testing.assert_close(run(exported, x, False), run(masked, x, False))
