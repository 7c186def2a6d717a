import math

import pytest
import torch
from torch import nn

from sparsernn.data import Vocabulary, reber_dataset
from sparsernn.nn import SequenceClassifier
from sparsernn.train import TrainingConfig, encode_split, evaluate, fit

KEYS = {"phase", "epoch", "train_loss", "train_acc", "test_loss", "test_acc", "val_loss", "val_acc",
        "nonzero_params", "total_params", "seconds"}


@pytest.fixture(scope="module")
def data():
    splits = reber_dataset(300, seed=0)
    vocab = Vocabulary.from_strings(splits.train.strings)
    return vocab, encode_split(vocab, splits.train), encode_split(vocab, splits.test)


def small_model(vocab, cell="gru", seed=0):
    torch.manual_seed(seed)
    return SequenceClassifier(cell, len(vocab), hidden_sizes=(6,), embedding_dim=4)


def test_fit_records_epoch_zero_then_every_epoch(data):
    vocab, train, test = data
    model = small_model(vocab)
    before = evaluate(model, test)
    result = fit(model, train, test, TrainingConfig(epochs=2, batch_size=16), seed=0, phase="retrain")
    assert result.status == "done"
    assert [row["epoch"] for row in result.epochs] == [0, 1, 2]
    assert all(set(row) == KEYS and row["phase"] == "retrain" for row in result.epochs)
    assert result.epochs[0]["test_loss"] == pytest.approx(before[0])  # epoch 0: the model as it came in
    assert result.epochs[0]["total_params"] == sum(p.numel() for p in model.parameters())


def test_fit_is_deterministic_for_a_seed_and_order_depends_on_it(data):
    vocab, train, test = data
    runs = []
    for seed in (1, 1, 2):
        model = small_model(vocab)
        runs.append([row["train_loss"] for row in fit(model, train, test, TrainingConfig(epochs=2), seed=seed).epochs])
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]


def test_sgd_with_momentum_and_no_clipping(data):
    vocab, train, test = data
    model = small_model(vocab, "rnn_tanh")
    config = TrainingConfig(epochs=1, optimizer="sgd", lr=0.1, momentum=0.9, clip=None)
    result = fit(model, train, test, config, seed=0)
    assert result.status == "done" and result.epochs[1]["train_loss"] < result.epochs[0]["train_loss"] + 1


class NaNAfter(nn.Module):
    """Wraps a model; its logits become NaN from the ``n``-th training call on."""

    def __init__(self, model, n):
        super().__init__()
        self.model, self.n, self.calls = model, n, 0

    def forward(self, inputs, lengths):
        logits = self.model(inputs, lengths)
        if self.training:
            self.calls += 1
            if self.calls >= self.n:
                return logits * math.nan
        return logits


def test_a_nan_loss_stops_the_run_as_diverged(data):
    vocab, train, test = data
    model = NaNAfter(small_model(vocab), n=len(train) // 16 + 3)  # in the second epoch
    result = fit(model, train, test, TrainingConfig(epochs=5, batch_size=16), seed=0)
    assert result.status == "diverged"
    assert [row["epoch"] for row in result.epochs] == [0, 1]  # finished epochs kept


def test_after_step_hook_runs_after_every_optimizer_step(data):
    vocab, train, test = data
    calls = []
    fit(small_model(vocab), train, test, TrainingConfig(epochs=1, batch_size=50), seed=0,
        after_step=lambda: calls.append(1))
    assert len(calls) == math.ceil(len(train) / 50)


def test_training_config_validates():
    with pytest.raises(ValueError):
        TrainingConfig(lr=0)
    with pytest.raises(ValueError):
        TrainingConfig(optimizer="rmsprop")
    with pytest.raises(ValueError):
        TrainingConfig(epochs=3, unknown=1)
