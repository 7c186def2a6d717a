"""Schedules: cubic sparsity at start, middle and end; GradualPruner on a real model;
iterative sparsities."""

from __future__ import annotations

import copy
import json

import pytest
import torch

from sparsernn.errors import InputError
from sparsernn.nn import MaskedLSTM, SequenceClassifier, masked_weights
from sparsernn.prune import GradualPruner, cubic_sparsity, iterative_sparsities, magnitude, sparsity

KW = dict(initial=0.1, final=0.9, start=10, duration=20)


# ---------------------------------------------------------------------------------------
# cubic_sparsity


def test_cubic_before_and_at_start_is_initial():
    assert cubic_sparsity(0, **KW) == 0.1
    assert cubic_sparsity(9, **KW) == 0.1
    assert cubic_sparsity(10, **KW) == 0.1


def test_cubic_middle_values_by_hand():
    # s_f + (s_i - s_f)(1 - (t - t0)/(n dt))^3
    assert cubic_sparsity(20, **KW) == pytest.approx(0.9 - 0.8 * 0.5**3, abs=1e-12)  # 0.8
    assert cubic_sparsity(15, **KW) == pytest.approx(0.9 - 0.8 * 0.75**3, abs=1e-12)  # 0.5625
    assert cubic_sparsity(25, **KW) == pytest.approx(0.9 - 0.8 * 0.25**3, abs=1e-12)  # 0.8875


def test_cubic_at_and_after_end_is_final():
    assert cubic_sparsity(30, **KW) == 0.9
    assert cubic_sparsity(10_000, **KW) == 0.9


def test_cubic_is_non_decreasing_and_zero_duration_is_a_step():
    values = [cubic_sparsity(t, **KW) for t in range(40)]
    assert values == sorted(values)
    step = dict(initial=0.2, final=0.7, start=5, duration=0)
    assert [cubic_sparsity(t, **step) for t in (4, 5, 6)] == [0.2, 0.7, 0.7]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(step=-1), "'step'"),
        (dict(step=1.0), "'step'"),
        (dict(initial=0.9, final=0.1), "'final'.*>= initial"),
        (dict(final=1.5), "'final'"),
        (dict(initial=float("nan")), "'initial'"),
        (dict(start=-1), "'start'"),
        (dict(duration=True), "'duration'"),
    ],
)
def test_cubic_bad_input(kwargs, match):
    args = dict(step=3, **KW) | kwargs
    with pytest.raises(InputError, match=match):
        cubic_sparsity(args.pop("step"), **args)


# ---------------------------------------------------------------------------------------
# GradualPruner


def make_model(seed=0):
    torch.manual_seed(seed)
    return SequenceClassifier("lstm", vocab_size=8, hidden_sizes=(6, 5), embedding_dim=4)


def perturb(model, step):
    """Stands in for an optimizer step: weights move, so the ranking changes."""
    g = torch.Generator().manual_seed(1000 + step)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn(p.shape, generator=g))


def masked_counts(model, targets=("ih", "hh")):
    return {r.name: int((~r.mask).sum()) for r in masked_weights(model) if r.target in targets}


def sizes(model, targets=("ih", "hh")):
    return {r.name: r.mask.numel() for r in masked_weights(model) if r.target in targets}


def test_gradual_pruner_follows_the_schedule_and_ends_exactly_at_final():
    model = make_model()
    conf = dict(final=0.85, initial=0.05, start=3, duration=10, frequency=4)
    pruner = GradualPruner(model, **conf)
    size = sizes(model)
    pruned_at = []
    for t in range(1, 20):
        perturb(model, t)
        before = masked_counts(model)
        target = pruner.step()
        after = masked_counts(model)
        if target is None:
            assert after == before
            continue
        pruned_at.append(t)
        assert target == cubic_sparsity(t, **{k: v for k, v in conf.items() if k != "frequency"})
        assert after == {n: max(before[n], round(target * size[n])) for n in size}
    assert pruned_at[:4] == [3, 7, 11, 13]  # every 4 steps from t0, plus the end step t0 + n dt
    assert pruned_at[4:] == list(range(14, 20))  # after the end: a cheap check at every step
    assert masked_counts(model) == {n: round(0.85 * s) for n, s in size.items()}
    assert sparsity(model)["readout.weight"] == 0.0


def test_gradual_pruner_reaches_final_exactly_at_the_end_step_global_scope():
    model = make_model(1)
    pruner = GradualPruner(model, final=0.7, start=0, duration=9, frequency=2, scope="global")
    total = sum(sizes(model).values())
    for t in range(1, 10):
        target = pruner.step()
        assert (target is not None) == (t % 2 == 0 or t == 9)
        if target is not None:
            assert sum(masked_counts(model).values()) == round(target * total)
        if t == 7:
            assert sum(masked_counts(model).values()) < round(0.7 * total)
    assert sum(masked_counts(model).values()) == round(0.7 * total)
    assert len(set(sparsity(model).values())) > 2  # one pooled ranking, uneven per matrix


