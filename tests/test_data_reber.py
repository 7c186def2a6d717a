"""Tests for sparsernn.data.reber: membership, counting, generation, negatives, datasets."""

from __future__ import annotations

import random
import re
import time
from itertools import product

import numpy as np
import pytest

from sparsernn.data import (
    FOREIGN_LETTERS,
    REBER_ALPHABET,
    count_reber,
    embedded_reber_dataset,
    generate_embedded_reber,
    generate_reber,
    is_embedded_reber,
    is_reber,
    make_negatives,
    reber_dataset,
)
from sparsernn.errors import InputError

# --------------------------------------------------------------------------- is_reber

@pytest.mark.parametrize("s", [
    "BTXSE",          # 0 -T-> 1 -X-> 2 -S-> end
    "BPVVE",          # 0 -P-> 5 -V-> 4 -V-> end
    "BTSSXXTVVE",     # S loop on 1, X 2 -> 5, T loop on 5
    "BTXXVVE",        # 2 -X-> 5
    "BPVPSE",         # 4 -P-> 2
    "BPTTVPXVVE",     # 4 -P-> 2 -X-> 5 again
])
def test_is_reber_accepts_valid_strings(s):
    assert is_reber(s)


@pytest.mark.parametrize("s, why", [
    ("", "empty"),
    ("B", "only B"),
    ("BE", "no transition"),
    ("TXSE", "does not start with B"),
    ("bTXSE", "lower-case B"),
    ("BTXS", "does not end with E"),
    ("BTXE", "E before the end state (state 2)"),
    ("BTXSEE", "a symbol after the final E"),
    ("BTXSET", "a symbol after the final E"),
    ("BTXSSE", "S after the end state"),
    ("BTXSE ", "trailing space"),
    ("BSXSE", "state 0 takes only T or P"),
    ("BTTXSE", "state 1 takes only S or X"),
    ("BTPXSE", "state 1 takes only S or X"),
    ("BTXTE", "state 2 takes only S or X"),
    ("BTXVE", "state 2 takes only S or X"),
    ("BPVSE", "state 4 takes only V or P"),
    ("BPVTE", "state 4 takes only V or P"),
    ("BPSE", "state 5 takes only T or V"),
    ("BPXVVE", "state 5 takes only T or V"),
    ("BTXSAE", "a foreign letter"),
])
def test_is_reber_rejects_invalid_strings(s, why):
    assert not is_reber(s), why


def test_is_reber_rejects_non_strings():
    with pytest.raises(InputError, match="expects a str"):
        is_reber(["B", "E"])


def test_is_embedded_reber():
    assert is_embedded_reber("BTBTXSETE")
    assert is_embedded_reber("BPBPVVEPE")
    assert not is_embedded_reber("BTBTXSEPE")   # outer letters differ
    assert not is_embedded_reber("BPBTXSETE")
    assert not is_embedded_reber("BSBTXSESE")   # outer letter must be T or P
    assert not is_embedded_reber("BTBTXXETE")   # inner string invalid
    assert not is_embedded_reber("BTXSE")       # a plain Reber string
    assert not is_embedded_reber("BTBTXSETEE")
    assert not is_embedded_reber("")
    with pytest.raises(InputError):
        is_embedded_reber(None)


# --------------------------------------------------------------------------- counting

def test_count_reber_matches_brute_force_enumeration():
    for length in range(3, 10):
        brute = sum(is_reber("B" + "".join(p) + "E") for p in product("TPSXV", repeat=length - 2))
        assert count_reber(length) == brute, length
    assert [count_reber(L) for L in (5, 6, 7)] == [2, 3, 4]
    assert count_reber(0) == count_reber(4) == 0


def test_count_embedded_reber_is_twice_the_inner_count():
    for length in range(9, 20):
        assert count_reber(length, embedded=True) == 2 * count_reber(length - 4)
    assert count_reber(8, embedded=True) == 0


# --------------------------------------------------------------------------- generation

