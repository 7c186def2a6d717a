"""Dynamic sparse training: the cosine schedule at start, middle and end; dense gradients
against a plain torch twin; exact budgets over a real training loop; hand-checked drops
and grows; resumption, determinism, rollback and bad input."""

from __future__ import annotations

import copy
import json
import math

import networkx as nx
import numpy as np
import pytest
import torch
from torch.nn import functional as F

from sparsernn.errors import InputError
from sparsernn.nn import GraphRNN, MaskedGRU, MaskedLinear, MaskedLSTM, MaskedRNN, SequenceClassifier, masked_weights
from sparsernn.prune import DynamicSparsity, cosine_drop_fraction, dense_gradients, dynamic, magnitude

VOCAB, BATCH, T, STEPS = 10, 16, 7, 30


# ---------------------------------------------------------------------------------------
# Helpers


def make_model(seed=0):
    torch.manual_seed(seed)
    return SequenceClassifier("lstm", vocab_size=VOCAB, hidden_sizes=(8, 8), embedding_dim=4)


def make_data(seed=1):
    g = torch.Generator().manual_seed(seed)
    inputs = torch.randint(1, VOCAB, (STEPS + 1, BATCH, T), generator=g)
    lengths = torch.randint(1, T + 1, (STEPS + 1, BATCH), generator=g)
    labels = torch.randint(0, 2, (STEPS + 1, BATCH), generator=g)
    return inputs, lengths, labels


def batch_loss(model, data, i):
    inputs, lengths, labels = data
    return F.cross_entropy(model(inputs[i], lengths[i]), labels[i])


def targeted(model, targets=("ih", "hh")):
    return [r for r in masked_weights(model) if r.target in targets]


def counts(model, targets=("ih", "hh")):
    return {r.name: int(r.mask.sum()) for r in targeted(model, targets)}


def masks_of(model):
    return {r.name: r.mask.clone() for r in masked_weights(model)}


