"""Tests for sparsernn.data.text: the pydoc topics corpus and its contiguous splits."""

from __future__ import annotations

import math
import pydoc_data.topics
from collections import Counter

import pytest

from sparsernn.data.sequences import StepStrings
from sparsernn.data.text import BLOCKS, pydoc_text, pydoc_text_dataset, unigram_entropy_bits
from sparsernn.errors import InputError

TOPICS = pydoc_data.topics.topics
TEXT = "\n".join(TOPICS[key] for key in sorted(TOPICS))
SIZE = len(TEXT) // 20
BLOCK_TEXTS = [TEXT[k * SIZE:(k + 1) * SIZE] for k in range(19)] + [TEXT[19 * SIZE:]]


@pytest.fixture(scope="module")
def default_data():
    return pydoc_text_dataset(seed=0)


def hand_chunks(block: str, length: int) -> list[tuple[str, str]]:
    """(inputs, targets) of one block: next character as target, nothing past the block."""
    out, i = [], 0
    while len(block) - i >= 2:
        inputs = block[i:min(i + length, len(block) - 1)]
        out.append((inputs, block[i + 1:i + 1 + len(inputs)]))
        i += length
    return out


def blocks_of(part: StepStrings, length: int) -> list[int]:
    """The blocks whose chunks, in text order, make up ``part`` exactly (else fail)."""
    pairs = list(zip(part.strings, ("".join(t) for t in part.targets)))
    found, i = [], 0
    for k, block in enumerate(BLOCK_TEXTS):
        chunks = hand_chunks(block, length)
        if pairs[i:i + len(chunks)] == chunks:
            found.append(k)
            i += len(chunks)
    assert i == len(pairs), "the split holds chunks that are not a block's"
    return found


# --------------------------------------------------------------------------- the text


def test_text_is_what_pydoc_data_ships():
    text = pydoc_text()
    assert text == TEXT
    assert len(text) == sum(map(len, TOPICS.values())) + len(TOPICS) - 1
    assert 300_000 < len(text) < 700_000 and 80 <= len(set(text)) <= 130  # 465,048 and 103 on 3.11.7


def test_unigram_entropy_matches_scipy():
    stats = pytest.importorskip("scipy.stats")
    counts = list(Counter(TEXT).values())
    assert unigram_entropy_bits(TEXT) == pytest.approx(stats.entropy(counts, base=2), rel=1e-12)


@pytest.mark.parametrize("text, bits", [
    ("a", 0.0), ("aaaa", 0.0), ("ab", 1.0), ("abcd", 2.0), ("aabb", 1.0),
    ("aab", -(2 / 3) * math.log2(2 / 3) - (1 / 3) * math.log2(1 / 3)),
    ("abcdefgh" * 3, 3.0),
])
def test_unigram_entropy_by_hand(text, bits):
    assert unigram_entropy_bits(text) == pytest.approx(bits, abs=1e-12)


@pytest.mark.parametrize("bad", ["", None, b"ab", 3])
def test_unigram_entropy_rejects_non_text(bad):
    with pytest.raises(InputError, match="'text' parameter of unigram_entropy_bits must be a non-empty str"):
        unigram_entropy_bits(bad)


# --------------------------------------------------------------------------- the splits


def test_default_dataset(default_data):
    data = default_data
    assert data.name == "pydoc-topics" and data.task == "language_model"
    assert data.classes == tuple(sorted(set(TEXT)))
    assert len(blocks_of(data.test, 100)) == 1 and len(blocks_of(data.validation, 100)) == 1
    assert len(blocks_of(data.train, 100)) == 18
    for part in data.splits().values():
        assert isinstance(part, StepStrings)
        assert max(part.lengths()) == 100 and min(part.lengths()) >= 1


def test_splits_are_disjoint_whole_blocks_that_cover_the_text(default_data):
    data = default_data
    found = {name: blocks_of(part, 100) for name, part in data.splits().items()}
    assert sorted(found["train"] + found["test"] + found["validation"]) == list(range(BLOCKS))
    assert found["train"] == sorted(found["train"])  # training blocks in text order


