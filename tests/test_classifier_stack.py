"""ClassifierStack: many classifiers of one architecture as one network, and the pruning
children of a base retrained together -- each as it would train alone."""

import copy

import pytest
import torch
import yaml

from sparsernn import prune
from sparsernn.cli import main
from sparsernn.data import Vocabulary, reber_dataset
from sparsernn.errors import InputError
from sparsernn.nn import ClassifierStack, SequenceClassifier, count_parameters
from sparsernn.store import Store
from sparsernn.train import TrainingConfig, encode_splits, fit, fit_pack

CELLS = ["rnn_tanh", "rnn_relu", "lstm", "gru"]


def members(cell, n=3, seed=0, **kwargs):
    torch.manual_seed(seed)
    models = [SequenceClassifier(cell, 9, hidden_sizes=[6, 5], embedding_dim=4, **kwargs) for _ in range(n)]
    prune.prune_to_sparsity(models[1], 0.6, targets=("ih", "hh", "ho"))
    prune.prune_to_sparsity(models[-1], 1.0, targets=("hh",), scope="layer")
    return models


def batch():
    torch.manual_seed(1)
    lengths = torch.tensor([12, 3, 7, 1, 12, 5, 9])
    tokens = torch.randint(2, 9, (7, 12))
    for i, n in enumerate(lengths):
        tokens[i, n:] = 0
    return tokens, lengths


@pytest.mark.parametrize("cell", CELLS)
def test_every_member_computes_its_own_function_and_gradient(cell):
    models = members(cell)
    stack = ClassifierStack(models)
    tokens, lengths = batch()
    logits = stack(tokens, lengths)
    assert logits.shape == (7, 3, 2)
    logits.sum().backward()
    for g, model in enumerate(models):
        torch.testing.assert_close(logits[:, g], model(tokens, lengths), rtol=0, atol=1e-6)
        model(tokens, lengths).sum().backward()
        for name, p in model.named_parameters():
            torch.testing.assert_close(getattr(stack, name.replace(".", "__")).grad[g], p.grad, rtol=0, atol=1e-5)
    masked = stack.layers__0__weight_hh_l0.grad[1][~models[1].layers[0].mask_hh_l0]
    assert masked.abs().sum() == 0  # a masked entry gets no gradient


def test_members_copy_back_out_and_count_their_parameters():
    models = members("gru")
    stack = ClassifierStack(models)
    assert stack.parameter_counts() == [count_parameters(m) for m in models]
    for model, out in zip(models, stack.unpack()):
        assert out.hparams == model.hparams
        for (name, a), b in zip(model.state_dict().items(), out.state_dict().values()):
            assert torch.equal(a, b), name


@pytest.mark.parametrize(("models", "message"), [
    (lambda: [], "non-empty list of SequenceClassifiers"),
    (lambda: [SequenceClassifier("gru", 9), SequenceClassifier("lstm", 9)], "must share one architecture"),
    (lambda: [SequenceClassifier("gru", 9, dropout=0.1)], "cannot stack classifiers with dropout"),
])
def test_what_cannot_be_stacked_is_refused(models, message):
    with pytest.raises(InputError, match=message):
        ClassifierStack(models())


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn_tanh"])
def test_a_stack_trains_every_member_as_fit_trains_it_alone(cell):
    splits = reber_dataset(num_strings=120, seed=0)
    vocab = Vocabulary.from_strings(splits.train.strings)
    train, test, _ = encode_splits(vocab, splits)
    torch.manual_seed(0)
    base = SequenceClassifier(cell, len(vocab), hidden_sizes=[5, 4], embedding_dim=3)
    children = []
    for amount in (0.0, 0.5, 0.9):
        child = copy.deepcopy(base)
        prune.prune_to_sparsity(child, amount, targets=("ih", "hh"))
        children.append(child)
    with torch.no_grad():  # a member that turns non-finite diverges alone, the others go on
        children[2].layers[1].weight_hh_l0.fill_(float("inf"))
    config = TrainingConfig(epochs=2, batch_size=16, lr=0.01)
    stack = ClassifierStack([copy.deepcopy(c) for c in children])
    results = fit_pack(stack, train, test, config, seed=5)
    for g, child in enumerate(children):
        alone = fit(child, train, test, config, seed=5)
        assert results[g].status == alone.status
        assert len(results[g].epochs) == len(alone.epochs)
        for mine, theirs in zip(results[g].epochs, alone.epochs):
            for key in ("train_loss", "train_acc", "test_loss", "test_acc", "nonzero_params", "total_params"):
                assert mine[key] == pytest.approx(theirs[key], abs=1e-5, nan_ok=True), (g, key)
        if alone.status == "done":
            for (name, a), b in zip(child.state_dict().items(), stack.member(g).state_dict().values()):
                torch.testing.assert_close(b, a, rtol=0, atol=1e-5, msg=name)
    assert [r.status for r in results] == ["done", "done", "diverged"]


def _children(base, amounts=(0.0, 0.5, 0.9)):
    children = []
    for amount in amounts:
        child = copy.deepcopy(base)
        prune.prune_to_sparsity(child, amount, targets=("ih", "hh"))
        children.append(child)
    return children