def test_gradual_pruner_random_criterion_is_seeded_by_step():
    a, b = make_model(), make_model()
    pa = GradualPruner(a, final=0.5, start=1, duration=4, frequency=1, criterion="random", seed=3)
    pb = GradualPruner(b, final=0.5, start=1, duration=4, frequency=1, criterion="random", seed=3)
    state = torch.random.get_rng_state()
    for _ in range(6):
        pa.step(), pb.step()
    assert torch.equal(torch.random.get_rng_state(), state)
    assert all(torch.equal(ma.mask, mb.mask) for ma, mb in zip(masked_weights(a), masked_weights(b)))
    assert sparsity(a, targets="both")["overall"] == pytest.approx(0.5, abs=0.01)


@pytest.mark.parametrize("criterion, seed", [("magnitude", None), ("random", 11)])
def test_gradual_pruner_state_dict_round_trip(criterion, seed):
    conf = dict(final=0.8, start=2, duration=8, frequency=3, criterion=criterion, seed=seed)
    straight = make_model()
    pruner = GradualPruner(straight, **conf)
    for t in range(1, 6):
        perturb(straight, t)
        pruner.step()
    saved_model = copy.deepcopy(straight.state_dict())
    saved = json.loads(json.dumps(pruner.state_dict()))  # JSON-able
    assert saved["step"] == 5
    for t in range(6, 13):
        perturb(straight, t)
        pruner.step()

    resumed = make_model(seed=99)
    resumed.load_state_dict(saved_model)
    pruner2 = GradualPruner(resumed, **conf)
    pruner2.load_state_dict(saved)
    for t in range(6, 13):
        perturb(resumed, t)
        pruner2.step()
    assert pruner2.state_dict() == pruner.state_dict()
    for x, y in zip(masked_weights(straight), masked_weights(resumed)):
        assert torch.equal(x.mask, y.mask), x.name


def test_gradual_pruner_refuses_a_different_config_on_load():
    pruner = GradualPruner(make_model(), final=0.8, start=2, duration=8, frequency=3)
    other = GradualPruner(make_model(), final=0.9, start=2, duration=8, frequency=3)
    with pytest.raises(InputError, match=r"differs from this pruner's in \['final'\]"):
        other.load_state_dict(pruner.state_dict())
    with pytest.raises(InputError, match="expects a dict with keys 'step' and 'config'"):
        other.load_state_dict({"step": 3})
    with pytest.raises(InputError, match="'step'"):
        pruner.load_state_dict({**pruner.state_dict(), "step": -2})


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(final=1.2), "'final'"),
        (dict(initial=0.9), "'final'.*>= initial"),
        (dict(frequency=0), "'frequency'.*>= 1"),
        (dict(start=-3), "'start'"),
        (dict(duration=2.5), "'duration'"),
        (dict(criterion="threshold"), "'criterion'"),
        (dict(criterion="random"), "'seed'"),
        (dict(targets="ho"), "no 'ho' weights"),
        (dict(scope="net"), "'scope'"),
    ],
)
def test_gradual_pruner_bad_input(kwargs, match):
    model = MaskedLSTM(2, 3)
    with pytest.raises(InputError, match=match):
        GradualPruner(model, **(dict(final=0.5, start=0, duration=4, frequency=1) | kwargs))


def test_gradual_pruner_never_grows_a_sparser_model():
    model = MaskedLSTM(3, 4)
    magnitude(model, 0.9)
    before = masked_counts(model)
    pruner = GradualPruner(model, final=0.5, start=0, duration=2, frequency=1)
    for _ in range(4):
        pruner.step()
    assert masked_counts(model) == before


# ---------------------------------------------------------------------------------------
# iterative_sparsities


@pytest.mark.parametrize(
    "final, per_round, expected",
    [
        (0.9, 0.5, [0.5, 0.75, 0.875, 0.9]),
        (0.75, 0.5, [0.5, 0.75]),  # lands exactly: no clipped extra round
        (0.36, 0.2, [0.2, 0.36]),  # 1 - 0.8**2 is 0.3599999999999999 in floats
        (0.5, 0.2, [0.2, 0.36, 0.488, 0.5]),
        (0.3, 0.6, [0.3]),
        (0.7, 1.0, [0.7]),
        (1.0, 1.0, [1.0]),
        (0.0, 0.3, []),
    ],
)
def test_iterative_sparsities_values(final, per_round, expected):
    assert iterative_sparsities(final, per_round) == expected


def test_iterative_sparsities_match_the_closed_form():
    values = iterative_sparsities(0.99, 0.2)
    assert len(values) == 21  # 0.8**20 = 0.0115 > 0.01 >= 0.8**21
    for r, s in enumerate(values[:-1], start=1):
        assert s == pytest.approx(1 - 0.8**r, abs=1e-12)
    assert values[-1] == 0.99


@pytest.mark.parametrize(
    "final, per_round, match",
    [(1.0, 0.5, "must be < 1 unless per_round is 1"), (0.5, 0.0, r"\(0, 1\]"), (1.1, 0.2, "'final'"),
     (0.5, float("nan"), "'per_round'"), (0.999999, 1e-9, "rounds")],
)
def test_iterative_sparsities_bad_input(final, per_round, match):
    with pytest.raises(InputError, match=match):
        iterative_sparsities(final, per_round)
