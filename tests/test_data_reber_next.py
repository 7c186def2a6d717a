"""Tests for sparsernn.data.reber_next: legal next symbols, the long-range step, the dataset.

The reference is the embedded Reber language enumerated by breadth-first search over an
automaton written here by hand from the state diagram in Hochreiter & Schmidhuber (1997,
Fig. 5, after Reber 1967), with the diagram's node numbers -- not from reber.py's tables.
"""

from __future__ import annotations

from collections import defaultdict, deque

import numpy as np
import pytest

from sparsernn.data import count_reber, is_embedded_reber, is_reber
from sparsernn.data.reber_next import REBER_NEXT_CLASSES, embedded_reber_next_dataset, legal_next, long_range_step
from sparsernn.data.sequences import StepStrings
from sparsernn.errors import InputError

# The Reber grammar as drawn: B enters node 1; node 6 is left by E.
REBER_DIAGRAM = {
    "in": {"B": 1},
    1: {"T": 2, "P": 3},
    2: {"S": 2, "X": 4},
    3: {"T": 3, "V": 5},
    4: {"X": 3, "S": 6},
    5: {"P": 4, "V": 6},
    6: {"E": "out"},
}


def embedded_automaton() -> tuple[dict, object, object]:
    """B, then T or P, a Reber string, the same letter again, E: (arcs, start, accept)."""
    arcs: dict = {"start": {"B": "outer"}, "outer": {"T": ("T", "in"), "P": ("P", "in")}}
    for letter in "TP":
        for node, out in REBER_DIAGRAM.items():
            arcs[(letter, node)] = {symbol: (letter, nxt) for symbol, nxt in out.items()}
        arcs[(letter, "out")] = {letter: "last"}
    arcs["last"] = {"E": "accept"}
    arcs["accept"] = {}
    return arcs, "start", "accept"


def enumerate_language(max_length: int) -> list[str]:
    """Every embedded Reber string of at most ``max_length`` symbols, by BFS over paths."""
    arcs, start, accept = embedded_automaton()
    out, queue = [], deque([("", start)])
    while queue:
        prefix, state = queue.popleft()
        if state == accept:
            out.append(prefix)
            continue
        if len(prefix) < max_length:
            queue.extend((prefix + symbol, nxt) for symbol, nxt in arcs[state].items())
    return out


def longest_shortest_completion() -> int:
    """The most symbols any state needs to reach acceptance (BFS backwards)."""
    arcs, start, accept = embedded_automaton()
    dist = {accept: 0}
    changed = True
    while changed:
        changed = False
        for state, out in arcs.items():
            best = min((dist[n] + 1 for n in out.values() if n in dist), default=None)
            if best is not None and dist.get(state, best + 1) > best:
                dist[state] = best
                changed = True
    assert set(dist) == set(arcs)  # every state can finish
    return max(dist.values())


CHECKED = 15                                   # every string up to this length is checked
MARGIN = longest_shortest_completion()         # 9: from "start", the shortest string
LANGUAGE = enumerate_language(CHECKED + MARGIN)
CHECKED_STRINGS = [s for s in LANGUAGE if len(s) <= CHECKED]


def followers(language: list[str]) -> dict[str, set[str]]:
    """Symbols that follow each prefix in some string of ``language``."""
    out: dict[str, set[str]] = defaultdict(set)
    for s in language:
        for k in range(len(s)):
            out[s[:k]].add(s[k])
    return out


FOLLOWERS = followers(LANGUAGE)


# --------------------------------------------------------------------------- the reference itself


def test_margin_is_the_shortest_string():
    assert MARGIN == 9 and min(map(len, LANGUAGE)) == 9


def test_enumeration_agrees_with_reber_py():
    assert len(CHECKED_STRINGS) > 50
    assert all(is_embedded_reber(s) for s in LANGUAGE)
    assert all(is_reber(s[2:-2]) for s in LANGUAGE)
    for length in range(CHECKED + MARGIN + 1):
        assert sum(len(s) == length for s in LANGUAGE) == count_reber(length, embedded=True)


def test_enumeration_rejects_what_reber_py_rejects():
    """One-symbol substitutions of checked strings are in the language iff is_embedded_reber says so."""
    language = set(LANGUAGE)
    for s in CHECKED_STRINGS:
        for i in range(len(s)):
            for c in REBER_NEXT_CLASSES:
                m = s[:i] + c + s[i + 1:]
                assert (m in language) == is_embedded_reber(m), m


# --------------------------------------------------------------------------- legal_next


def test_classes_are_the_sorted_alphabet():
    assert REBER_NEXT_CLASSES == ("B", "E", "P", "S", "T", "V", "X")


def test_legal_next_is_the_set_of_followers_for_every_prefix():
    """Exact: every prefix of a checked string plus one symbol can be finished within MARGIN
    more symbols, so the language up to CHECKED + MARGIN shows all its followers."""
    for s in CHECKED_STRINGS:
        targets = legal_next(s)
        assert len(targets) == len(s)
        for t, target in enumerate(targets):
            assert set(target) == FOLLOWERS.get(s[:t + 1], set()), (s, t)
            assert target == "".join(c for c in REBER_NEXT_CLASSES if c in target)  # in class order
        assert targets[-1] == ""


def test_legal_next_of_a_prefix_is_the_prefix_of_the_targets():
    for s in CHECKED_STRINGS[::7]:
        full = legal_next(s)
        for k in range(1, len(s) + 1):
            assert legal_next(s[:k]) == full[:k]


