"""Tasks: per-step and real-valued models against torch's own modules, losses and scores by hand,
and small models that learn each task."""

import math

import networkx as nx
import numpy as np
import pytest
import torch
from torch import nn

from sparsernn.data import DatasetSplits, LabelledSequences, StepStrings, Vocabulary
from sparsernn.nn import GraphRNN, SequenceClassifier
from sparsernn.tasks import TASKS, Task, bits_per_symbol, encode_examples, model_io, task_of, vocabulary_of
from sparsernn.train import Split, TrainingConfig, encode_splits, evaluate, fit


@pytest.mark.parametrize("cell, reference", [("lstm", nn.LSTM), ("gru", nn.GRU), ("rnn_tanh", nn.RNN)])
def test_per_step_logits_are_torchs_outputs_read_out_at_every_step(cell, reference):
    torch.manual_seed(0)
    model = SequenceClassifier(cell, vocab_size=7, hidden_sizes=[5, 4], num_classes=3, embedding_dim=3,
                               per_step=True)
    layers = [reference(3, 5, batch_first=True), reference(5, 4, batch_first=True)]
    for mine, theirs in zip(model.layers, layers):
        theirs.load_state_dict({k: v for k, v in mine.state_dict().items() if not k.startswith("mask")})
    tokens = torch.tensor([[1, 2, 3, 4], [5, 6, 0, 0]])
    lengths = torch.tensor([4, 2])
    logits = model(tokens, lengths)
    assert logits.shape == (2, 4, 3)
    x = model.embed(tokens)
    for layer in layers:
        x = layer(x)[0]
    expected = model.readout(x)  # unpadded run: each sequence's steps up to its length are exact
    assert torch.allclose(logits[0], expected[0], atol=1e-6)
    assert torch.allclose(logits[1, :2], expected[1, :2], atol=1e-6)
    assert logits[1, 2:].abs().max() == 0  # padded steps are zero


def test_real_valued_inputs_go_through_a_linear_layer():
    torch.manual_seed(1)
    model = SequenceClassifier("gru", input_features=2, hidden_sizes=[4], num_classes=3, embedding_dim=3)
    reference = nn.GRU(3, 4, batch_first=True)
    reference.load_state_dict({k: v for k, v in model.layers[0].state_dict().items() if not k.startswith("mask")})
    x = torch.randn(1, 5, 2)
    expected = model.readout(reference(nn.functional.linear(x, model.embed.weight, model.embed.bias))[0][:, -1])
    assert torch.allclose(model(x, torch.tensor([5])), expected, atol=1e-6)


def test_graph_rnn_per_step_agrees_with_its_last_step_readout():
    torch.manual_seed(2)
    dag = nx.DiGraph([(0, 2), (1, 2), (2, 3), (0, 3)])
    last = GraphRNN(dag, "lstm", vocab_size=6, embedding_dim=3, num_classes=4)
    every = GraphRNN(dag, "lstm", vocab_size=6, embedding_dim=3, num_classes=4, per_step=True)
    every.load_state_dict(last.state_dict())
    tokens, lengths = torch.tensor([[1, 2, 3], [4, 5, 0]]), torch.tensor([3, 2])
    steps = every(tokens, lengths)
    assert steps.shape == (2, 3, 4)
    for b, n in enumerate(lengths.tolist()):  # the last true step of every-step readout = the readout
        assert torch.allclose(steps[b, n - 1], last(tokens, lengths)[b], atol=1e-6)
        assert torch.allclose(steps[b, : n - 1], every(tokens[b:b + 1, : n - 1], torch.tensor([n - 1]))[0],
                              atol=1e-6)  # and step t only sees the prefix
    vectors = GraphRNN(dag, "gru", input_features=2, embedding_dim=3)
    assert vectors(torch.randn(2, 4, 2), torch.tensor([4, 1])).shape == (2, 2)