def test_generate_reber_gives_distinct_valid_strings_in_range():
    strings = generate_reber(500, min_length=11, max_length=30, seed=3)
    assert len(strings) == 500 == len(set(strings))
    assert all(is_reber(s) for s in strings)
    assert all(11 <= len(s) <= 30 for s in strings)


def test_generate_reber_is_deterministic_and_seed_dependent():
    a = generate_reber(200, seed=0)
    assert a == generate_reber(200, seed=0)
    assert a == generate_reber(200, seed=np.random.default_rng(0))
    assert a != generate_reber(200, seed=1)


def test_generate_reber_draws_every_string_when_asked_for_all_of_them():
    # Exactly 2 + 3 Reber strings have at most 6 symbols.
    assert sorted(generate_reber(5, min_length=0, max_length=6, seed=0)) == [
        "BPTVVE", "BPVPSE", "BPVVE", "BTSXSE", "BTXSE",
    ]
    assert generate_reber(0, seed=0) == []


def test_generate_reber_exhausts_short_lengths_for_the_reference_protocol():
    # Only 24 strings have length 11 and 36 length 12: 12,500 distinct strings take all.
    lengths = np.array([len(s) for s in generate_reber(12_500, min_length=11, seed=0)])
    assert (lengths == 11).sum() == 24 and (lengths == 12).sum() == 36
    assert lengths.min() == 11


def test_generate_reber_first_strings_follow_the_random_walk_law():
    # Strings of length <= 6: two of length 5 (walk probability 1/8 each) and three of
    # length 6 (1/16 each); total 7/16. So the first string has length 5 with
    # probability (2/8)/(7/16) = 4/7, and the first two both have length 5 with
    # probability 4/7 * (1/8)/(1/8 + 3/16) = 8/35.
    runs = 2000
    first5 = both5 = 0
    for seed in range(runs):
        a, b = generate_reber(2, min_length=0, max_length=6, seed=seed)
        first5 += len(a) == 5
        both5 += len(a) == 5 and len(b) == 5
    for count, p in ((first5, 4 / 7), (both5, 8 / 35)):
        sd = (runs * p * (1 - p)) ** 0.5
        assert abs(count - runs * p) < 5 * sd


def test_generate_reber_is_uniform_within_a_length():
    # The four strings of length 7 are equally likely.
    runs = 800
    counts = {}
    for seed in range(runs):
        (s,) = generate_reber(1, min_length=7, max_length=7, seed=seed)
        counts[s] = counts.get(s, 0) + 1
    assert sorted(counts) == ["BPTTVVE", "BPTVPSE", "BTSSXSE", "BTXXVVE"]
    sd = (runs * 0.25 * 0.75) ** 0.5
    assert all(abs(c - runs / 4) < 5 * sd for c in counts.values())


def _rejection_reber(n, min_length, rng):
    """The literal procedure: walk, reject short strings and repeats."""
    table = {0: (("T", 1), ("P", 5)), 1: (("S", 1), ("X", 2)), 2: (("S", None), ("X", 5)),
             4: (("V", None), ("P", 2)), 5: (("T", 5), ("V", 4))}
    seen, out = set(), []
    while len(out) < n:
        s, state = "B", 0
        while state is not None:
            symbol, state = table[state][rng.getrandbits(1)]
            s += symbol
        s += "E"
        if len(s) >= min_length and s not in seen:
            seen.add(s)
            out.append(s)
    return out


def test_generate_reber_lengths_match_the_rejection_procedure():
    def histogram(strings_per_run):
        lengths = np.concatenate([[len(s) for s in run] for run in strings_per_run])
        return np.bincount(lengths, minlength=60)[:60] / len(strings_per_run)

    ours = histogram([generate_reber(300, min_length=11, seed=s) for s in range(30)])
    literal = histogram([_rejection_reber(300, 11, random.Random(s)) for s in range(30)])
    # 300 strings take nearly all 24 of length 11; the mass above spreads alike.
    assert ours[:11].sum() == literal[:11].sum() == 0
    assert 23 < ours[11] <= 24 and abs(ours[11] - literal[11]) < 0.5
    mean_length = lambda h: h.dot(np.arange(60)) / 300  # noqa: E731
    assert abs(mean_length(ours) - mean_length(literal)) < 0.3
    assert np.abs(ours - literal).max() < 4