@pytest.mark.parametrize("task_name", ["language_model", "next_symbols"])
def test_a_stack_of_per_step_members_trains_each_as_fit_trains_it_alone(task_name):
    from sparsernn.data import DatasetSplits, StepStrings
    from sparsernn.tasks import Task

    torch.manual_seed(0)
    text = "".join(torch.randint(0, 4, (600,)).numpy().astype(str).tolist()).replace("0", "ab")
    chunks = [text[i:i + 9] for i in range(0, len(text) - 9, 8)][:60]
    if task_name == "language_model":
        steps = StepStrings([c[:-1] for c in chunks], [tuple(c[1:]) for c in chunks])
    else:  # a made-up legal set: the next symbol and the one after it
        steps = StepStrings([c[:-2] for c in chunks], [tuple(a + b for a, b in zip(c[1:-1], c[2:])) for c in chunks])
    data = DatasetSplits("toy", steps, steps.take(range(20)), None, tuple(sorted(set(text))), task=task_name)
    vocab = Vocabulary.from_strings(steps.strings)
    train, test, _ = encode_splits(vocab, data)
    task = Task(task_name, per_step=True, long_range_offset=2 if task_name == "next_symbols" else None)
    base = SequenceClassifier("lstm", len(vocab), hidden_sizes=[5, 4], embedding_dim=3,
                              num_classes=len(data.classes), per_step=True)
    children = _children(base)
    config = TrainingConfig(epochs=2, batch_size=16, lr=0.01)
    stack = ClassifierStack([copy.deepcopy(c) for c in children])
    tokens, lengths = train.inputs[:5], train.lengths[:5]
    with torch.enable_grad():
        logits = stack(tokens, lengths)  # (B, T, G, C), the training path
    for g, child in enumerate(children):
        torch.testing.assert_close(logits[:, :, g], child(tokens, lengths), rtol=0, atol=1e-6)
    results = fit_pack(stack, train, test, config, seed=5, task=task)
    for g, child in enumerate(children):
        alone = fit(child, train, test, config, seed=5, task=task)
        for mine, theirs in zip(results[g].epochs, alone.epochs, strict=True):
            assert set(mine) == set(theirs)
            for key in set(mine) - {"phase", "seconds"}:
                assert mine[key] == pytest.approx(theirs[key], abs=1e-5, nan_ok=True), (g, key)
        for (name, a), b in zip(child.state_dict().items(), stack.member(g).state_dict().values()):
            torch.testing.assert_close(b, a, rtol=0, atol=1e-5, msg=name)


def test_a_stack_of_real_valued_members_trains_each_as_fit_trains_it_alone():
    from sparsernn.data import DatasetSplits, LabelledSequences

    torch.manual_seed(0)
    values = [torch.randn(int(n), 3).numpy() for n in torch.randint(2, 9, (50,))]
    series = LabelledSequences(values, [int(v[:, 0].sum() > 0) for v in values])
    data = DatasetSplits("toy", series, series.take(range(20)), None, ("a", "b"))
    train, test, _ = encode_splits(None, data)
    base = SequenceClassifier("gru", input_features=3, hidden_sizes=[5, 4], embedding_dim=3)
    children = _children(base)
    config = TrainingConfig(epochs=2, batch_size=16, lr=0.01)
    stack = ClassifierStack([copy.deepcopy(c) for c in children])
    results = fit_pack(stack, train, test, config, seed=5)
    for g, child in enumerate(children):
        alone = fit(child, train, test, config, seed=5)
        for mine, theirs in zip(results[g].epochs, alone.epochs, strict=True):
            for key in ("train_loss", "train_acc", "test_loss", "test_acc"):
                assert mine[key] == pytest.approx(theirs[key], abs=1e-5), (g, key)


STUDY = dict(name="p", kind="pruning", seeds=[0], cells=["gru"], data={"num_strings": 200},
             model={"embedding_dim": 4, "hidden_sizes": [4, 4]}, training={"epochs": 1},
             pruning={"sparsities": [0.3, 0.9], "criteria": ["magnitude", "random", "threshold"],
                      "thresholds": [0.1], "retrain_epochs": 2})


@pytest.mark.slow
def test_a_pruning_study_gives_the_same_trials_and_numbers_batched_or_not(tmp_path):
    tables = {}
    for batched in (True, False):
        path = tmp_path / f"{batched}.yaml"
        path.write_text(yaml.safe_dump({**STUDY, "pruning": {**STUDY["pruning"], "batch_children": batched}}))
        assert main(["run", str(path), "--workers", "1", "--out", str(tmp_path / str(batched))]) == 0
        with Store(tmp_path / str(batched), create=False) as store:
            epochs = store.epochs().sort_values(["run_id", "phase", "epoch"]).reset_index(drop=True)
            sparsity = store.artefacts("sparsity").set_index("run_id")["data"].sort_index()
        tables[batched] = epochs, sparsity
    (batched, sparse_b), (alone, sparse_a) = tables[True], tables[False]
    assert batched["run_id"].tolist() == alone["run_id"].tolist() and len(sparse_a) == 5  # 5 children
    for key in ("train_loss", "test_loss", "test_acc", "actual_sparsity", "nonzero_params"):
        assert batched[key].fillna(-1).tolist() == pytest.approx(alone[key].fillna(-1).tolist(), abs=1e-5), key
    assert sparse_b.tolist() == sparse_a.tolist()


def test_a_bad_batch_is_refused_as_a_classifier_refuses_it():
    stack = ClassifierStack(members("gru", n=2))
    tokens, lengths = batch()
    with pytest.raises(InputError, match=r"token ids in \[0, 9\); got values in \[0, 12\]"):
        stack(tokens.clamp(max=12).index_fill(0, torch.tensor([0]), 12), lengths)
    with pytest.raises(InputError, match=r"lengths must lie in \[1, 12\]"):
        stack(tokens, lengths + 1)