def test_legal_next_rejects_every_illegal_continuation():
    for s in CHECKED_STRINGS[::5]:
        for k in range(len(s) + 1):
            for c in REBER_NEXT_CLASSES + ("A",):
                if c not in FOLLOWERS.get(s[:k], set()):
                    with pytest.raises(InputError, match=rf"index {k} cannot follow"):
                        legal_next(s[:k] + c)


@pytest.mark.parametrize("bad", ["", None, 3, ["B"]])
def test_legal_next_rejects_non_strings(bad):
    with pytest.raises(InputError, match="'string' parameter of legal_next must be a non-empty str"):
        legal_next(bad)


def test_legal_next_messages_are_one_line():
    for bad in ("X", "BTBTXSETEE", "BTBTXSEPE"):
        with pytest.raises(InputError) as info:
            legal_next(bad)
        assert "\n" not in str(info.value)
    with pytest.raises(InputError, match="nothing may follow a whole string"):
        legal_next("BTBTXSETEE")


# --------------------------------------------------------------------------- the long-range step


def test_long_range_step_target_is_the_second_symbol():
    for s in CHECKED_STRINGS:
        step = long_range_step(s)
        assert step == len(s) - 3
        assert s[step] == "E" and s[step + 1] == s[1]  # after the inner E, before the outer letter
        assert legal_next(s)[step] == s[1]


def test_long_range_step_is_the_only_step_that_depends_on_the_second_symbol():
    for s in CHECKED_STRINGS:
        other = "TP"[s[1] == "T"]
        twin = s[0] + other + s[2:-2] + other + s[-1]
        differ = [t for t, (a, b) in enumerate(zip(legal_next(s), legal_next(twin))) if a != b]
        assert differ == [long_range_step(s)]


@pytest.mark.parametrize("bad", ["BTBTXSE", "BTBTXSEPE", "BTXSE", "", 7])
def test_long_range_step_rejects_what_is_not_a_whole_string(bad):
    with pytest.raises(InputError, match="'string' parameter of long_range_step must be an embedded Reber"):
        long_range_step(bad)


# --------------------------------------------------------------------------- the dataset


def test_dataset_sizes_and_contents():
    data = embedded_reber_next_dataset(num_strings=200, test_fraction=0.25, validation_fraction=0.1, seed=3)
    assert data.name == "embedded-reber-next" and data.task == "next_symbols"
    assert data.classes == REBER_NEXT_CLASSES
    assert (len(data.train), len(data.test), len(data.validation)) == (130, 50, 20)
    strings = []
    for part in data.splits().values():
        assert isinstance(part, StepStrings)
        for s, targets in zip(part.strings, part.targets):
            assert is_embedded_reber(s) and len(s) >= 11
            assert targets == legal_next(s)
            assert targets[long_range_step(s)] == s[1]
        strings += part.strings
    assert len(set(strings)) == 200  # distinct, so no string is in two splits


def test_dataset_is_determined_by_the_seed():
    a = embedded_reber_next_dataset(num_strings=60, seed=5)
    b = embedded_reber_next_dataset(num_strings=60, seed=5)
    c = embedded_reber_next_dataset(num_strings=60, seed=6)
    assert a.train.strings == b.train.strings and a.test.strings == b.test.strings
    assert a.train.targets == b.train.targets
    assert a.train.strings != c.train.strings
    assert a.validation is None and len(a.test) == 15


def test_dataset_length_range_and_both_outer_letters():
    data = embedded_reber_next_dataset(num_strings=300, min_length=9, max_length=20, seed=0)
    strings = data.train.strings + data.test.strings
    assert min(map(len, strings)) >= 9 and max(map(len, strings)) <= 20
    assert {s[1] for s in strings} == {"T", "P"}


def test_duplicate_rate_across_splits_is_zero():
    data = embedded_reber_next_dataset(num_strings=2000, validation_fraction=0.1, seed=0)
    train, test, val = (set(p.strings) for p in (data.train, data.test, data.validation))
    assert not (train & test) and not (train & val) and not (test & val)


@pytest.mark.parametrize("kwargs, match", [
    ({"seed": "0"}, "'seed' parameter of embedded_reber_next_dataset must be an int"),
    ({"seed": 0, "num_strings": 1}, "'num_strings' parameter of embedded_reber_next_dataset must be an int >= 2"),
    ({"seed": 0, "test_fraction": 1.0}, "'test_fraction' parameter of embedded_reber_next_dataset must be a float"),
    ({"seed": 0, "test_fraction": 0.5, "validation_fraction": 0.5}, "must sum to less than 1"),
    ({"seed": 0, "num_strings": 2, "test_fraction": 0.5, "validation_fraction": 0.3}, "leave no string for training"),
    ({"seed": 0, "min_length": 12, "max_length": 11}, "'max_length' parameter of embedded_reber_next_dataset"),
    ({"seed": 0, "num_strings": 20, "min_length": 9, "max_length": 10},
     "'max_length' parameter of embedded_reber_next_dataset leaves only 10 embedded Reber strings"),
])
def test_dataset_rejects_bad_options_in_one_line(kwargs, match):
    with pytest.raises(InputError, match=match) as info:
        embedded_reber_next_dataset(**kwargs)
    assert "\n" not in str(info.value)


def test_split_is_a_permutation_of_the_generated_strings():
    from sparsernn.data import generate_embedded_reber
    from sparsernn.seeding import derive_seed

    data = embedded_reber_next_dataset(num_strings=40, seed=9)
    expected = generate_embedded_reber(40, min_length=11, seed=derive_seed(9, "strings"))
    assert sorted(data.train.strings + data.test.strings) == sorted(expected)
    assert np.array_equal(np.sort(data.train.lengths()), np.sort([len(s) for s in data.train.strings]))
