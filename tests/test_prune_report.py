"""sparsity() and amount_for_sparsity() against hand counts."""

from __future__ import annotations

import pytest
import torch

from sparsernn.errors import InputError
from sparsernn.nn import MaskedLSTM, SequenceClassifier
from sparsernn.prune import amount_for_sparsity, magnitude, prune_to_sparsity, sparsity


def test_sparsity_counts_false_mask_entries_per_matrix_and_overall():
    lstm = MaskedLSTM(2, 3, proj_size=1)  # ih 12x2, hh 12x1, hr 1x3
    lstm.mask_ih_l0[:3] = False  # 6 of 24
    lstm.mask_hr_l0[0, 0] = False  # 1 of 3
    report = sparsity(lstm)
    assert list(report) == ["weight_ih_l0", "weight_hh_l0", "weight_hr_l0", "overall"]
    assert report == {"weight_ih_l0": 0.25, "weight_hh_l0": 0.0, "weight_hr_l0": 1 / 3, "overall": 7 / 39}
    assert sparsity(lstm, targets=("hh", "hr")) == {"weight_hh_l0": 0.0, "weight_hr_l0": 1 / 3, "overall": 1 / 15}


def test_sparsity_ignores_zero_weights_that_are_not_masked():
    lstm = MaskedLSTM(2, 3)
    with torch.no_grad():
        lstm.weight_hh_l0.zero_()
    assert sparsity(lstm)["overall"] == 0.0


def test_sparsity_bad_input():
    model = SequenceClassifier("gru", vocab_size=4, hidden_sizes=(3,), readout_mask=False)
    with pytest.raises(InputError, match="no 'ho' weights"):
        sparsity(model, targets="ho")
    with pytest.raises(InputError, match="'targets' parameter of sparsity"):
        sparsity(model, targets="readout")
    with pytest.raises(InputError, match="'model' parameter of sparsity"):
        sparsity("model")


@pytest.mark.parametrize(
    "current, target, expected", [(0.0, 0.9, 0.9), (0.5, 0.75, 0.5), (0.2, 0.2, 0.0), (0.75, 1.0, 1.0), (1.0, 1.0, 0.0)]
)
def test_amount_for_sparsity_values(current, target, expected):
    assert amount_for_sparsity(current, target) == pytest.approx(expected, abs=1e-15)


def test_amount_for_sparsity_reaches_the_target_on_a_model():
    lstm = MaskedLSTM(4, 5)  # 80 and 100 weights
    magnitude(lstm, 0.25)
    magnitude(lstm, amount_for_sparsity(sparsity(lstm)["overall"], 0.6))
    assert sparsity(lstm) == {"weight_ih_l0": 0.6, "weight_hh_l0": 0.6, "overall": 0.6}


@pytest.mark.parametrize(
    "current, target, match",
    [(0.5, 0.4, "must be >= current"), (-0.1, 0.5, "'current'"), (0.1, 1.1, "'target'"),
     (float("nan"), 0.5, "'current'"), (True, 1.0, "'current'"), (0.1, "0.5", "'target'")],
)
def test_amount_for_sparsity_bad_input(current, target, match):
    with pytest.raises(InputError, match=match):
        amount_for_sparsity(current, target)


def test_prune_to_sparsity_and_report_agree_on_counts():
    model = SequenceClassifier("lstm", vocab_size=5, hidden_sizes=(3, 2), embedding_dim=2)
    prune_to_sparsity(model, 0.5, targets=("ih", "hh", "ho"), scope="global")
    report = sparsity(model, targets=("ih", "hh", "ho"))
    total = sum(p.numel() for n, p in model.named_parameters() if n.split(".")[-1].startswith("weight_")
                or n == "readout.weight")
    assert report["overall"] == round(0.5 * total) / total
