"""Pruning criteria against hand counts and against torch.nn.utils.prune."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn.utils import prune as torch_prune

from sparsernn.errors import InputError
from sparsernn.nn import MaskedGRU, MaskedLinear, MaskedLSTM, MaskedRNN, SequenceClassifier, masked_weights
from sparsernn.prune import _core, criteria, magnitude, prune_to_sparsity, random, sparsity, threshold


def masks_of(model) -> dict[str, torch.Tensor]:
    return {r.name: r.mask.clone() for r in masked_weights(model)}


def removed(model) -> dict[str, int]:
    return {r.name: int((~r.mask).sum()) for r in masked_weights(model)}


def seeded_lstm(seed=0, **kwargs):
    torch.manual_seed(seed)
    return MaskedLSTM(3, 5, **kwargs)


def linear_with(values) -> MaskedLinear:
    weight = torch.tensor(values, dtype=torch.float32)
    lin = MaskedLinear(weight.shape[1], weight.shape[0], bias=False)
    with torch.no_grad():
        lin.weight.copy_(weight)
    return lin


def classifier(cell="lstm", readout_mask=True, seed=0):
    torch.manual_seed(seed)
    return SequenceClassifier(
        cell, vocab_size=7, hidden_sizes=(5, 4), num_classes=3, embedding_dim=3, readout_mask=readout_mask
    )


# ---------------------------------------------------------------------------------------
# Counts


def test_layer_scope_removes_round_amount_of_each_matrix_remaining():
    lstm = seeded_lstm(num_layers=2)  # ih_l0 20x3, hh_l0 20x5, ih_l1 20x5, hh_l1 20x5
    magnitude(lstm, 0.3)
    assert removed(lstm) == {"weight_ih_l0": 18, "weight_hh_l0": 30, "weight_ih_l1": 30, "weight_hh_l1": 30}
    magnitude(lstm, 0.5)  # of 42, 70, 70, 70 remaining
    assert removed(lstm) == {"weight_ih_l0": 18 + 21, "weight_hh_l0": 65, "weight_ih_l1": 65, "weight_hh_l1": 65}


@pytest.mark.parametrize("criterion", ["magnitude", "random"])
@pytest.mark.parametrize("n, amount, expected", [(5, 0.5, 2), (7, 0.5, 4), (10, 0.25, 2), (6, 0.25, 2), (3, 0.5, 2)])
def test_count_uses_python_round_half_to_even_like_torch(criterion, n, amount, expected):
    lin = linear_with([list(np.linspace(0.1, 1.0, n))])
    fn = magnitude if criterion == "magnitude" else lambda m, a, **kw: random(m, a, seed=0, **kw)
    fn(lin, amount, targets="ho")
    assert int((~lin.mask).sum()) == expected
    plain = nn.Linear(n, 1)
    torch_prune.l1_unstructured(plain, "weight", amount=amount)
    assert int((plain.weight_mask == 0).sum()) == expected


def test_global_scope_removes_round_amount_of_pool():
    lstm = seeded_lstm(num_layers=2)  # 360 weights in the pool
    magnitude(lstm, 0.3, scope="global")
    assert sum(removed(lstm).values()) == 108
    magnitude(lstm, 0.5, scope="global")  # 252 remain -> 126 more
    assert sum(removed(lstm).values()) == 234


def test_global_scope_is_one_ranking_over_pooled_remaining_weights():
    lstm = seeded_lstm(num_layers=2)
    magnitude(lstm, 0.2)  # uneven starting masks, so the pool is not dense
    records = masked_weights(lstm)
    before = masks_of(lstm)
    magnitude(lstm, 0.4, scope="global")

    weights = torch.cat([r.weight.detach().abs().reshape(-1) for r in records])
    alive = torch.cat([before[r.name].reshape(-1) for r in records])
    k = round(0.4 * int(alive.sum()))
    cut = torch.sort(weights[alive]).values[k - 1]  # k-th smallest surviving |w|
    expected = alive & (weights > cut)
    got = torch.cat([r.mask.reshape(-1) for r in records])
    assert torch.equal(got, expected)
    # the per-matrix fractions differ: global scope is not layer scope in disguise
    assert len(set(sparsity(lstm).values())) > 2


# ---------------------------------------------------------------------------------------
# Against torch.nn.utils.prune


def plain_copies(model):
    """{id(masked module): plain torch copy with the same (effective) weights}."""
    return {id(r.module): r.module.to_torch() for r in masked_weights(model)}


MODELS = {
    "rnn": lambda: MaskedRNN(3, 4, num_layers=2),
    "gru_bidirectional": lambda: MaskedGRU(3, 4, bidirectional=True),
    "lstm_proj": lambda: MaskedLSTM(3, 5, num_layers=2, proj_size=2),
    "classifier": lambda: classifier("gru"),
}
TARGETS = {
    "rnn": "both",
    "gru_bidirectional": "both",
    "lstm_proj": ("ih", "hh", "hr"),
    "classifier": ("ih", "hh", "ho"),
}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_magnitude_layer_scope_matches_torch_l1_unstructured(name):
    torch.manual_seed(1)
    model = MODELS[name]()
    plains = plain_copies(model)
    records = [r for r in masked_weights(model) if r.target in _core.check_targets(TARGETS[name], "test")]
    for amount in (0.3, 0.45):  # the second call goes through torch's PruningContainer
        magnitude(model, amount, targets=TARGETS[name])
        for r in records:
            torch_prune.l1_unstructured(plains[id(r.module)], r.weight_name, amount=amount)
        for r in records:
            expected = getattr(plains[id(r.module)], r.weight_name + "_mask").bool()
            assert torch.equal(r.mask, expected), (amount, r.name)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_magnitude_global_scope_matches_torch_global_unstructured(name):
    torch.manual_seed(2)
    model = MODELS[name]()
    plains = plain_copies(model)
    records = [r for r in masked_weights(model) if r.target in _core.check_targets(TARGETS[name], "test")]
    params = [(plains[id(r.module)], r.weight_name) for r in records]
    for amount in (0.3, 0.45):
        magnitude(model, amount, targets=TARGETS[name], scope="global")
        torch_prune.global_unstructured(params, pruning_method=torch_prune.L1Unstructured, amount=amount)
        for r in records:
            expected = getattr(plains[id(r.module)], r.weight_name + "_mask").bool()
            assert torch.equal(r.mask, expected), (amount, r.name)


# ---------------------------------------------------------------------------------------
# Hand-made tensors


def test_tiny_matrix_exact_mask_with_ties_pruned_by_count():
    # |w| flat: 0.1 0.5 0.1 2.0 | 0.1 0.3 0.0 1.0 -> order 0.0(6), 0.1(0), 0.1(2), 0.1(4), 0.3(5), ...
    lin = linear_with([[0.1, -0.5, 0.1, 2.0], [-0.1, 0.3, 0.0, 1.0]])
    magnitude(lin, 0.375, targets="ho")  # 3 of 8: the zero and the first two tied 0.1
    assert lin.mask.tolist() == [[False, True, False, True], [True, True, False, True]]
    magnitude(lin, 0.4, targets="ho")  # round(0.4 * 5) = 2 of the survivors: 0.1(4), 0.3(5)
    assert lin.mask.tolist() == [[False, True, False, True], [False, False, False, True]]


def test_tiny_global_pool_ties_broken_by_module_order():
    model = nn.Sequential(linear_with([[1.0, 0.5]]), linear_with([[0.5, 3.0]]))
    magnitude(model, 0.25, targets="ho", scope="global")  # one weight: the first 0.5
    assert model[0].mask.tolist() == [[True, False]] and model[1].mask.tolist() == [[True, True]]
    magnitude(model, 0.5, targets="ho", scope="global")  # round(1.5) = 2 of 1.0, 0.5, 3.0: 0.5 and 1.0
    assert model[0].mask.tolist() == [[False, False]] and model[1].mask.tolist() == [[False, True]]


def test_layer_scope_prunes_each_matrix_by_its_own_fraction():
    model = nn.Sequential(linear_with([[1.0, 2.0, 3.0, 4.0]]), linear_with([[10.0, 20.0]]))
    magnitude(model, 0.5, targets="ho")
    assert model[0].mask.tolist() == [[False, False, True, True]]
    assert model[1].mask.tolist() == [[False, True]]


def test_magnitude_ranks_raw_values_not_effective_ones():
    lin = linear_with([[0.1, 0.2, 0.3, 0.4]])
    lin.mask[0, 3] = False  # already masked: never selected again, never unmasked
    magnitude(lin, 0.5, targets="ho")  # round(0.5 * 3) = 2 of 0.1, 0.2, 0.3
    assert lin.mask.tolist() == [[False, False, True, False]]


# ---------------------------------------------------------------------------------------
# amount = 1.0 and what the model does afterwards


def test_amount_one_removes_every_targeted_weight_only():
    model = classifier()
    magnitude(model, 1.0)
    report = sparsity(model)
    assert report["readout.weight"] == 0.0
    assert all(v == 1.0 for k, v in report.items() if k.startswith("layers."))
    magnitude(model, 1.0)  # nothing left to remove: a no-op, not an error
    assert sparsity(model)["overall"] == report["overall"]


def batch(seed, lengths):
    g = torch.Generator().manual_seed(seed)
    lengths = torch.tensor(lengths)
    tokens = torch.randint(1, 7, (len(lengths), int(lengths.max())), generator=g)
    tokens[torch.arange(tokens.shape[1]) >= lengths[:, None]] = 0
    return tokens, lengths


@pytest.mark.parametrize("cell", ["rnn_tanh", "lstm", "gru"])
def test_fully_pruned_classifier_gives_one_finite_prediction(cell):
    model = classifier(cell).eval()
    magnitude(model, 1.0, targets=("ih", "hh", "ho"))
    tokens, lengths = batch(0, [1, 4, 6, 2, 6])
    out = model(tokens, lengths)
    assert torch.isfinite(out).all()
    assert torch.equal(out, model.readout.bias.detach().expand_as(out))  # constant: the bias alone


@pytest.mark.parametrize("cell", ["rnn_tanh", "lstm", "gru"])
def test_recurrent_weights_fully_pruned_give_a_constant_prediction(cell):
    model = classifier(cell).eval()
    magnitude(model, 1.0, targets="both")
    # same length, different symbols: the state no longer depends on the input
    tokens, lengths = batch(1, [5, 5, 5, 5])
    out = model(tokens, lengths)
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out, out[:1].expand_as(out), rtol=0, atol=0)
    tokens2, _ = batch(2, [5, 5, 5, 5])
    assert not torch.equal(tokens, tokens2)
    assert torch.equal(model(tokens2, lengths), out)
    if cell == "rnn_tanh":  # h_t = tanh(b_ih + b_hh) from t = 1 on: not even the length matters
        tokens3, lengths3 = batch(3, [1, 3, 5])
        torch.testing.assert_close(model(tokens3, lengths3), out[:3], rtol=0, atol=1e-6)


# ---------------------------------------------------------------------------------------
# Masks only shrink


def test_masks_never_grow_under_random_call_sequences():
    rng = np.random.default_rng(0)
    for trial in range(4):
        model = classifier(["rnn_relu", "lstm", "gru", "rnn_tanh"][trial], seed=trial)
        previous = masks_of(model)
        for _ in range(12):
            targets = tuple(rng.choice(["ih", "hh", "ho"], size=rng.integers(1, 4), replace=False))
            scope = str(rng.choice(["layer", "global"]))
            kind = rng.integers(4)
            if kind == 0:
                magnitude(model, float(rng.random()), targets=targets, scope=scope)
            elif kind == 1:
                random(model, float(rng.random()), targets=targets, scope=scope, seed=int(rng.integers(100)))
            elif kind == 2:
                threshold(model, float(rng.random()) * 0.3, targets=targets)
            else:
                prune_to_sparsity(model, float(rng.random()), targets=targets, scope=scope)
            current = masks_of(model)
            for name, mask in current.items():
                assert not (mask & ~previous[name]).any(), name  # nothing False went back to True
            previous = current


def test_pruning_never_changes_weight_values():
    model = classifier()
    before = {k: v.clone() for k, v in model.state_dict().items() if "mask" not in k}
    magnitude(model, 0.5, targets=("ih", "hh", "ho"))
    random(model, 0.5, seed=0, scope="global")
    threshold(model, 0.1)
    after = model.state_dict()
    assert all(torch.equal(after[k], v) for k, v in before.items())


# ---------------------------------------------------------------------------------------
# random


def test_random_is_seeded_and_exact_by_count():
    a, b, c = (seeded_lstm(num_layers=2) for _ in range(3))
    random(a, 0.4, seed=7)
    random(b, 0.4, seed=7)
    random(c, 0.4, seed=8)
    assert all(torch.equal(a_, b_) for a_, b_ in zip(masks_of(a).values(), masks_of(b).values()))
    assert any(not torch.equal(a_, c_) for a_, c_ in zip(masks_of(a).values(), masks_of(c).values()))
    assert removed(a) == {"weight_ih_l0": 24, "weight_hh_l0": 40, "weight_ih_l1": 40, "weight_hh_l1": 40}
    random(a, 0.5, seed=7, scope="global")
    assert sum(removed(a).values()) == 144 + 108


def test_random_accepts_numpy_and_torch_generators_and_ignores_magnitude():
    a, b, c = (seeded_lstm() for _ in range(3))
    random(a, 0.5, seed=np.random.default_rng(3))
    random(b, 0.5, seed=np.random.default_rng(3))
    random(c, 0.5, seed=torch.Generator().manual_seed(3))
    assert torch.equal(a.mask_hh_l0, b.mask_hh_l0)
    assert int((~c.mask_hh_l0).sum()) == 50
    # not magnitude in disguise: some large weights go, some small ones stay
    weights, mask = a.weight_hh_l0.detach().abs(), a.mask_hh_l0
    assert weights[~mask].max() > weights[mask].min()


def test_random_touches_no_global_rng():
    model = seeded_lstm()
    torch_state, np_state = torch.random.get_rng_state(), np.random.get_state()
    random(model, 0.5, seed=1)
    random(model, 0.5, seed=np.random.default_rng(1), scope="global")
    prune_to_sparsity(model, 0.9, criterion="random", seed=2)
    assert torch.equal(torch.random.get_rng_state(), torch_state)
    assert all(np.array_equal(x, y) for x, y in zip(np.random.get_state(), np_state))


def test_random_generator_is_advanced_so_calls_differ():
    g = np.random.default_rng(0)
    a, b = seeded_lstm(), seeded_lstm()
    random(a, 0.5, seed=g)
    random(b, 0.5, seed=g)
    assert not torch.equal(a.mask_hh_l0, b.mask_hh_l0)


# ---------------------------------------------------------------------------------------
# threshold


def test_threshold_removes_exactly_weights_below_value():
    model = seeded_lstm(num_layers=2)
    magnitude(model, 0.1)
    before = masks_of(model)
    threshold(model, 0.2)
    for r in masked_weights(model):
        assert torch.equal(r.mask, before[r.name] & (r.weight.detach().abs() >= 0.2)), r.name


def test_threshold_is_strict_and_uses_the_documented_001():
    lin = linear_with([[0.01, -0.0099, 0.5, 0.0]])
    threshold(lin, 0.01, targets="ho")
    assert lin.mask.tolist() == [[True, False, True, False]]


def test_threshold_removing_nothing_or_everything_is_allowed():
    model = seeded_lstm()
    before = masks_of(model)
    assert threshold(model, 0.0) is model  # |w| < 0 never holds
    assert all(torch.equal(m, before[k]) for k, m in masks_of(model).items())
    assert sparsity(model)["overall"] == 0.0
    threshold(model, 1e6)
    assert sparsity(model)["overall"] == 1.0


# ---------------------------------------------------------------------------------------
# prune_to_sparsity


def test_prune_to_sparsity_hits_exact_counts_and_never_grows():
    model = seeded_lstm(num_layers=2)
    prune_to_sparsity(model, 0.333)
    assert removed(model) == {"weight_ih_l0": 20, "weight_hh_l0": 33, "weight_ih_l1": 33, "weight_hh_l1": 33}
    magnitude(model, 0.5, targets="ih")
    before = masks_of(model)
    prune_to_sparsity(model, 0.4)  # ih already sparser: untouched
    assert torch.equal(model.mask_ih_l0, before["weight_ih_l0"])
    assert removed(model)["weight_hh_l0"] == 40
    prune_to_sparsity(model, 0.75, scope="global")
    assert sum(removed(model).values()) == 270


# ---------------------------------------------------------------------------------------
# Targets


def test_targets_aliases_strings_and_sequences():
    for spec in ("both", ("ih", "hh"), ["hh", "ih", "both"]):
        model = classifier()
        magnitude(model, 0.5, targets=spec)
        report = sparsity(model)
        assert report["readout.weight"] == 0.0 and report["layers.0.weight_hh_l0"] == 0.5
    model = classifier()
    magnitude(model, 0.5, targets="ho")
    assert sparsity(model, targets="both")["overall"] == 0.0 and sparsity(model)["readout.weight"] == 0.5


# ---------------------------------------------------------------------------------------
# Bad input


@pytest.mark.parametrize("amount", [-0.1, 1.0001, float("nan"), float("inf"), True, False, 1, 0, "0.5", None])
@pytest.mark.parametrize("fn", ["magnitude", "random"])
def test_bad_amount(fn, amount):
    model = seeded_lstm()
    kwargs = {"seed": 0} if fn == "random" else {}
    with pytest.raises(InputError, match=r"'amount' parameter of \w+ must be a float in \[0, 1\]"):
        getattr(criteria, fn)(model, amount, **kwargs)
    assert sparsity(model)["overall"] == 0.0


def test_numpy_float_amount_is_accepted():
    model = seeded_lstm()
    magnitude(model, np.float32(0.5))
    assert sparsity(model)["overall"] == 0.5


@pytest.mark.parametrize("targets", ["xx", ("ih", "bogus"), (), [], 3, ("ih", 1), b"ih"])
def test_unknown_targets(targets):
    with pytest.raises(InputError, match="'targets' parameter of magnitude"):
        magnitude(seeded_lstm(), 0.5, targets=targets)


def test_unknown_target_message_lists_allowed():
    with pytest.raises(InputError, match="'ih', 'hh', 'hr', 'ho', 'both'; got 'xx'"):
        threshold(seeded_lstm(), 0.1, targets="xx")


def test_missing_target_is_named():
    model = classifier(readout_mask=False)
    with pytest.raises(InputError, match=r"model has no 'ho' weights to prune; it has 'ih', 'hh'\.$"):
        magnitude(model, 0.5, targets=("ih", "ho"))
    with pytest.raises(InputError, match="no 'hr' weights"):
        random(seeded_lstm(), 0.5, targets="hr", seed=0)
    assert sparsity(model)["overall"] == 0.0


def test_model_without_masks_or_not_a_module():
    with pytest.raises(InputError, match="no masked weights"):
        magnitude(nn.LSTM(2, 3), 0.5)
    with pytest.raises(InputError, match="'model' parameter of magnitude must be a torch.nn.Module"):
        magnitude({"weight": torch.ones(2)}, 0.5)


@pytest.mark.parametrize("scope", ["model", "Layer", None, 1])
def test_unknown_scope(scope):
    with pytest.raises(InputError, match="'scope' parameter of magnitude must be one of 'layer', 'global'"):
        magnitude(seeded_lstm(), 0.5, scope=scope)


@pytest.mark.parametrize("seed", [None, 1.5, True, "0"])
def test_bad_seed(seed):
    model = seeded_lstm()
    with pytest.raises(InputError, match="'seed' parameter of random"):
        random(model, 0.5, seed=seed)
    assert sparsity(model)["overall"] == 0.0


def test_random_requires_a_seed():
    with pytest.raises(TypeError):
        random(seeded_lstm(), 0.5)  # keyword-only and required: never ambient


@pytest.mark.parametrize("value", [-0.01, float("nan"), float("inf"), True, "0.01", None])
def test_bad_threshold(value):
    with pytest.raises(InputError, match="'value' parameter of threshold must be a finite float >= 0"):
        threshold(seeded_lstm(), value)


def test_bad_prune_to_sparsity_arguments():
    with pytest.raises(InputError, match="'sparsity' parameter"):
        prune_to_sparsity(seeded_lstm(), 1.5)
    with pytest.raises(InputError, match="'criterion' parameter"):
        prune_to_sparsity(seeded_lstm(), 0.5, criterion="threshold")
    with pytest.raises(InputError, match="'seed' parameter of prune_to_sparsity is required"):
        prune_to_sparsity(seeded_lstm(), 0.5, criterion="random")


def test_nan_weight_is_refused_without_changing_masks():
    model = seeded_lstm(num_layers=2)
    with torch.no_grad():
        model.weight_ih_l1[0, 0] = float("nan")
    with pytest.raises(InputError, match="'weight_ih_l1' holds 1 NaN"):
        magnitude(model, 0.5)
    assert sparsity(model)["overall"] == 0.0
    model.mask_ih_l1[0, 0] = False  # a masked NaN is never ranked
    magnitude(model, 0.5)
    assert removed(model)["weight_ih_l1"] == 1 + 50  # round(0.5 * 99) = round(49.5) = 50


# ---------------------------------------------------------------------------------------
# All or nothing


@pytest.mark.parametrize("granularity", ["weight", "connection"])
@pytest.mark.parametrize("scope", ["layer", "global"])
def test_failure_while_scoring_leaves_every_mask_unchanged(monkeypatch, scope, granularity):
    model = seeded_lstm(num_layers=2)
    magnitude(model, 0.2)
    before = masks_of(model)
    real, calls = criteria._magnitude_scores, []

    def failing(record):
        calls.append(record.name)
        if len(calls) == 2:
            raise RuntimeError("injected failure")
        return real(record)

    monkeypatch.setattr(criteria, "_magnitude_scores", failing)
    with pytest.raises(RuntimeError, match="injected"):
        magnitude(model, 0.5, scope=scope, granularity=granularity)
    assert len(calls) == 2  # the failure really came after a first matrix was scored
    assert all(torch.equal(m, before[k]) for k, m in masks_of(model).items())
    monkeypatch.undo()
    magnitude(model, 0.5, scope=scope)  # and the model is still usable
    assert sum(removed(model).values()) > sum(int((~m).sum()) for m in before.values())


def test_failure_while_writing_restores_masks_already_written():
    model = seeded_lstm(num_layers=2)
    records = masked_weights(model)
    before = masks_of(model)
    new = {r.name: torch.zeros_like(r.mask) for r in records}
    new[records[2].name] = torch.zeros(3, 3, dtype=torch.bool)  # cannot be broadcast: fails mid-way
    with pytest.raises(RuntimeError):
        _core.assign_masks(records, new)
    assert all(torch.equal(m, before[k]) for k, m in masks_of(model).items())