def test_generate_reber_handles_long_minimum_lengths():
    strings = generate_reber(3, min_length=150, seed=0)  # counts beyond int64
    assert all(is_reber(s) and len(s) >= 150 for s in strings) and len(set(strings)) == 3


@pytest.mark.parametrize("kwargs, match", [
    (dict(n=-1), "'n' parameter of generate_reber must be an int >= 0; got -1"),
    (dict(n=2.0), "'n' parameter"),
    (dict(n=3, min_length=12, max_length=11), "'max_length' parameter of generate_reber must be >= min_length"),
    (dict(n=3, min_length=0, max_length=4), "at least 5, the length of the shortest Reber string"),
    (dict(n=6, min_length=0, max_length=6), "only 5 Reber strings with lengths in \\[0, 6\\]"),
    (dict(n=3, seed="x"), "'seed' parameter of generate_reber must be an int or a numpy.random.Generator"),
])
def test_generate_reber_rejects_impossible_requests(kwargs, match):
    kwargs.setdefault("seed", 0)
    with pytest.raises(InputError, match=match):
        generate_reber(**kwargs)


def test_generate_embedded_reber():
    strings = generate_embedded_reber(400, seed=2)
    assert len(set(strings)) == 400
    assert all(is_embedded_reber(s) and len(s) >= 11 for s in strings)
    assert {s[1] for s in strings} == {"T", "P"}
    assert strings == generate_embedded_reber(400, seed=2)
    # The shortest: BxBTXSExE and BxBPVVExE.
    assert sorted(generate_embedded_reber(4, min_length=0, max_length=9, seed=0)) == [
        "BPBPVVEPE", "BPBTXSEPE", "BTBPVVETE", "BTBTXSETE",
    ]
    with pytest.raises(InputError, match="shortest embedded Reber string"):
        generate_embedded_reber(1, max_length=8, min_length=0, seed=0)


# --------------------------------------------------------------------------- negatives

@pytest.fixture(scope="module")
def positives():
    return generate_reber(300, seed=10)


def _one_substitution_from(s, pool):
    return any(s[:i] + c + s[i + 1:] in pool for i in range(1, len(s) - 1) for c in REBER_ALPHABET)


def test_grammar_negatives_break_exactly_one_symbol(positives):
    negatives = make_negatives(positives, 400, seed=0)
    pool = set(positives)
    assert len(set(negatives)) == 400 and not pool & set(negatives)
    for s in negatives:
        assert set(s) <= set(REBER_ALPHABET)
        assert s[0] == "B" and s[-1] == "E"
        assert not is_reber(s)
        assert _one_substitution_from(s, pool)


def test_grammar_negatives_keep_the_length_distribution(positives):
    negatives = make_negatives(positives, 300, seed=1)
    pos_mean = np.mean([len(s) for s in positives])
    neg_mean = np.mean([len(s) for s in negatives])
    assert abs(neg_mean - pos_mean) < 0.1 * pos_mean
    assert min(len(s) for s in negatives) >= 11


def test_negatives_respect_exclude(positives):
    first = make_negatives(positives, 100, seed=5)
    second = make_negatives(positives, 100, seed=5, exclude=set(first))
    assert not set(first) & set(second)
    assert first == make_negatives(positives, 100, seed=5)


def test_foreign_negatives_contain_foreign_letters(positives):
    negatives = make_negatives(positives, 300, kind="foreign", seed=2)
    assert len(set(negatives)) == 300
    for s in negatives:
        foreign = [c for c in s if c not in REBER_ALPHABET]
        assert 1 <= len(foreign) <= 3 and set(foreign) <= set(FOREIGN_LETTERS)
        assert s[0] == "B" and s[-1] == "E"
    assert set(FOREIGN_LETTERS).isdisjoint(REBER_ALPHABET) and len(FOREIGN_LETTERS) == 19


