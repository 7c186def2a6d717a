"""Sparse export and inference: the exported file computes what the masked dense model
computes, on every cell, and a file that is not one is refused without running code."""

import io
import json
import math
import pickle

import networkx as nx
import pandas as pd
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from sparsernn import prune
from sparsernn.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from sparsernn.cli import main
from sparsernn.data import Vocabulary
from sparsernn.errors import InputError
from sparsernn.infer import FORMAT, SparseModel, export, is_exported, load
from sparsernn.infer.storage import choose, csr_from_mask, decode, encode, storage_bytes
from sparsernn.nn import CELLS, GraphRNN, GraphRNNPack, SequenceClassifier
from sparsernn.predict import predict

VOCAB = Vocabulary.from_strings(["BTXSE", "BPVVE", "BTSSXXTVVE"])
STRINGS = ["BTXSE", "BTSSXXTVVE", "BPVVE", "B", "BPTVPSE", "BTSXXVPSE", "BE"]  # batch 7, lengths 1..10
KERNELS = {"auto": {}, "sparse": {"kernel": "sparse"}, "fused": {"kernel": "fused"}}


def classifier(cell, sparsity, seed=0, **kwargs):
    torch.manual_seed(seed)
    model = SequenceClassifier(cell, len(VOCAB), **{"hidden_sizes": (12, 10), "embedding_dim": 10, **kwargs}).eval()
    if sparsity:
        prune.prune_to_sparsity(model, sparsity, targets=("ih", "hh", "ho"), scope="layer")
    return model


def assert_same_logits(sparse, model, strings=STRINGS, vocab=VOCAB):
    for batch in ([strings[1]], strings):  # batch 1 and a batch of varied lengths
        tokens, lengths = vocab.encode(batch)
        with torch.no_grad():
            expected = model(tokens, lengths)
        torch.testing.assert_close(sparse(tokens, lengths), expected, rtol=0, atol=1e-5)


def exported(tmp_path, model, name="m.safetensors", **kwargs):
    written = export(Checkpoint(model, VOCAB, ("no", "yes")), tmp_path / name)
    return written, load(written.path, **kwargs)


@pytest.mark.parametrize("cell", sorted(CELLS))
@pytest.mark.parametrize("sparsity", [0.0, 0.5, 0.9, 1.0])
def test_exported_model_computes_what_the_masked_model_computes(tmp_path, cell, sparsity):
    model = classifier(cell, sparsity)
    written, saved = exported(tmp_path, model)
    assert type(saved.model) is SparseModel and saved.classes == ("no", "yes") and saved.vocab == VOCAB
    assert_same_logits(saved.model, model)
    for kernels in KERNELS.values():  # every layer sparse, every layer torch's fused op
        assert_same_logits(load(written.path, **kernels).model, model)


def test_a_batch_wider_than_a_block_of_projections_and_than_a_sub_batch():
    model = classifier("lstm", 0.9)
    generator = torch.Generator().manual_seed(7)
    symbols = [s for s in VOCAB.symbols if not s.startswith("<")]
    strings = ["".join(symbols[i] for i in torch.randint(len(symbols), (int(n),), generator=generator))
               for n in torch.randint(1, 30, (70,), generator=generator)]  # 64 + 6 sequences; 64 > 32 at step 0
    assert_same_logits(SparseModel.from_model(model, kernel="sparse"), model, strings)


@pytest.mark.parametrize("cell", sorted(CELLS))
@pytest.mark.parametrize("recurrence", ["layer", "self", "none"])
def test_a_graph_rnn_exports_with_its_skip_edges(tmp_path, cell, recurrence):
    torch.manual_seed(3)
    dag = nx.DiGraph([(0, 2), (1, 2), (2, 3), (0, 3), (1, 4), (3, 5), (4, 5)])  # 0 -> 3 skips a layer
    model = GraphRNN(dag, cell, len(VOCAB), embedding_dim=5, num_classes=3, recurrence=recurrence).eval()
    written = export(Checkpoint(model, VOCAB, ("a", "b", "c"), trial_id="t"), tmp_path / "g.safetensors")
    saved = load(written.path)
    assert saved.trial_id == "t" and saved.model.hparams == model.hparams and saved.model.model_class == "GraphRNN"
    assert_same_logits(saved.model, model)
    assert_same_logits(load(written.path, kernel="sparse").model, model)