def setup(regrowth, *, seed=0, end=25, frequency=5, sparsity=0.8, initialize=True, model=None):
    """A model, its Adam optimizer, the data and a DynamicSparsity whose RigL loss reads the
    batch of the step being taken (``state["i"]``)."""
    model = model or make_model(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    data, state = make_data(), {"i": 0}
    loss = (lambda: batch_loss(model, data, state["i"])) if regrowth == "gradient" else None
    dst = DynamicSparsity(model, sparsity=sparsity, regrowth=regrowth, frequency=frequency, end=end, seed=seed,
                          optimizer=optimizer, loss=loss, initialize=initialize)
    return model, optimizer, data, state, dst


def train_step(model, optimizer, data, state, dst, t):
    state["i"] = t
    optimizer.zero_grad(set_to_none=True)
    batch_loss(model, data, t).backward()
    optimizer.step()
    return dst.step()


# ---------------------------------------------------------------------------------------
# cosine_drop_fraction


def test_cosine_at_start_middle_and_end():
    # alpha / 2 * (1 + cos(pi t / T_end))
    assert cosine_drop_fraction(0, initial=0.3, end=100) == 0.3
    assert cosine_drop_fraction(50, initial=0.3, end=100) == pytest.approx(0.15, abs=1e-15)
    assert cosine_drop_fraction(25, initial=0.4, end=100) == pytest.approx(0.2 * (1 + math.sqrt(0.5)), abs=1e-15)
    assert cosine_drop_fraction(75, initial=0.4, end=100) == pytest.approx(0.2 * (1 - math.sqrt(0.5)), abs=1e-15)
    assert cosine_drop_fraction(100, initial=0.3, end=100) == 0.0
    assert cosine_drop_fraction(10**6, initial=0.3, end=100) == 0.0  # no rise after the end


def test_cosine_is_non_increasing_and_constant_without_end():
    values = [cosine_drop_fraction(t, initial=0.5, end=40) for t in range(60)]
    assert values == sorted(values, reverse=True)
    assert {cosine_drop_fraction(t, initial=0.3, end=None) for t in (0, 7, 10**6)} == {0.3}


@pytest.mark.parametrize(
    "kwargs, match",
    [(dict(step=-1), "'step'"), (dict(step=2.0), "'step'"), (dict(initial=1.5), "'initial'"),
     (dict(initial=float("nan")), "'initial'"), (dict(end=0), "'end'.*>= 1"), (dict(end=5.5), "'end'")],
)
def test_cosine_bad_input(kwargs, match):
    args = dict(step=3, initial=0.3, end=10) | kwargs
    with pytest.raises(InputError, match=match):
        cosine_drop_fraction(args.pop("step"), **args)


# ---------------------------------------------------------------------------------------
# dense_gradients


def sparse_rnn(seed=0):
    torch.manual_seed(seed)
    rnn = MaskedRNN(3, 4)
    g = torch.Generator().manual_seed(seed)
    for mask in (rnn.mask_ih_l0, rnn.mask_hh_l0):
        mask.copy_(torch.rand(mask.shape, generator=g) < 0.5)
    return rnn


def twin_gradients(rnn, x):
    """The gradient w.r.t. the effective weights, from a plain torch.nn.RNN holding W * M."""
    plain = rnn.to_torch()
    plain(x)[0].square().sum().backward()
    return {"weight_ih_l0": plain.weight_ih_l0.grad, "weight_hh_l0": plain.weight_hh_l0.grad}


def test_dense_gradients_match_a_plain_torch_twin_at_masked_positions_too():
    rnn = sparse_rnn()
    x = torch.randn(5, 2, 3)
    grads = dense_gradients(rnn, lambda: rnn(x)[0].square().sum())
    expected = twin_gradients(rnn, x)
    for name in expected:
        torch.testing.assert_close(grads[name], expected[name], rtol=1e-6, atol=1e-7)
        masked = ~getattr(rnn, name.replace("weight", "mask"))
        assert bool((grads[name][masked] != 0).any())  # through W * M these would be exactly 0
    rnn(x)[0].square().sum().backward()
    assert bool((rnn.weight_hh_l0.grad[~rnn.mask_hh_l0] == 0).all())


def test_dense_gradients_leave_the_model_bit_identical():
    rnn = sparse_rnn(1)
    x = torch.randn(5, 2, 3)
    with torch.no_grad():
        rnn.weight_hh_l0[~rnn.mask_hh_l0] = 7.0  # raw values behind the mask must survive
    rnn(x)[0].sum().backward()  # a pending .grad that must be kept
    before_state = copy.deepcopy(rnn.state_dict())
    before_grads = {n: p.grad.clone() for n, p in rnn.named_parameters()}
    before_out = rnn(x)[0]
    dense_gradients(rnn, lambda: rnn(x)[0].square().sum())
    assert torch.equal(rnn(x)[0], before_out)
    for key, value in rnn.state_dict().items():
        assert torch.equal(value, before_state[key]), key
    for name, p in rnn.named_parameters():
        assert torch.equal(p.grad, before_grads[name]), name


def test_dense_gradients_restore_the_model_when_the_loss_fails():
    rnn = sparse_rnn(2)
    before = copy.deepcopy(rnn.state_dict())

    def failing():
        assert bool(rnn.mask_hh_l0.all())  # the masks really were opened for the call
        raise RuntimeError("injected failure")

    with pytest.raises(RuntimeError, match="injected"):
        dense_gradients(rnn, failing)
    assert all(torch.equal(v, before[k]) for k, v in rnn.state_dict().items())


@pytest.mark.parametrize(
    "loss, match",
    [(lambda m, x: m(x)[0], "scalar tensor; got a tensor of shape"),
     (lambda m, x: 3.0, "scalar tensor; got float"),
     (lambda m, x: m(x)[0].sum().detach(), "requires grad"),
     (lambda m, x: m(x)[0].sum() * float("nan"), "finite loss")],
)
def test_dense_gradients_refuse_a_bad_loss(loss, match):
    rnn = sparse_rnn()
    x = torch.randn(5, 2, 3)
    before = copy.deepcopy(rnn.state_dict())
    with pytest.raises(InputError, match=match):
        dense_gradients(rnn, lambda: loss(rnn, x))
    assert all(torch.equal(v, before[k]) for k, v in rnn.state_dict().items())
    with pytest.raises(InputError, match="'loss' parameter of dense_gradients must be a callable"):
        dense_gradients(rnn, 3.0)


# ---------------------------------------------------------------------------------------
# Construction: the budget


def test_initialize_gives_every_targeted_matrix_exactly_its_budget():
    model = make_model()
    sizes = {r.name: r.mask.numel() for r in targeted(model)}
    DynamicSparsity(model, sparsity=0.8, seed=0)
    assert counts(model) == {n: s - round(0.8 * s) for n, s in sizes.items()}  # 128 -> 26, 256 -> 51
    assert counts(model)["layers.0.weight_ih_l0"] == 26
    assert bool(model.readout.mask.all())  # not targeted: untouched


def test_initialize_is_seeded_and_takes_no_global_randomness():
    a, b, c = make_model(), make_model(), make_model()
    state, np_state = torch.random.get_rng_state(), np.random.get_state()
    DynamicSparsity(a, sparsity=0.5, seed=3)
    DynamicSparsity(b, sparsity=0.5, seed=3)
    DynamicSparsity(c, sparsity=0.5, seed=4)
    assert torch.equal(torch.random.get_rng_state(), state)
    assert np.random.get_state()[1].tolist() == np_state[1].tolist()
    assert all(torch.equal(x.mask, y.mask) for x, y in zip(targeted(a), targeted(b)))
    assert not all(torch.equal(x.mask, z.mask) for x, z in zip(targeted(a), targeted(c)))


def test_initialize_false_takes_masks_at_budget_and_refuses_others():
    model = MaskedLSTM(4, 5)  # 80 + 100
    magnitude(model, 0.5)
    before = masks_of(model)
    DynamicSparsity(model, sparsity=0.5, seed=0, initialize=False)
    assert all(torch.equal(m, before[k]) for k, m in masks_of(model).items())
    with pytest.raises(InputError, match=r"'weight_ih_l0' has 40 unmasked entries; expected its budget of 32") as err:
        DynamicSparsity(model, sparsity=0.6, seed=0, initialize=False)
    assert "\n" not in str(err.value)


def test_sparsity_none_keeps_each_matrix_count_for_a_graph_rnn():
    dag = nx.DiGraph([(0, 2), (1, 3), (2, 4), (3, 4)])  # layers {0, 1}, {2, 3}, {4}
    model = GraphRNN(dag, "gru", vocab_size=5, embedding_dim=3, recurrence="self")
    before = counts(model)
    dst = DynamicSparsity(model, sparsity=None, frequency=1, drop_fraction=0.5, seed=0, initialize=False)
    moved = dst.step()
    assert moved["grown"] > 0
    assert counts(model) == before


# ---------------------------------------------------------------------------------------
# The acceptance test: the budget after every update, growth only where masks were zero


@pytest.mark.parametrize("regrowth", ["random", "gradient"])
def test_training_keeps_the_budget_and_grows_only_where_masks_were_zero(regrowth):
    model, optimizer, data, state, dst = setup(regrowth, end=25)
    budget = counts(model)
    size = {r.name: r.mask.numel() for r in targeted(model)}
    updates = []
    for t in range(1, STEPS + 1):
        before_masks = masks_of(model)
        result = train_step(model, optimizer, data, state, dst, t)
        assert counts(model) == budget, t
        if t % 5 or t >= 25:
            assert result is None
            assert all(torch.equal(m, before_masks[k]) for k, m in masks_of(model).items())
            continue
        updates.append(t)
        fraction = 0.3 / 2 * (1 + math.cos(math.pi * t / 25))
        expected_k = {n: min(round(fraction * budget[n]), size[n] - budget[n]) for n in budget}
        for r in targeted(model):
            old, new = before_masks[r.name], r.mask
            grown, dropped = new & ~old, old & ~new
            assert int(grown.sum()) == int(dropped.sum()) == expected_k[r.name], (t, r.name)
            assert bool((r.weight[grown] == 0).all())  # grown weights start at 0
            for key in ("exp_avg", "exp_avg_sq"):
                assert bool((optimizer.state[r.weight][key][grown | dropped] == 0).all()), key
        assert result == {"dropped": sum(expected_k.values()), "grown": sum(expected_k.values())}
    assert updates == [5, 10, 15, 20]
    assert bool(model.readout.mask.all())


def test_an_update_changes_nothing_but_the_moved_entries():
    model, optimizer, data, state, dst = setup("random", frequency=2, end=None)
    train_step(model, optimizer, data, state, dst, 1)
    records = targeted(model)
    weights = {r.name: r.weight.detach().clone() for r in records}
    masks = masks_of(model)
    adam = {r.name: {k: v.clone() for k, v in optimizer.state[r.weight].items()} for r in records}
    state["i"] = 2
    assert dst.step() is not None  # an update without an optimizer step in between
    for r in records:
        moved = r.mask ^ masks[r.name]
        grown = r.mask & ~masks[r.name]
        assert torch.equal(r.weight[~grown], weights[r.name][~grown])  # dropped weights keep their raw values
        for key in ("exp_avg", "exp_avg_sq"):
            now, then = optimizer.state[r.weight][key], adam[r.name][key]
            assert torch.equal(now[~moved], then[~moved])
            assert bool((then[moved] != 0).any()) and bool((now[moved] == 0).all())
        assert torch.equal(optimizer.state[r.weight]["step"], adam[r.name]["step"])


# ---------------------------------------------------------------------------------------
# Drop and grow by hand


def hand_linear():
    lin = MaskedLinear(4, 2, bias=False)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[0.5, -0.1, 0.3, 0.1], [2.0, 0.1, -0.7, 0.05]]))
    lin.mask.copy_(torch.tensor([[True, True, True, True], [True, True, False, False]]))
    return lin