def test_language_model_loss_and_score_by_hand():
    logits = torch.tensor([[[2.0, 0.0], [0.0, 1.0], [5.0, 5.0]]])  # (1, 3, 2); step 2 is padding
    targets = torch.tensor([[0, 0, -100]])
    lengths = torch.tensor([2])
    task = TASKS["language_model"]
    ce = [-math.log(math.exp(2) / (math.exp(2) + 1)), -math.log(1 / (1 + math.e))]
    assert task.loss(logits, targets, lengths).item() == pytest.approx(sum(ce) / 2)
    score = task.score(logits, targets, lengths)
    assert (score.loss_count, score.correct, score.count) == (2, 1, 2)
    assert score.metrics()[0] == pytest.approx(sum(ce) / 2)
    assert bits_per_symbol(math.log(2)) == pytest.approx(1.0)


def test_next_symbols_score_counts_whole_sequences_and_the_long_range_step():
    # two sequences of 3 steps, 2 outputs; sequence 0 right everywhere, sequence 1 wrong at its step 0
    targets = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], [[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]]])
    logits = (targets * 2 - 1) * 3
    logits[1, 0] = -logits[1, 0]
    lengths = torch.tensor([3, 2])
    task = Task("next_symbols", per_step=True, long_range_offset=2)  # step len - 2: 1 and 0
    score = task.score(logits, targets, lengths)
    assert (score.correct, score.count, score.loss_count) == (1, 2, 5)
    assert score.extra["long_range"] == [1, 2]  # sequence 0 right at step 1, sequence 1 wrong at step 0
    valid = torch.tensor([[True, True, True], [True, True, False]])
    expected = nn.functional.binary_cross_entropy_with_logits(logits[valid], targets[valid])
    assert task.loss(logits, targets, lengths).item() == pytest.approx(expected.item())
    assert score.metrics()[0] == pytest.approx(expected.item(), rel=1e-6)


def test_encoding_of_each_kind_of_example():
    steps = StepStrings(["ab", "b"], [("b", "a"), ("a",)])
    vocab = Vocabulary.from_strings(steps.strings)
    inputs, lengths, targets = encode_examples(vocab, steps, task="language_model", classes=("a", "b"))
    assert targets.tolist() == [[1, 0], [0, -100]] and lengths.tolist() == [2, 1]
    legal = StepStrings(["ab", "b"], [("ab", ""), ("b",)])
    _, _, multi = encode_examples(vocab, legal, task="next_symbols", classes=("a", "b"))
    assert multi.tolist() == [[[1, 1], [0, 0]], [[0, 1], [0, 0]]]
    series = LabelledSequences([np.ones((2, 3)), np.full((1, 3), 2.0)], [1, 0])
    x, n, y = encode_examples(None, series)
    assert x.shape == (2, 2, 3) and x[1, 1].abs().sum() == 0 and x[1, 0, 0] == 2 and y.tolist() == [1, 0]


def _counting(n, seed):
    """Sequences of 1-D values; the label is whether their sum is positive (an easy real-valued task)."""
    rng = np.random.default_rng(seed)
    values = [rng.normal(size=(int(rng.integers(3, 8)), 1)) for _ in range(n)]
    return LabelledSequences(values, [int(v.sum() > 0) for v in values])


def test_a_small_model_learns_a_real_valued_task_well_above_chance():
    data = DatasetSplits("sums", _counting(400, 0), _counting(200, 1), None, ("neg", "pos"))
    vocab = vocabulary_of(data)
    assert vocab is None and model_io(data, vocab) == {"input_features": 1, "num_classes": 2}
    train, test, _ = encode_splits(vocab, data)
    torch.manual_seed(0)
    model = SequenceClassifier("gru", hidden_sizes=[16], embedding_dim=8, **model_io(data, vocab))
    result = fit(model, train, test, TrainingConfig(epochs=15, lr=1e-2), seed=0, task=task_of(data))
    chance = max(np.bincount(data.test.labels)) / len(data.test)
    assert result.epochs[-1]["test_acc"] > chance + 0.25