def test_float_inputs_a_plain_readout_and_a_vocabulary_larger_than_the_embedding():
    torch.manual_seed(4)
    model = SequenceClassifier("lstm", input_features=3, hidden_sizes=[7], readout_mask=False).eval()
    prune.prune_to_sparsity(model, 0.8, targets=("ih", "hh"), scope="global")
    features, lengths = torch.randn(5, 6, 3), torch.tensor([6, 1, 3, 5, 2])
    for kernel in KERNELS:
        torch.testing.assert_close(SparseModel.from_model(model, kernel=kernel)(features, lengths),
                                   model(features, lengths), rtol=0, atol=1e-5)
    wide = SequenceClassifier("gru", vocab_size=40, hidden_sizes=[6], embedding_dim=3).eval()  # no token table
    tokens, lengths = torch.randint(0, 40, (4, 9)), torch.tensor([9, 2, 4, 1])
    sparse = SparseModel.from_model(wide, kernel="sparse")
    assert sparse.layers[0].table is None
    assert SparseModel.from_model(classifier("gru", 0.5), kernel="sparse").layers[0].table is not None
    torch.testing.assert_close(sparse(tokens, lengths), wide(tokens, lengths), rtol=0, atol=1e-5)


def test_each_layer_takes_the_faster_way():
    large = classifier("lstm", 0.9, hidden_sizes=(12, 300))  # layer 1's W_hh: 1200 x 300 > SMALL entries
    auto = SparseModel.from_model(large)
    assert [layer.way for layer in auto.layers] == ["fused", "sparse"]  # layer 0 is small
    assert auto.layers[1].w_hh.layout == auto.layers[1].w_ih.layout == torch.sparse_csr  # 10 % kept
    assert [layer.way for layer in SparseModel.from_model(classifier("lstm", 0.5, hidden_sizes=(12, 300))).layers] \
        == ["fused", "fused"]  # 50 % kept: above DENSE_ABOVE
    assert_same_logits(auto, large)
    with pytest.raises(InputError, match="kernel"):
        SparseModel.from_model(large, kernel="fast")


def test_inputs_are_checked_at_the_boundary():
    sparse = SparseModel.from_model(classifier("lstm", 0.9))
    with pytest.raises(InputError, match=r"token ids in \[0, 9\)"):
        sparse(torch.tensor([[1, 12]]), torch.tensor([2]))
    with pytest.raises(InputError, match=r"lengths must lie in \[1, 2\]"):
        sparse(torch.tensor([[1, 2]]), torch.tensor([3]))


def test_only_plain_data_is_exported(tmp_path):
    with pytest.raises(InputError, match="plain data only"):
        export(Checkpoint(classifier("gru", 0.5), VOCAB, metadata={"seen": {1, 2}}), tmp_path / "m.safetensors")
    dag = nx.DiGraph([((0, 0), (0, 1))])  # tuple vertices would come back as lists
    with pytest.raises(InputError, match="vertices must be ints or strings"):
        export(Checkpoint(GraphRNN(dag, "gru", len(VOCAB), embedding_dim=2), VOCAB), tmp_path / "g.safetensors")
    assert not list(tmp_path.iterdir())


def test_a_pack_or_another_module_is_refused(tmp_path):
    dag = nx.DiGraph([(0, 1)])
    pack = GraphRNNPack([GraphRNN(dag, "gru", len(VOCAB), embedding_dim=2) for _ in range(2)])
    with pytest.raises(InputError, match=r"pack.member\(i\)"):
        export(Checkpoint(pack, VOCAB), tmp_path / "p.safetensors")
    with pytest.raises(InputError, match="one network"):
        SparseModel.from_model(torch.nn.LSTM(2, 3))
    assert not (tmp_path / "p.safetensors").exists()