@pytest.mark.parametrize("n, fraction, expected_foreign", [(11, 0.5, 6), (10, 0.3, 3), (10, 0.0, 0), (10, 1.0, 10)])
def test_mixed_negatives_split_by_foreign_fraction(positives, n, fraction, expected_foreign):
    negatives = make_negatives(positives, n, kind="mixed", foreign_fraction=fraction, seed=3)
    foreign = [s for s in negatives if set(s) - set(REBER_ALPHABET)]
    assert len(negatives) == n and len(foreign) == expected_foreign
    assert not any(is_reber(s) for s in negatives)


def test_embedded_grammar_negatives_include_outer_swaps():
    positives = generate_embedded_reber(300, seed=4)
    negatives = make_negatives(positives, 2000, grammar="embedded", seed=4)
    assert not any(is_embedded_reber(s) for s in negatives)
    assert all(set(s) <= set(REBER_ALPHABET) and s[0] == "B" and s[-1] == "E" for s in negatives)
    swaps = [s for s in negatives if s[1] in "TP" and s[-2] in "TP" and s[1] != s[-2] and is_reber(s[2:-2])]
    assert 10 <= len(swaps) <= 200  # about 2.5% expected: 2 of ~20 positions, 1 of 4 letters


def test_make_negatives_errors(positives):
    with pytest.raises(InputError, match=r"positives\[1\] is 'BTXXE'"):
        make_negatives(["BTXSE", "BTXXE"], 1, seed=0)
    with pytest.raises(InputError, match="embedded Reber strings"):
        make_negatives(positives, 1, grammar="embedded", seed=0)
    expected = "'kind' parameter of make_negatives must be one of 'grammar', 'foreign', 'mixed'"
    with pytest.raises(InputError, match=expected):
        make_negatives(positives, 1, kind="noise", seed=0)
    with pytest.raises(InputError, match="'grammar' parameter"):
        make_negatives(positives, 1, grammar="dyck", seed=0)
    with pytest.raises(InputError, match="'foreign_fraction' parameter .* \\[0, 1\\]; got 1.5"):
        make_negatives(positives, 1, kind="mixed", foreign_fraction=1.5, seed=0)
    with pytest.raises(InputError, match="is empty"):
        make_negatives([], 1, seed=0)
    # BTXSE has 3 interior positions x 4 letters: at most 12 grammar negatives exist.
    with pytest.raises(InputError, match="found only .* distinct 'grammar' negatives"):
        make_negatives(["BTXSE"], 20, seed=0)
    assert make_negatives([], 0, seed=0) == []


# --------------------------------------------------------------------------- datasets

@pytest.fixture(scope="module")
def default_reber():
    start = time.perf_counter()
    data = reber_dataset(seed=0)
    return data, time.perf_counter() - start


def test_default_reber_dataset_is_the_reference_protocol(default_reber):
    data, seconds = default_reber
    assert seconds < 2.0
    assert data.name == "reber" and data.classes == ("invalid", "valid") and data.validation is None
    assert (len(data.train), len(data.test)) == (18_750, 6_250)
    assert int(data.train.labels.sum()) == 9_375 and int(data.test.labels.sum()) == 3_125
    everything = data.train.strings + data.test.strings
    assert len(set(everything)) == 25_000
    assert not set(data.train.strings) & set(data.test.strings)
    for split in (data.train, data.test):
        for s, label in zip(split.strings, split.labels):
            assert is_reber(s) == bool(label)
            assert len(s) >= 11 and set(s) <= set(REBER_ALPHABET) and s[0] == "B" and s[-1] == "E"


def test_reber_dataset_lengths_do_not_give_the_label_away(default_reber):
    data, _ = default_reber
    lengths = data.train.lengths()
    pos, neg = lengths[data.train.labels == 1], lengths[data.train.labels == 0]
    assert abs(pos.mean() - neg.mean()) < 0.1 * pos.mean()
    assert abs(np.median(pos) - np.median(neg)) <= 1