def test_drop_removes_the_k_smallest_alive_magnitudes_ties_by_position():
    lin = hand_linear()  # alive |w|: 0.5, 0.1, 0.3, 0.1, 2.0, 0.1; masked: -0.7, 0.05
    dst = DynamicSparsity(lin, sparsity=0.25, drop_fraction=0.34, frequency=1, targets="ho", seed=0,
                          initialize=False)
    assert dst.step() == {"dropped": 2, "grown": 2}  # k = min(round(0.34 * 6), 2) = 2
    # the three tied 0.1 go by position: (0, 1) and (0, 3); the two masked ones are grown
    assert lin.mask.tolist() == [[True, False, True, False], [True, True, True, True]]
    assert torch.equal(lin.weight.detach(), torch.tensor([[0.5, -0.1, 0.3, 0.1], [2.0, 0.1, 0.0, 0.0]]))


def test_k_is_capped_by_the_number_of_masked_entries():
    lin = hand_linear()
    dst = DynamicSparsity(lin, sparsity=0.25, drop_fraction=1.0, frequency=1, targets="ho", seed=0,
                          initialize=False)
    assert dst.step() == {"dropped": 2, "grown": 2}  # not round(1.0 * 6): only 2 were masked
    assert int(lin.mask.sum()) == 6