# --- storage -------------------------------------------------------------------------


@pytest.mark.parametrize("density", [0.0, 0.01, 0.3, 1.0])
@pytest.mark.parametrize("kind", ["csr", "bitmask"])
def test_each_storage_round_trips_the_masked_values(kind, density):
    generator = torch.Generator().manual_seed(5)
    weight = torch.randn(13, 11, generator=generator)
    mask = torch.rand(13, 11, generator=generator) < density
    mask[3] = False  # an empty row
    stored, parts = encode(weight, mask, kind=kind)
    assert stored == kind and len(parts["values"]) == int(mask.sum())
    matrix = decode(kind, (13, 11), parts, "w")
    assert matrix.layout == torch.sparse_csr and matrix.crow_indices().dtype == torch.int32
    torch.testing.assert_close(matrix.to_dense(), weight * mask, rtol=0, atol=0)
    torch.testing.assert_close(csr_from_mask(weight, mask).to_dense(), weight * mask, rtol=0, atol=0)


def test_storage_sizes_are_counted_by_hand():
    assert storage_bytes("csr", (10, 20), 7) == 4 * 11 + 8 * 7
    assert storage_bytes("bitmask", (10, 20), 7) == 25 + 4 * 7
    assert storage_bytes("bitmask", (3, 3), 0) == 2  # 9 bits round up to 2 bytes
    # for 1000 x 1000, CSR takes 4004 + 8 nnz bytes and a bitmask 125000 + 4 nnz: equal at nnz = 30249
    assert choose((1000, 1000), 30_249) == "csr" and choose((1000, 1000), 30_250) == "bitmask"


def test_the_file_stores_each_matrix_the_smaller_way_and_is_small(tmp_path):
    torch.manual_seed(6)
    model = SequenceClassifier("lstm", len(VOCAB), hidden_sizes=[128], embedding_dim=16).eval()
    prune.prune_to_sparsity(model, 0.99, targets=("hh",), scope="layer")
    prune.prune_to_sparsity(model, 0.9, targets=("ih",), scope="layer")
    written = export(Checkpoint(model, VOCAB), tmp_path / "m.safetensors")
    assert written.storage == {"layers.0.weight_ih_l0": "bitmask", "layers.0.weight_hh_l0": "csr",
                               "readout.weight": "bitmask"}
    state = model.state_dict()
    with safe_open(written.path, framework="pt") as file:
        stored = {key: file.get_tensor(key) for key in file.keys()}
    for name, kind in written.storage.items():
        shape, nnz = tuple(state[name].shape), int(state[name.replace("weight", "mask")].sum())
        assert kind == min(("csr", "bitmask"), key=lambda k: storage_bytes(k, shape, nnz))
        held = sum(t.numel() * t.element_size() for key, t in stored.items() if key.startswith(name + "."))
        assert held == storage_bytes(kind, shape, nnz)
    dense = sum(t.numel() for k, t in state.items() if ".mask" not in k and not k.startswith("mask")) * 4
    assert written.dense_bytes == dense and written.file_bytes == written.path.stat().st_size
    assert written.ratio <= 0.2


# --- command line ----------------------------------------------------------------------