def test_reber_dataset_is_deterministic_and_seed_dependent(default_reber):
    data, _ = default_reber
    assert reber_dataset(seed=0) == data
    other = reber_dataset(seed=1)
    assert other.train.strings != data.train.strings


def test_reber_dataset_streams_are_independent():
    grammar = reber_dataset(400, seed=7)
    foreign = reber_dataset(400, negatives="foreign", seed=7)
    def positives(data):
        return {s for part in (data.train, data.test) for s, y in zip(part.strings, part.labels) if y}

    assert positives(grammar) == positives(foreign)


def test_reber_dataset_with_validation_and_balance():
    data = reber_dataset(1000, balance=0.3, test_fraction=0.2, validation_fraction=0.1, seed=2)
    sizes = [len(data.train), len(data.test), len(data.validation)]
    positives = [int(s.labels.sum()) for s in (data.train, data.test, data.validation)]
    assert sizes == [700, 200, 100] and positives == [210, 60, 30]
    assert len(set(data.train.strings + data.test.strings + data.validation.strings)) == 1000


def test_reber_dataset_foreign_and_mixed_negatives():
    foreign = reber_dataset(400, negatives="foreign", seed=3)
    negatives = [s for s, y in zip(foreign.train.strings, foreign.train.labels) if not y]
    assert negatives and all(set(s) - set(REBER_ALPHABET) for s in negatives)
    mixed = reber_dataset(400, negatives="mixed", foreign_fraction=0.25, seed=3)
    negatives = [s for part in (mixed.train, mixed.test) for s, y in zip(part.strings, part.labels) if not y]
    assert sum(bool(set(s) - set(REBER_ALPHABET)) for s in negatives) == 50  # 0.25 * 200


@pytest.mark.parametrize("kwargs, match", [
    (dict(negatives="x"),
     "The 'negatives' parameter of reber_dataset must be one of 'grammar', 'foreign', 'mixed', 'thesis'; got 'x'."),
    (dict(num_strings=1), "'num_strings' parameter of reber_dataset must be an int >= 2; got 1"),
    (dict(num_strings=True), "'num_strings' parameter"),
    (dict(min_length=0), "'min_length' parameter of reber_dataset must be an int >= 1"),
    (dict(min_length=12, max_length=11), "'max_length' parameter of reber_dataset must be an int >= 12; got 11"),
    (dict(balance=1.0), "'balance' parameter of reber_dataset must be a float in (0, 1)"),
    (dict(num_strings=3, balance=0.1), "at least one string of each class"),
    (dict(test_fraction=1.0), "'test_fraction' parameter of reber_dataset must be a float in [0, 1)"),
    (dict(test_fraction=0.5, validation_fraction=0.5), "must sum to less than 1"),
    (dict(foreign_fraction=-0.1), "'foreign_fraction' parameter of reber_dataset"),
    (dict(seed=1.5), "'seed' parameter of reber_dataset must be an int; got 1.5"),
    (dict(num_strings=100, min_length=5, max_length=6), "only 5 Reber strings with lengths in [5, 6]"),
])
def test_reber_dataset_validates_parameters(kwargs, match):
    kwargs.setdefault("seed", 0)
    kwargs.setdefault("num_strings", 100)
    with pytest.raises(InputError, match=re.escape(match)):
        reber_dataset(**kwargs)


def test_reber_dataset_requires_a_seed():
    with pytest.raises(TypeError):
        reber_dataset(100)