def test_a_small_language_model_beats_the_unigram_entropy():
    text = "the cat sat on the mat. " * 40
    chunks = [text[i:i + 21] for i in range(0, len(text) - 21, 20)]
    steps = StepStrings([c[:-1] for c in chunks], [tuple(c[1:]) for c in chunks])
    classes = tuple(sorted(set(text)))
    data = DatasetSplits("cat", steps, steps, None, classes, task="language_model")
    vocab = vocabulary_of(data)
    train, test, _ = encode_splits(vocab, data)
    torch.manual_seed(0)
    model = SequenceClassifier("lstm", hidden_sizes=[32], embedding_dim=8, **model_io(data, vocab))
    result = fit(model, train, test, TrainingConfig(epochs=30, lr=1e-2, batch_size=8), seed=0, task=task_of(data))
    counts = np.array([text.count(c) for c in classes], dtype=float)
    p = counts / counts.sum()
    unigram = float(-(p * np.log2(p)).sum())
    assert bits_per_symbol(result.epochs[-1]["test_loss"]) < unigram - 1.0


def test_evaluate_of_a_classifier_is_the_cross_entropy_and_accuracy_by_hand():
    torch.manual_seed(3)
    model = SequenceClassifier("rnn_tanh", vocab_size=5, hidden_sizes=[3], embedding_dim=2)
    split = Split(torch.tensor([[1, 2], [3, 0], [4, 4]]), torch.tensor([2, 1, 2]), torch.tensor([0, 1, 1]))
    with torch.no_grad():
        logits = torch.cat([model(split.inputs[i:i + 1, : split.lengths[i]], split.lengths[i:i + 1])
                            for i in range(3)])
    loss, acc = evaluate(model, split)
    assert loss == pytest.approx(nn.functional.cross_entropy(logits, split.labels).item(), rel=1e-6)
    assert acc == pytest.approx((logits.argmax(1) == split.labels).float().mean().item())


def test_per_step_and_real_valued_models_round_trip_through_a_checkpoint(tmp_path):
    from sparsernn.checkpoint import load_checkpoint, save_checkpoint

    torch.manual_seed(4)
    dag = nx.DiGraph([(0, 2), (1, 2)])
    models = [GraphRNN(dag, "gru", input_features=3, embedding_dim=2, num_classes=4, per_step=True),
              SequenceClassifier("lstm", input_features=3, hidden_sizes=[4], embedding_dim=2, per_step=True)]
    x, n = torch.randn(2, 5, 3), torch.tensor([5, 2])
    for i, model in enumerate(models):
        path = save_checkpoint(tmp_path / f"m{i}.pt", model, None, classes=[str(c) for c in range(
            model.hparams["num_classes"])], task="language_model")
        saved = load_checkpoint(path)
        assert type(saved.model) is type(model) and saved.vocab is None and saved.metadata["task"] == "language_model"
        assert torch.equal(saved.model(x, n), model(x, n))


def test_sample_refuses_what_is_not_a_language_model_and_a_prompt_it_cannot_read():
    from sparsernn.checkpoint import Checkpoint
    from sparsernn.errors import InputError
    from sparsernn.sample import sample

    vocab = Vocabulary(list("ab"))
    classifier = Checkpoint(SequenceClassifier("gru", len(vocab), hidden_sizes=[2]), vocab, ("no", "yes"))
    with pytest.raises(InputError, match="needs a character-level language model.*task is 'classify'"):
        sample(classifier, length=3)
    lm = Checkpoint(SequenceClassifier("gru", len(vocab), hidden_sizes=[2], num_classes=2, per_step=True), vocab,
                    ("a", "b"), metadata={"task": "language_model"})
    with pytest.raises(InputError, match="symbol 'z' at position 1"):
        sample(lm, length=3, prompt="az")
    assert sample(lm, length=5, temperature=0, prompt="a") == sample(lm, length=5, temperature=0, seed=9, prompt="a")