def test_export_and_predict_from_the_command_line(tmp_path, capsys):
    model = classifier("gru", 0.9)
    checkpoint = save_checkpoint(tmp_path / "m.pt", model, VOCAB, classes=["invalid", "valid"], trial_id="t1")
    assert main(["export", str(checkpoint), "--out", str(tmp_path / "m.sparse")]) == 0  # any name: read by content
    printed = capsys.readouterr().out
    assert printed.startswith(f"wrote {tmp_path / 'm.sparse'}: ") and "(dense fp32: " in printed and "x)" in printed
    assert is_exported(tmp_path / "m.sparse") and not is_exported(checkpoint)
    (tmp_path / "in.txt").write_text("\n".join(STRINGS) + "\n")
    tables = []
    for path in (checkpoint, tmp_path / "m.sparse"):
        assert main(["predict", str(path), "--input", str(tmp_path / "in.txt")]) == 0
        tables.append(pd.read_csv(io.StringIO(capsys.readouterr().out)))
    assert list(tables[1].columns) == ["string", "label", "p_invalid", "p_valid"]
    assert tables[0]["string"].tolist() == tables[1]["string"].tolist() == STRINGS
    assert (tables[0]["label"] == tables[1]["label"]).all()
    assert (tables[0][["p_invalid", "p_valid"]] - tables[1][["p_invalid", "p_valid"]]).abs().max().max() <= 2e-6
    saved = load(tmp_path / "m.sparse")
    assert saved.trial_id == "t1"
    pd.testing.assert_frame_equal(predict(saved, STRINGS), predict(load_checkpoint(checkpoint), STRINGS),
                                  check_exact=False, atol=1e-5)


