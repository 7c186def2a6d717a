"""Every dataset of the project can be learnt: a small model trained briefly (fixed seed) scores
clearly above chance, chance computed from the test split's class frequencies (or, for
language modelling, the unigram entropy of the text)."""

import numpy as np
import pytest
import torch

from sparsernn.data import load_dataset
from sparsernn.data.text import pydoc_text, unigram_entropy_bits
from sparsernn.nn import SequenceClassifier
from sparsernn.tasks import bits_per_symbol, model_io, task_of, vocabulary_of
from sparsernn.train import TrainingConfig, encode_splits, fit

pytestmark = pytest.mark.slow  # each trains a model for seconds: the fast tier stays under a minute


def train_briefly(data, *, cell="gru", hidden=32, epochs=5, lr=5e-3, batch_size=32):
    vocab = vocabulary_of(data)
    train, test, _ = encode_splits(vocab, data)
    torch.manual_seed(0)
    model = SequenceClassifier(cell, hidden_sizes=[hidden], embedding_dim=16, **model_io(data, vocab))
    config = TrainingConfig(epochs=epochs, lr=lr, batch_size=batch_size)
    return fit(model, train, test, config, seed=0, task=task_of(data)).epochs[-1]


def chance(data) -> float:
    """The accuracy of always answering the test split's most frequent class."""
    return np.bincount(data.test.labels).max() / len(data.test)


@pytest.mark.parametrize("name, epochs, margin", [
    ("digits", 4, 0.5),
    ("ucr:ItalyPowerDemand", 15, 0.3),
    ("ucr:JapaneseVowels", 8, 0.5),
    ("ucr:BasicMotions", 30, 0.3),
    ("ucr:GunPoint", 40, 0.15),
])
def test_a_small_model_beats_chance_on_a_real_dataset(name, epochs, margin):
    pytest.importorskip("aeon") if name.startswith("ucr:") else None
    data = load_dataset(name, seed=0)
    row = train_briefly(data, epochs=epochs, lr=1e-2 if name == "ucr:GunPoint" else 5e-3)
    assert row["test_acc"] > chance(data) + margin, (row["test_acc"], chance(data))


def test_a_small_model_learns_the_legal_next_symbols_of_embedded_reber():
    data = load_dataset("embedded-reber-next", seed=0, num_strings=1500)
    row = train_briefly(data, cell="lstm", epochs=15)
    # a whole sequence is right only when every step's legal set is: a model that has not learnt
    # the grammar gets ~0; one that has, but guesses the long-range step (T or P), about half
    assert row["test_acc"] > 0.35, row
    assert row["test_long_range_acc"] >= row["test_acc"]  # a sequence right everywhere is right there


def test_a_small_language_model_falls_below_the_unigram_entropy():
    data = load_dataset("pydoc-topics", seed=0, chunk_length=50)
    row = train_briefly(data, cell="lstm", hidden=64, epochs=1, lr=1e-2, batch_size=64)
    assert bits_per_symbol(row["test_loss"]) < unigram_entropy_bits(pydoc_text()) - 0.8, row