def test_chunks_reassemble_into_their_blocks_and_targets_are_shifted_inputs(default_data):
    for part in default_data.splits().values():
        i = 0
        for k in blocks_of(part, 100):
            n = math.ceil((len(BLOCK_TEXTS[k]) - 1) / 100)
            inputs, targets = part.strings[i:i + n], part.targets[i:i + n]
            assert all(len(s) == 100 for s in inputs[:-1])
            assert "".join(inputs) + targets[-1][-1] == BLOCK_TEXTS[k]
            for s, t in zip(inputs, targets):
                assert "".join(t)[:-1] == s[1:]  # the targets are the inputs shifted by one
            i += n


def test_test_targets_are_known_outputs(default_data):
    known = set(default_data.classes)
    assert all(c in known for t in default_data.test.targets for c in t)


@pytest.mark.parametrize("test_fraction, validation_fraction, sizes", [
    (0.05, 0.05, (18, 1, 1)),
    (0.1, 0.2, (14, 2, 4)),
    (0.025, 0.0, (19, 1, 0)),
    (0.0, 0.075, (18, 0, 2)),   # 1.5 blocks round up
    (0.45, 0.5, (1, 9, 10)),
])
def test_block_counts_follow_the_fractions(test_fraction, validation_fraction, sizes):
    data = pydoc_text_dataset(seed=1, chunk_length=2000, test_fraction=test_fraction,
                              validation_fraction=validation_fraction)
    got = (len(blocks_of(data.train, 2000)), len(blocks_of(data.test, 2000)),
           len(blocks_of(data.validation, 2000)) if data.validation is not None else 0)
    assert got == sizes
    assert (data.validation is None) == (validation_fraction == 0)


def test_seed_chooses_the_blocks_and_fixes_them():
    def choice(seed):
        data = pydoc_text_dataset(seed=seed, chunk_length=5000, test_fraction=0.1, validation_fraction=0.1)
        return tuple(blocks_of(data.test, 5000)), tuple(blocks_of(data.validation, 5000))

    assert choice(3) == choice(3)
    assert len({choice(seed) for seed in range(5)}) > 1


def test_chunk_length_and_partial_chunks():
    # The largest chunk: each block gives one chunk of all but its last character.
    big = len(TEXT) // 20 - 1
    data = pydoc_text_dataset(seed=0, chunk_length=big)
    assert len(data.train) + len(data.test) + len(data.validation) == 20 + (len(BLOCK_TEXTS[-1]) - 1 > big)
    # A block remainder of one character leaves no chunk; of two, a one-step chunk.
    assert hand_chunks("abcde", 2) == [("ab", "bc"), ("cd", "de")]
    assert hand_chunks("abcdef", 2) == [("ab", "bc"), ("cd", "de"), ("e", "f")]
    assert hand_chunks("a", 2) == []


@pytest.mark.parametrize("kwargs, match", [
    ({"seed": 0.5}, "'seed' parameter of pydoc_text_dataset must be an int"),
    ({"seed": 0, "chunk_length": 1}, r"'chunk_length' parameter of pydoc_text_dataset must be an int in \[2, "),
    ({"seed": 0, "chunk_length": len(TEXT) // 20}, "'chunk_length' parameter"),
    ({"seed": 0, "chunk_length": 10.0}, "'chunk_length' parameter"),
    ({"seed": 0, "test_fraction": -0.1}, "'test_fraction' parameter of pydoc_text_dataset must be a float"),
    ({"seed": 0, "validation_fraction": 1}, "'validation_fraction' parameter of pydoc_text_dataset"),
    ({"seed": 0, "test_fraction": 0.6, "validation_fraction": 0.4}, "must sum to less than 1"),
    ({"seed": 0, "test_fraction": 0.475, "validation_fraction": 0.5}, "leave no block for training"),
    ({"seed": 0, "test_fraction": 0.02}, "'test_fraction' parameter of pydoc_text_dataset must be 0 or at least"),
    ({"seed": 0, "validation_fraction": 0.01}, "'validation_fraction' parameter .* must be 0 or at least 0.025"),
])
def test_bad_options_are_one_line_errors(kwargs, match):
    with pytest.raises(InputError, match=match) as info:
        pydoc_text_dataset(**kwargs)
    assert "\n" not in str(info.value)