def test_export_refuses_a_bad_checkpoint_in_one_line(tmp_path, capsys):
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint")
    assert main(["export", str(tmp_path / "bad.pt"), "--out", str(tmp_path / "m.safetensors")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "bad.pt" in err and not (tmp_path / "m.safetensors").exists()


# --- hostile and damaged files ---------------------------------------------------------


class Boom:
    def __reduce__(self):
        return (print, ("code ran",))


def test_a_pickle_is_refused_without_running_it(tmp_path, capsys):
    torch.save({"format": FORMAT, "payload": Boom()}, tmp_path / "evil.safetensors")
    (tmp_path / "evil.pkl").write_bytes(pickle.dumps(Boom()))
    for path in (tmp_path / "evil.safetensors", tmp_path / "evil.pkl"):
        assert not is_exported(path)
        with pytest.raises(InputError, match=f"{path.name}.*is not a {FORMAT} file"):
            load(path)
        assert main(["predict", str(path), "--input", "-"]) == 2  # read as a checkpoint, refused unread
    captured = capsys.readouterr()
    assert "code ran" not in captured.out + captured.err


def test_missing_empty_and_foreign_files(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        load(tmp_path / "none.safetensors")
    (tmp_path / "empty").write_bytes(b"")
    with pytest.raises(InputError, match="'.*empty' is not a"):
        load(tmp_path / "empty")
    save_file({"w": torch.zeros(2)}, tmp_path / "other.safetensors", metadata={"format": "pt"})
    with pytest.raises(InputError, match="its header's format is 'pt'"):
        load(tmp_path / "other.safetensors")
    checkpoint = save_checkpoint(tmp_path / "m.pt", classifier("rnn_tanh", 0.5), VOCAB)
    with pytest.raises(InputError, match="m.pt' is not a"):
        load(checkpoint)


def _damaged(tmp_path, change):
    """A model file with ``change(tensors, description)`` applied; returns its path."""
    path = export(Checkpoint(classifier("lstm", 0.99, hidden_sizes=[80]), VOCAB, ("no", "yes")),
                  tmp_path / "d.safetensors").path
    with safe_open(path, framework="pt") as file:
        tensors = {key: file.get_tensor(key) for key in file.keys()}
        header = file.metadata()
    description = json.loads(header["model"])
    change(tensors, description)
    save_file(tensors, path, metadata={**header, "model": json.dumps(description)})
    return path


def _set(key, value):
    return lambda tensors, description: tensors.__setitem__(key, value)


def _describe(key, value):
    return lambda tensors, description: description.__setitem__(key, value)


HH = "layers.0.weight_hh_l0"  # CSR: 320 x 80 with 256 values
IH = "layers.0.weight_ih_l0"  # bitmask: 320 x 10 with 32 values


@pytest.mark.parametrize(("change", "message"), [
    (_describe("model_class", "os.system"), "its 'model_class' is 'os.system'"),
    (_describe("hparams", {"cell": "lstm", "vocab_size": 9, "hidden_sizes": [80], "embedding_dim": 10,
                           "code": "rm -rf /"}), "unknown argument 'code'"),
    (_describe("hparams", {"cell": "lstm", "vocab_size": 9, "hidden_sizes": [81], "embedding_dim": 10}),
     r"'layers.0.weight_ih_l0' has shape \[320, 10\], expected \[324, 10\]"),
    (_describe("classes", ["a", "b", "c"]), "3 class names for 2 outputs"),
    (_describe("vocab", list("abcdefghijklmn")), "a vocabulary of 16 tokens for an embedding of 9"),
    (_describe("trial_id", 3), "its 'trial_id' is 3"),
    (lambda t, d: d["matrices"][HH].__setitem__("storage", "coo"), f"matrix '{HH}' must be"),
    (lambda t, d: d["matrices"][HH].__setitem__("shape", [320, 81]), f"'{HH}' has shape \\[320, 81\\]"),
    (lambda t, d: d["matrices"].pop(HH), f"it lacks the masked matrix '{HH}'"),
    (lambda t, d: d.pop("metadata"), "must have the keys"),
    (lambda t, d: t.pop(f"{HH}.col"), f"lacks tensor '{HH}.col'"),
    (_set("extra", torch.zeros(1)), "unexpected tensor 'extra'"),
    (_set("readout.bias", torch.zeros(2, dtype=torch.float64)), "'readout.bias' is torch.float64"),
    (lambda t, d: t[f"{HH}.crow"].__setitem__(5, 10_000), "'crow' must start at 0 and never decrease"),
    (lambda t, d: t[f"{HH}.col"].__setitem__(0, 80), r"a column index lies outside \[0, 80\)"),
    (lambda t, d: t[f"{HH}.col"].__setitem__(1, t[f"{HH}.col"][0]), "column indices of a row must increase"),
    (lambda t, d: t.__setitem__(f"{HH}.values", t[f"{HH}.values"][1:].clone()), "there are .* and .* values"),
    (lambda t, d: t.__setitem__(f"{HH}.crow", t[f"{HH}.crow"].long()), "'crow' must be a one-dimensional torch.int32"),
    (lambda t, d: t[f"{IH}.bits"].__setitem__(0, 255), "bits set but"),
    (lambda t, d: t.__setitem__(f"{IH}.bits", t[f"{IH}.bits"][:-1].clone()), "'bits' has 399 bytes"),
])
def test_damaged_files_are_refused_in_one_line(tmp_path, change, message):
    path = _damaged(tmp_path, change)
    with pytest.raises(InputError, match=message) as info:
        load(path)
    assert "\n" not in str(info.value) and "d.safetensors" in str(info.value)


def test_a_truncated_file_and_a_broken_header(tmp_path):
    path = _damaged(tmp_path, lambda t, d: None)
    content = path.read_bytes()
    path.write_bytes(content[:-10])
    with pytest.raises(InputError, match="not safetensors"):
        load(path)
    save_file({"w": torch.zeros(1)}, path, metadata={"format": FORMAT, "model": "{not json"})
    with pytest.raises(InputError, match="'model' header is not JSON"):
        load(path)


def test_the_padding_bits_of_a_bitmask_must_be_zero():
    weight, mask = torch.ones(3, 3), torch.eye(3, dtype=torch.bool)
    _, parts = encode(weight, mask, kind="bitmask")
    parts["bits"][1] |= 0b10  # bit 9 of 9 entries
    with pytest.raises(InputError, match="bits past its 9 entries are set"):
        decode("bitmask", (3, 3), parts, "w")
    assert math.ceil(9 / 8) == len(parts["bits"])
