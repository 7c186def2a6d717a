"""Tests for sparsernn.data.vocab.Vocabulary."""

from __future__ import annotations

import json

import pytest
import torch

from sparsernn.data import Vocabulary
from sparsernn.errors import InputError


def test_from_strings_sorts_the_distinct_symbols_after_pad_and_unk():
    vocab = Vocabulary.from_strings(["BTXSE", "BPVVE"])
    assert vocab.symbols == ("B", "E", "P", "S", "T", "V", "X")
    assert len(vocab) == 9
    assert (vocab.PAD, vocab.UNK) == (0, 1)
    assert [vocab.token(c) for c in "BEPSTVX"] == [2, 3, 4, 5, 6, 7, 8]
    assert vocab.token("A") == 1
    assert "B" in vocab and "A" not in vocab


def test_encode_pads_with_zeros_and_maps_unknown_symbols_to_1():
    vocab = Vocabulary.from_strings(["ab", "c"])  # a=2, b=3, c=4
    tokens, lengths = vocab.encode(["abc", "b", "zaz"])
    assert tokens.dtype == torch.long and lengths.dtype == torch.long
    assert tokens.tolist() == [[2, 3, 4], [3, 0, 0], [1, 2, 1]]
    assert lengths.tolist() == [3, 1, 3]


def test_encode_follows_the_vocabulary_order_not_code_points():
    vocab = Vocabulary.from_list(["x", "a"])  # x=2, a=3
    tokens, _ = vocab.encode(["ax", "xq"])
    assert tokens.tolist() == [[3, 2], [2, 1]]


def test_encode_handles_non_ascii_symbols():
    vocab = Vocabulary.from_strings(["αβ", "γ😀"])
    tokens, lengths = vocab.encode(["😀α", "β"])
    assert vocab.symbols == ("α", "β", "γ", "😀")
    assert tokens.tolist() == [[5, 2], [3, 0]] and lengths.tolist() == [2, 1]


def test_encode_decode_round_trip():
    strings = ["BTXSE", "BPVVE", "BTSSXXTVVE", "E"]
    vocab = Vocabulary.from_strings(strings)
    tokens, lengths = vocab.encode(strings)
    assert tokens.shape == (4, 10)
    assert [vocab.decode(t, n) for t, n in zip(tokens, lengths)] == strings
    assert (tokens[3, 1:] == 0).all()


def test_encode_empty_list():
    tokens, lengths = Vocabulary(["a"]).encode([])
    assert tokens.shape == (0, 0) and lengths.shape == (0,)


def test_decode_marks_unknown_and_rejects_padding_inside_the_length():
    vocab = Vocabulary(["a", "b"])
    assert vocab.decode(torch.tensor([2, 1, 3, 0]), 3) == "a\ufffdb"
    assert vocab.decode([2, 3]) == "ab"
    assert vocab.decode([2, 3, 0], torch.tensor(2)) == "ab"
    with pytest.raises(InputError, match="token 0 at position 1 is padding"):
        vocab.decode([2, 0, 0], 2)
    with pytest.raises(InputError, match="token 9 at position 0 is not a token id"):
        vocab.decode([9], 1)
    with pytest.raises(InputError, match=r"length must be an int in \[0, 2\]; got 3"):
        vocab.decode([2, 3], 3)


@pytest.mark.parametrize("strings, match", [
    ("BTXSE", "got a single str"),
    (["BTXSE", ""], r"strings\[1\] is empty"),
    (["BTXSE", 5], r"strings\[1\] must be a str"),
    (42, "expects a sequence of strings"),
])
def test_encode_rejects_bad_input(strings, match):
    with pytest.raises(InputError, match=match):
        Vocabulary(["B"]).encode(strings)


def test_to_list_from_list_round_trip_and_equality():
    vocab = Vocabulary.from_strings(["BTXSE", "BPVVE"])
    plain = json.loads(json.dumps(vocab.to_list()))
    assert plain == ["B", "E", "P", "S", "T", "V", "X"]
    again = Vocabulary.from_list(plain)
    assert again == vocab and hash(again) == hash(vocab)
    assert Vocabulary(["a", "b"]) != Vocabulary(["b", "a"])
    assert Vocabulary(["a"]) != ["a"]


@pytest.mark.parametrize("symbols, match", [
    (["a", "a"], "must be distinct; 'a'"),
    (["ab"], r"single characters; symbols\[0\] is 'ab'"),
    ([""], "single characters"),
    ([1], "single characters"),
    ("ab", "got a single str"),
])
def test_vocabulary_rejects_bad_symbols(symbols, match):
    with pytest.raises(InputError, match=match):
        Vocabulary(symbols)


def test_from_strings_and_from_list_errors():
    with pytest.raises(InputError, match="at least one string"):
        Vocabulary.from_strings([])
    with pytest.raises(InputError, match="is empty"):
        Vocabulary.from_strings(["ab", ""])
    with pytest.raises(InputError, match="expects a list of symbols"):
        Vocabulary.from_list({"a": 1})