def test_random_growth_picks_only_previously_masked_entries():
    lin = MaskedLinear(10, 1, bias=False)
    with torch.no_grad():
        lin.weight.copy_(torch.arange(1.0, 11.0).reshape(1, 10))
    lin.mask.copy_(torch.tensor([[True] * 5 + [False] * 5]))
    dst = DynamicSparsity(lin, sparsity=0.5, drop_fraction=0.4, frequency=1, targets="ho", seed=5,
                          initialize=False)
    dst.step()  # k = round(0.4 * 5) = 2: weights 1 and 2 go
    mask = lin.mask[0].tolist()
    assert mask[:5] == [False, False, True, True, True]
    assert sum(mask[5:]) == 2
    grown = [i for i in range(5, 10) if mask[i]]
    assert lin.weight[0, grown].tolist() == [0.0, 0.0]
    assert lin.weight[0, :5].tolist() == [1.0, 2.0, 3.0, 4.0, 5.0]


def test_rigl_grows_where_a_plain_torch_twin_has_the_largest_gradient():
    torch.manual_seed(0)
    rnn = MaskedRNN(3, 6)
    x = torch.randn(5, 2, 3)
    dst = DynamicSparsity(rnn, sparsity=0.7, regrowth="gradient", drop_fraction=0.3, frequency=1, seed=1,
                          loss=lambda: rnn(x)[0].square().sum())
    grads = twin_gradients(rnn, x)  # computed independently, on the masks the update starts from
    expected = {}
    for name, grad in grads.items():
        mask = getattr(rnn, name.replace("weight", "mask")).clone()
        weight = getattr(rnn, name).detach()
        alive, dead = mask.sum().item(), (~mask).sum().item()
        k = min(round(0.3 * alive), dead)
        drop_scores = torch.where(mask, weight.abs(), torch.inf).reshape(-1)
        grow_scores = torch.where(~mask, grad.abs(), -1.0).reshape(-1)
        new = mask.reshape(-1).clone()
        new[torch.topk(drop_scores, k, largest=False).indices] = False
        new[torch.topk(grow_scores, k).indices] = True
        expected[name] = new.reshape(mask.shape)
    dst.step()
    assert torch.equal(rnn.mask_ih_l0, expected["weight_ih_l0"])
    assert torch.equal(rnn.mask_hh_l0, expected["weight_hh_l0"])


# ---------------------------------------------------------------------------------------
# Every masked module