def test_default_embedded_reber_dataset():
    data = embedded_reber_dataset(seed=0)
    assert data.name == "embedded-reber"
    assert (len(data.train), len(data.test)) == (18_750, 6_250)
    assert int(data.train.labels.sum()) == 9_375 and int(data.test.labels.sum()) == 3_125
    assert len(set(data.train.strings + data.test.strings)) == 25_000
    for split in (data.train, data.test):
        for s, label in zip(split.strings, split.labels):
            assert is_embedded_reber(s) == bool(label)
            assert len(s) >= 11
    lengths = data.train.lengths()
    pos, neg = lengths[data.train.labels == 1], lengths[data.train.labels == 0]
    assert abs(pos.mean() - neg.mean()) < 0.1 * pos.mean()
    assert embedded_reber_dataset(200, seed=5) == embedded_reber_dataset(200, seed=5)
    assert embedded_reber_dataset(200, seed=5) != embedded_reber_dataset(200, seed=6)
    with pytest.raises(InputError, match="'negatives' parameter of embedded_reber_dataset"):
        embedded_reber_dataset(negatives="both", seed=0)


# --------------------------------------------------------------------------- thesis negatives

def _block_of(s):
    """The thesis block whose letters spell ``s`` (a walk of the automaton), or None."""
    from sparsernn.data import reber as R

    for name, _, letters in R._THESIS_BLOCKS:
        step = {}
        for (state, nxt), c in letters.items():
            step.setdefault(state, {})[c] = nxt
        state = 0
        for c in s[1:-1]:
            state = step.get(state, {}).get(c)
            if state is None:
                break
        if s[0] == "B" and s[-1] == "E" and state == R._END:
            return name
    return None


def test_thesis_negatives_have_the_thesis_mix_and_blocks():
    negatives = make_negatives([], 12_500, kind="thesis", seed=0)
    assert len(set(negatives)) == 12_500 and not any(is_reber(s) for s in negatives)
    foreign = [s for s in negatives if set(s) - set(REBER_ALPHABET)]
    assert len(foreign) == 7_000  # as in the thesis's reber_sequences.csv: 5,500 + 7,000
    blocks = [_block_of(s) for s in negatives]
    counts = {name: blocks.count(name) for name in set(blocks)}
    # F2 and F3 spell the walks that avoid two states alike, so a few may count as either
    assert abs(counts["R1"] - 1500) + abs(counts["R3"] - 500) + abs(counts["F1"] - 2000) == 0
    assert counts.get(None, 0) == 0 and abs(counts["F2"] + counts["F3"] - 3500) == 0


def test_thesis_negatives_respell_walks_by_hand():
    from sparsernn.data import reber as R

    # BTXSE walks 0 -T-> 1 -X-> 2 -S-> end; block R1 swaps state 0's letters (T <-> P),
    # F1 spells the same edges A, F, G.
    letters = {name: spelled for name, _, spelled in R._THESIS_BLOCKS}
    assert R._respell("BTXSE", letters["R1"]) == "BPXSE"
    assert R._respell("BTXSE", letters["F1"]) == "BAFGE"
    assert R._respell("BPVVE", letters["R4"]) == "BPXVE"  # 0 -P-> 5 -V-> 4 -V-> end; R4 spells 5 -> 4 as X


def test_thesis_negatives_lengths_follow_the_walks_law_and_scale():
    from scipy import stats

    from sparsernn.data import reber as R

    # each block is that many distinct walks: the lengths of generate_reber(count) per block
    negatives = make_negatives([], 3000, kind="thesis", seed=1)
    walks = [w for i, (_, count, _) in enumerate(R._THESIS_BLOCKS)
             for w in generate_reber(count * 3000 // 12_500, min_length=11, seed=100 + i)]
    assert len(walks) == 3000
    assert stats.ks_2samp([len(s) for s in negatives], [len(s) for s in walks]).pvalue > 1e-3
    assert min(len(s) for s in negatives) >= 11
    small = make_negatives([], 25, kind="thesis", seed=0)
    assert sum(bool(set(s) - set(REBER_ALPHABET)) for s in small) == 14  # 25 * 7000 / 12500, largest remainders
    assert make_negatives([], 25, kind="thesis", seed=0) == small


def test_thesis_negatives_exist_for_the_reber_grammar_only():
    with pytest.raises(InputError, match="Reber grammar only"):
        make_negatives(generate_embedded_reber(5, seed=0), 5, kind="thesis", grammar="embedded", seed=0)