@pytest.mark.parametrize("regrowth", ["random", "gradient"])
@pytest.mark.parametrize(
    "build, targets",
    [(lambda: MaskedRNN(3, 5, num_layers=2), ("ih", "hh")),
     (lambda: MaskedGRU(3, 5, bidirectional=True), ("ih", "hh")),
     (lambda: MaskedLSTM(3, 5, proj_size=2), ("ih", "hh", "hr")),
     (lambda: SequenceClassifier("gru", input_features=3, hidden_sizes=(5, 4), embedding_dim=4),
      ("ih", "hh", "ho"))],
)
def test_every_masked_module_keeps_its_budget(build, targets, regrowth):
    torch.manual_seed(0)
    model = build()
    x, lengths = torch.randn(2, 6, 3), torch.tensor([6, 4])
    if isinstance(model, SequenceClassifier):
        forward = lambda: model(x, lengths).square().sum()  # noqa: E731
    else:
        forward = lambda: model(x)[0].square().sum()  # noqa: E731
    dst = DynamicSparsity(model, sparsity=0.6, regrowth=regrowth, frequency=1, targets=targets, seed=0,
                          loss=forward if regrowth == "gradient" else None)
    budget = counts(model, targets)
    for _ in range(3):
        before = masks_of(model)
        result = dst.step()
        assert result["grown"] > 0
        assert counts(model, targets) == budget
        assert sum(int((r.mask & ~before[r.name]).sum()) for r in targeted(model, targets)) == result["grown"]


# ---------------------------------------------------------------------------------------
# Resumption and determinism


@pytest.mark.parametrize("regrowth", ["random", "gradient"])
def test_state_dict_round_trip_resumes_identically(regrowth):
    straight = setup(regrowth, end=25)
    for t in range(1, 21):
        train_step(*straight, t)

    first = setup(regrowth, end=25)
    for t in range(1, 11):
        train_step(*first, t)
    model, optimizer, _, _, dst = first
    saved = dict(model=copy.deepcopy(model.state_dict()), optimizer=copy.deepcopy(optimizer.state_dict()),
                 dst=json.loads(json.dumps(dst.state_dict())))  # JSON-able
    assert saved["dst"]["step"] == 10

    fresh = make_model(seed=99)
    fresh.load_state_dict(saved["model"])
    resumed = setup(regrowth, end=25, initialize=False, model=fresh)
    resumed[1].load_state_dict(saved["optimizer"])
    resumed[4].load_state_dict(saved["dst"])
    for t in range(11, 21):
        train_step(*resumed, t)
    assert resumed[4].state_dict() == straight[4].state_dict()
    for key, value in straight[0].state_dict().items():
        assert torch.equal(fresh.state_dict()[key], value), key


def test_same_seed_same_masks_and_random_growth_leaves_global_rngs_alone():
    a, b, c = make_model(), make_model(), make_model()
    da = DynamicSparsity(a, sparsity=0.7, frequency=1, seed=8)
    db = DynamicSparsity(b, sparsity=0.7, frequency=1, seed=8)
    dc = DynamicSparsity(c, sparsity=0.7, frequency=1, seed=9)
    state, np_state = torch.random.get_rng_state(), np.random.get_state()
    for _ in range(4):
        da.step(), db.step(), dc.step()
    assert torch.equal(torch.random.get_rng_state(), state)
    assert np.random.get_state()[1].tolist() == np_state[1].tolist()
    assert all(torch.equal(x.mask, y.mask) for x, y in zip(targeted(a), targeted(b)))
    assert not any(torch.equal(x.mask, z.mask) for x, z in zip(targeted(a), targeted(c)))


def test_load_state_dict_refuses_a_different_config():
    model = MaskedLSTM(2, 3)
    dst = DynamicSparsity(model, sparsity=0.5, seed=0)
    other = DynamicSparsity(model, sparsity=0.5, seed=0, drop_fraction=0.2, initialize=False)
    with pytest.raises(InputError, match=r"differs from this updater's in \['drop_fraction'\]"):
        other.load_state_dict(dst.state_dict())
    with pytest.raises(InputError, match="expects a dict with keys 'step' and 'config'"):
        other.load_state_dict({"step": 3})
    with pytest.raises(InputError, match="'step'"):
        dst.load_state_dict({**dst.state_dict(), "step": -1})


# ---------------------------------------------------------------------------------------
# All or nothing


def test_failure_while_applying_leaves_masks_weights_and_optimizer_state_unchanged(monkeypatch):
    model, optimizer, data, state, dst = setup("random", frequency=2, end=None)
    train_step(model, optimizer, data, state, dst, 1)
    before = copy.deepcopy(model.state_dict())
    adam = copy.deepcopy(optimizer.state_dict())
    real, calls = dynamic._zero_state, []

    def failing(*args):
        calls.append(1)
        if len(calls) == 2:  # after masks, a first weight and its state were written
            raise RuntimeError("injected failure")
        return real(*args)

    monkeypatch.setattr(dynamic, "_zero_state", failing)
    with pytest.raises(RuntimeError, match="injected"):
        dst.step()
    assert dst.state_dict()["step"] == 1  # the counter did not advance
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())
    for p, s in adam["state"].items():
        for key, v in s.items():
            assert torch.equal(optimizer.state_dict()["state"][p][key], v)
    budget = counts(model)
    monkeypatch.undo()
    assert dst.step() is not None  # and the updater is still usable
    assert counts(model) == budget


def test_masks_changed_elsewhere_are_refused_at_the_next_update():
    model = MaskedLSTM(4, 5)
    dst = DynamicSparsity(model, sparsity=0.5, frequency=1, seed=0)
    magnitude(model, 0.1)
    before = masks_of(model)
    with pytest.raises(InputError, match="'weight_ih_l0' has 36 unmasked entries; expected its budget of 40"):
        dst.step()
    assert all(torch.equal(m, before[k]) for k, m in masks_of(model).items())
    assert dst.state_dict()["step"] == 0


def test_nan_weights_are_refused_without_change():
    model = MaskedLSTM(4, 5)
    dst = DynamicSparsity(model, sparsity=0.5, frequency=1, seed=0)
    with torch.no_grad():
        model.weight_hh_l0[model.mask_hh_l0.nonzero()[0].tolist()] = float("nan")
    before = masks_of(model)
    with pytest.raises(InputError, match="'weight_hh_l0' holds NaN"):
        dst.step()
    assert all(torch.equal(m, before[k]) for k, m in masks_of(model).items())


# ---------------------------------------------------------------------------------------
# Bad input


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(sparsity=1.5), "'sparsity'.*in \\[0, 1\\]"),
        (dict(sparsity=None), "'sparsity'.*None only with initialize=False"),
        (dict(regrowth="momentum"), "'regrowth'.*'random', 'gradient'"),
        (dict(drop_fraction=-0.1), "'drop_fraction'"),
        (dict(frequency=0), "'frequency'.*>= 1"),
        (dict(end=0), "'end'.*>= 1"),
        (dict(end=2.5), "'end'"),
        (dict(targets="ho"), "no 'ho' weights"),
        (dict(targets="xy"), "'targets'"),
        (dict(seed=None), "'seed'.*an int"),
        (dict(seed=np.random.default_rng(0)), "'seed'.*an int"),
        (dict(optimizer="adam"), "'optimizer'"),
        (dict(regrowth="gradient"), "'loss'.*callable"),
        (dict(loss=lambda: None), "'loss'.*only with regrowth='gradient'"),
        (dict(initialize="yes"), "'initialize'.*bool"),
    ],
)
def test_bad_input(kwargs, match):
    model = MaskedLSTM(2, 3)
    before = masks_of(model)
    with pytest.raises(InputError, match=match) as err:
        DynamicSparsity(model, **(dict(sparsity=0.5, seed=0) | kwargs))
    assert "\n" not in str(err.value)
    assert all(torch.equal(m, before[k]) for k, m in masks_of(model).items())


def test_bad_model_and_a_bad_loss_at_the_update():
    with pytest.raises(InputError, match="'model'"):
        DynamicSparsity("lstm", sparsity=0.5, seed=0)
    model = MaskedLSTM(2, 3)
    dst = DynamicSparsity(model, sparsity=0.5, regrowth="gradient", frequency=1, seed=0, loss=lambda: "loss")
    before = masks_of(model)
    with pytest.raises(InputError, match="'loss' callable of DynamicSparsity.step must return a scalar tensor"):
        dst.step()
    assert all(torch.equal(m, before[k]) for k, m in masks_of(model).items())
    frozen = MaskedLSTM(2, 3).requires_grad_(False)
    with pytest.raises(InputError, match="does not require grad"):
        DynamicSparsity(frozen, sparsity=0.5, regrowth="gradient", seed=0, loss=lambda: None)
