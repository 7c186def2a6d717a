"""The Reber grammar and the embedded Reber grammar: membership, generation, datasets.

The Reber grammar is a small finite automaton over the alphabet ``B T P S X V E``.
Every string starts with ``B``, then follows the transitions below (states numbered
as in the usual drawing of the automaton; state 3 does not occur) until the end state,
which is followed by a final ``E``::

    state 0 (after B):  T -> 1,  P -> 5
    state 1:            S -> 1,  X -> 2
    state 2:            S -> end, X -> 5
    state 4:            V -> end, P -> 2
    state 5:            T -> 5,  V -> 4

An embedded Reber string is ``B T <reber> T E`` or ``B P <reber> P E``: the second
symbol must come back as the second-to-last one, across the whole inner string, which
makes it a test of long-range memory.

Examples
--------
>>> is_reber("BTXSE"), is_reber("BPVVE"), is_reber("BTSSXXTVVE"), is_reber("BTXXE")
(True, True, True, False)
>>> is_embedded_reber("BTBTXSETE"), is_embedded_reber("BTBTXSEPE")
(True, False)
>>> generate_reber(3, min_length=11, seed=0) == generate_reber(3, min_length=11, seed=0)
True

References
----------
.. [1] A. S. Reber, "Implicit learning of artificial grammars", Journal of Verbal
   Learning and Verbal Behavior 6(6), 855-863, 1967.
.. [2] S. Hochreiter and J. Schmidhuber, "Long short-term memory", Neural Computation
   9(8), 1735-1780, 1997 (the embedded Reber grammar as a benchmark).
"""

from __future__ import annotations

import heapq
import string
import threading
from collections.abc import Collection, Sequence

import numpy as np

from .. import seeding
from ..checks import check_choice, check_fraction, check_int
from ..errors import InputError
from ..seeding import derive_seed
from .strings import DatasetSplits, LabelledStrings, check_split_fractions, round_half_up, stratified_split

__all__ = [
    "REBER_ALPHABET",
    "FOREIGN_LETTERS",
    "is_reber",
    "is_embedded_reber",
    "count_reber",
    "generate_reber",
    "generate_embedded_reber",
    "make_negatives",
    "reber_dataset",
    "embedded_reber_dataset",
]

#: The seven symbols of the Reber grammars.
REBER_ALPHABET = "BTPSXVE"
#: Letters used for "foreign" negatives: A-Z without the Reber symbols.
FOREIGN_LETTERS = "".join(c for c in string.ascii_uppercase if c not in REBER_ALPHABET)

_END = 6
_STATES = 7  # 0..5 as in the drawing (3 unused) and _END
# Per state: the transition taken on a 0 and on a 1 (each with probability 1/2).
_TRANSITIONS = {
    0: (("T", 1), ("P", 5)),
    1: (("S", 1), ("X", 2)),
    2: (("S", _END), ("X", 5)),
    4: (("V", _END), ("P", 2)),
    5: (("T", 5), ("V", 4)),
}
_STEP = {state: dict(pair) for state, pair in _TRANSITIONS.items()}

# Numpy views of the automaton for vectorised unranking; unused states point to _END.
_NEXT = np.full((_STATES, 2), _END, dtype=np.int64)
_SYMBOL = np.zeros((_STATES, 2), dtype=np.uint8)
for _state, _pair in _TRANSITIONS.items():
    for _bit, (_sym, _nxt) in enumerate(_pair):
        _NEXT[_state, _bit] = _nxt
        _SYMBOL[_state, _bit] = ord(_sym)

_GRAMMARS = ("reber", "embedded")
_NEGATIVE_KINDS = ("grammar", "foreign", "mixed", "thesis")
_INT64_SAFE = 2**62


# --------------------------------------------------------------------------- membership


def is_reber(s: str) -> bool:
    """Return whether ``s`` is a string of the Reber grammar.

    The whole string must match: ``B``, a path of the automaton from state 0 to the end
    state, and ``E`` right after it, with nothing before or after.

    Examples
    --------
    >>> [is_reber(s) for s in ("BTXSE", "BPTVVE", "BTSXXVPSE")]
    [True, True, True]
    >>> [is_reber(s) for s in ("", "TXSE", "BTXS", "BTXSEE", "BTXSET", "BTSE")]
    [False, False, False, False, False, False]
    """
    if not isinstance(s, str):
        raise InputError(f"is_reber expects a str; got {type(s).__name__}.")
    if len(s) < 2 or s[0] != "B" or s[-1] != "E":
        return False
    state = 0
    for symbol in s[1:-1]:
        step = _STEP.get(state)  # None at the end state: a symbol after it is an error
        if step is None:
            return False
        state = step.get(symbol)
        if state is None:
            return False
    return state == _END


def is_embedded_reber(s: str) -> bool:
    """Return whether ``s`` is ``B T <reber> T E`` or ``B P <reber> P E``.

    Examples
    --------
    >>> is_embedded_reber("BPBPVVEPE"), is_embedded_reber("BPBPVVETE"), is_embedded_reber("BTBTXSE")
    (True, False, False)
    """
    if not isinstance(s, str):
        raise InputError(f"is_embedded_reber expects a str; got {type(s).__name__}.")
    return (len(s) >= 4 and s[0] == "B" and s[-1] == "E" and s[1] in "TP" and s[-2] == s[1]
            and is_reber(s[2:-2]))


# --------------------------------------------------------------------------- counting


class _Counts:
    """Exact path counts of the automaton, grown on demand (Python ints, no overflow).

    ``completions[r][s]``: paths of exactly ``r`` symbols from state ``s`` to the end.
    ``unfinished[m]``: paths of ``m`` symbols from state 0 that have not reached the end.
    """

    def __init__(self) -> None:
        self.completions = [[1 if s == _END else 0 for s in range(_STATES)]]
        self._front = [1 if s == 0 else 0 for s in range(_STATES)]
        self.unfinished = [1]
        self._lock = threading.Lock()

    def grow(self, r: int) -> None:
        with self._lock:  # threads may share the tables; appends must not interleave
            self._grow(r)

    def _grow(self, r: int) -> None:
        while len(self.completions) <= r:
            prev = self.completions[-1]
            self.completions.append([
                sum(prev[nxt] for _, nxt in _TRANSITIONS[s]) if s in _TRANSITIONS else 0
                for s in range(_STATES)
            ])
            front = [0] * _STATES
            for s, ways in enumerate(self._front):
                if ways and s in _TRANSITIONS:
                    for _, nxt in _TRANSITIONS[s]:
                        if nxt != _END:
                            front[nxt] += ways
            self._front = front
            self.unfinished.append(sum(front))


_COUNTS = _Counts()


class _Grammar:
    """Reber (``depth=0``) or embedded Reber (``depth=1``), by total string length.

    Under the random walk every string of length ``L`` has probability proportional to
    ``2**-L`` within a grammar, which is what makes the lengths the natural groups.
    """

    def __init__(self, name: str, depth: int) -> None:
        self.name = name
        self.depth = depth
        self.outer = 2 if depth else 1  # choices of the outer letter
        self.shortest = 5 + 4 * depth

    def interior(self, length: int) -> int:
        """Symbols of the inner Reber string between its B and E."""
        return length - 2 - 4 * self.depth

    def count(self, length: int) -> int:
        m = self.interior(length)
        if m < 0:
            return 0
        _COUNTS.grow(m)
        return self.outer * _COUNTS.completions[m][0]

    def tail_weight(self, cap: int, high: int | None, low: int) -> float:
        """Walk probability of all lengths in ``(cap, high]``, in units of that of one
        string of length ``low``."""
        if high is not None and high - cap <= 160:
            total = sum(self.count(L) << (high - L) for L in range(cap + 1, high + 1))
            return total / (1 << (high - low))
        # P(length > cap) = unfinished walks after the cap's interior, each 2**-interior;
        # beyond 160 more symbols the rest is below double precision (rate ~0.733 a step).
        m = self.interior(cap)
        _COUNTS.grow(m + 1)
        return self.outer * _COUNTS.unfinished[m] / (1 << (cap - low))

    def check(self, s: str) -> bool:
        return is_embedded_reber(s) if self.depth else is_reber(s)

    def label(self) -> str:
        return "embedded Reber" if self.depth else "Reber"


_REBER = _Grammar("reber", 0)
_EMBEDDED = _Grammar("embedded", 1)


def count_reber(length: int, *, embedded: bool = False) -> int:
    """Number of (embedded) Reber strings of exactly ``length`` symbols.

    Examples
    --------
    >>> [count_reber(L) for L in range(4, 12)]
    [0, 2, 3, 4, 7, 11, 16, 24]
    >>> count_reber(9, embedded=True)
    4
    """
    check_int(length, "length", "count_reber", minimum=0)
    return (_EMBEDDED if embedded else _REBER).count(length)


# --------------------------------------------------------------------------- generation


def _exponentials(rng: np.random.Generator):
    while True:
        yield from rng.standard_exponential(1024).tolist()


def _draw_lengths(grammar: _Grammar, n: int, low: int, high: int | None,
                  rng: np.random.Generator) -> list[int]:
    """Lengths of ``n`` distinct walks in order of first appearance (see generate_reber).

    An exponential race: every not-yet-drawn string of length ``L`` has a clock of rate
    ``2**-(L - low)`` (its walk probability, up to a constant); the first clock to ring
    is the next new string. Clocks are kept per length (a group rings at the sum of its
    strings' rates), and all lengths above the largest opened one share a single
    "tail" clock. When the tail rings, the string that rang lies above: its length is
    ``L`` with probability proportional to the weight at ``L`` among those left in the
    tail, and the lengths passed on the way are opened with fresh clocks, which is
    exact because exponential clocks that have not rung are memoryless. The unbounded
    range of lengths thus stays lazy.
    """
    clocks = _exponentials(rng)
    remaining: dict[int, int] = {}
    heap: list[tuple[float, int, int]] = []  # (time, is_tail, length)

    def rate(length: int) -> float:
        return remaining[length] / (1 << (length - low))

    def start_clock(now: float, clock_rate: float, is_tail: int, length: int) -> None:
        if clock_rate > 0.0:  # a rate that underflows belongs to lengths that never come up
            heapq.heappush(heap, (now + next(clocks) / clock_rate, is_tail, length))

    def ring_tail(top: int, now: float) -> int:
        """The tail above ``top`` rang at ``now``: find the length of the string that rang."""
        length = top
        while True:
            length += 1
            remaining[length] = grammar.count(length)
            more = high is None or length < high
            rest = grammar.tail_weight(length, high, low) if more else 0.0
            here = rate(length)
            if rng.random() * (here + rest) < here:
                remaining[length] -= 1
                start_clock(now, rate(length), 0, length)
                if more:
                    start_clock(now, rest, 1, length)
                return length
            start_clock(now, here, 0, length)

    remaining[low] = grammar.count(low)
    start_clock(0.0, rate(low), 0, low)
    if high is None or low < high:
        start_clock(0.0, grammar.tail_weight(low, high, low), 1, low)
    lengths: list[int] = []
    while len(lengths) < n:
        now, is_tail, length = heapq.heappop(heap)
        if is_tail:
            length = ring_tail(length, now)
        else:
            remaining[length] -= 1
            start_clock(now, rate(length), 0, length)
        lengths.append(length)
    return lengths


def _distinct_ranks(count: int, k: int, rng: np.random.Generator) -> list[int]:
    """``k`` distinct integers drawn uniformly from ``range(count)``, in random order."""
    if count < _INT64_SAFE:
        return rng.choice(count, size=k, replace=False).tolist()
    nbytes = (count.bit_length() + 7) // 8
    extra = 8 * nbytes - count.bit_length()
    ranks: list[int] = []
    seen: set[int] = set()
    while len(ranks) < k:
        r = int.from_bytes(rng.bytes(nbytes), "little") >> extra
        if r < count and r not in seen:
            seen.add(r)
            ranks.append(r)
    return ranks


def _unrank(grammar: _Grammar, length: int, ranks: list[int]) -> list[str]:
    """The strings of ``length`` at ``ranks`` in the lexicographic order of choices."""
    m = grammar.interior(length)
    _COUNTS.grow(m)
    inner_count = _COUNTS.completions[m][0]
    outer = [r // inner_count for r in ranks]
    inner = [r % inner_count for r in ranks]
    if inner_count < _INT64_SAFE:
        table = np.array([[min(c, _INT64_SAFE) for c in row] for row in _COUNTS.completions[:m]],
                         dtype=np.int64).reshape(m, _STATES)
        idx = np.array(inner, dtype=np.int64)
        state = np.zeros(len(idx), dtype=np.int64)
        symbols = np.empty((len(idx), m), dtype=np.uint8)
        for j in range(m):
            first = table[m - 1 - j, _NEXT[state, 0]]  # completions after taking bit 0
            bit = (idx >= first).astype(np.int64)
            idx -= first * bit
            symbols[:, j] = _SYMBOL[state, bit]
            state = _NEXT[state, bit]
        bodies = symbols.view(f"S{m}").ravel().astype(f"U{m}").tolist() if m else [""] * len(idx)
    else:
        bodies = []
        for r in inner:
            state, chars = 0, []
            for j in range(m):
                (sym0, next0), (sym1, next1) = _TRANSITIONS[state]
                first = _COUNTS.completions[m - 1 - j][next0]
                if r < first:
                    chars.append(sym0)
                    state = next0
                else:
                    r -= first
                    chars.append(sym1)
                    state = next1
            bodies.append("".join(chars))
    if grammar.depth:
        return [f"B{'TP'[o]}B{body}E{'TP'[o]}E" for o, body in zip(outer, bodies)]
    return [f"B{body}E" for body in bodies]


def _generate(func: str, grammar: _Grammar, n: object, min_length: object, max_length: object,
              seed: object) -> list[str]:
    n = check_int(n, "n", func, minimum=0)
    min_length = check_int(min_length, "min_length", func, minimum=0)
    if max_length is not None:
        max_length = check_int(max_length, "max_length", func, minimum=0)
        if max_length < min_length:
            raise InputError(
                f"The 'max_length' parameter of {func} must be >= min_length ({min_length}); got {max_length}."
            )
        if max_length < grammar.shortest:
            raise InputError(
                f"The 'max_length' parameter of {func} must be at least {grammar.shortest}, the length of the "
                f"shortest {grammar.label()} string; got {max_length}."
            )
    rng = seeding.rng(seed, func)
    low = max(min_length, grammar.shortest)
    if max_length is not None:
        available = 0
        for length in range(low, max_length + 1):
            available += grammar.count(length)
            if available >= n:
                break
        if available < n:
            raise InputError(
                f"There are only {available} {grammar.label()} strings with lengths in [{min_length}, "
                f"{max_length}]; {func} cannot draw {n} distinct ones (raise max_length or lower n)."
            )
    if n == 0:
        return []
    lengths = np.array(_draw_lengths(grammar, n, low, max_length, rng), dtype=np.int64)
    out = np.empty(n, dtype=object)
    for length in np.unique(lengths).tolist():
        where = np.flatnonzero(lengths == length)
        ranks = _distinct_ranks(grammar.count(length), len(where), rng)
        out[where] = _unrank(grammar, length, ranks)
    return out.tolist()


def generate_reber(n: int, *, min_length: int = 11, max_length: int | None = None,
                   seed: int | np.random.Generator) -> list[str]:
    """Draw ``n`` distinct Reber strings by random walks through the automaton.

    Parameters
    ----------
    n : int
        Number of strings, ``>= 0``.
    min_length, max_length : int, int or None
        Lengths (``B`` and ``E`` included) outside ``[min_length, max_length]`` are
        rejected; ``None`` means no upper bound. The shortest Reber string has 5 symbols.
    seed : int or numpy.random.Generator

    Returns
    -------
    list of str
        Distinct strings, in the order in which the walks first produce them.

    Raises
    ------
    InputError
        If a parameter is out of range, or fewer than ``n`` Reber strings have a length
        in the range (only possible with a ``max_length``).

    Notes
    -----
    The law is that of this procedure: walk from state 0, taking each of the two
    transitions with probability 1/2, until the end; reject the string if its length is
    out of range or it was seen before; stop at ``n`` strings. A string of length ``L``
    is walked with probability :math:`2^{-(L-2)}`, so all strings of one length are
    equally likely, and the procedure is simulated exactly without walking:

    1. an exponential race gives the length of each next new string (every unseen
       string of length ``L`` has a clock of rate :math:`2^{-L}`; the first to ring is
       the next new string);
    2. for each length, that many of its strings are drawn uniformly without
       replacement, in random order, and unranked from exact path counts.

    That takes milliseconds where the rejection loop needs about two million walks for
    the reference 12,500 strings of length at least 11, and it tells impossible
    requests (an error at once) apart from unlucky ones (which cannot happen).

    There are only 24 Reber strings of length 11, 36 of length 12 and about 1.47 times
    more for each further symbol (see :func:`count_reber`), so a large ``n`` draws every
    short string and reaches well beyond the typical walk length: 12,500 strings of
    length >= 11 have a mean length of about 24.

    Examples
    --------
    >>> strings = generate_reber(5, min_length=11, seed=0)
    >>> len(set(strings)), all(is_reber(s) and len(s) >= 11 for s in strings)
    (5, True)
    >>> sorted(generate_reber(2, min_length=0, max_length=5, seed=0))
    ['BPVVE', 'BTXSE']
    """
    return _generate("generate_reber", _REBER, n, min_length, max_length, seed)


def generate_embedded_reber(n: int, *, min_length: int = 11, max_length: int | None = None,
                            seed: int | np.random.Generator) -> list[str]:
    """Draw ``n`` distinct embedded Reber strings (``B T <reber> T E`` or ``B P <reber> P E``).

    The outer letter is ``T`` or ``P`` with probability 1/2 and the inner string is a
    random walk as in :func:`generate_reber`; ``min_length`` and ``max_length`` bound the
    whole string (the shortest has 9 symbols). Same parameters, law and errors as
    :func:`generate_reber`.

    Examples
    --------
    >>> strings = generate_embedded_reber(4, seed=1)
    >>> all(is_embedded_reber(s) and len(s) >= 11 for s in strings), len(set(strings))
    (True, 4)
    """
    return _generate("generate_embedded_reber", _EMBEDDED, n, min_length, max_length, seed)


# --------------------------------------------------------------------------- negatives

_SUBSTITUTES = {c: "".join(x for x in "TPSXV" if x != c) for c in REBER_ALPHABET}
_BLOCK = 4096


def _attempt_budget(count: int) -> int:
    return 1000 * count + 10_000


def _grammar_negatives(grammar: _Grammar, bases: Sequence[str], count: int, taken: set[str],
                       rng: np.random.Generator) -> list[str]:
    out: list[str] = []
    budget = _attempt_budget(count)
    attempts = 0
    while len(out) < count and attempts < budget:
        picks = rng.integers(len(bases), size=_BLOCK).tolist()
        where = rng.random(_BLOCK).tolist()
        which = rng.random(_BLOCK).tolist()
        for b, u, v in zip(picks, where, which):
            attempts += 1
            s = bases[b]
            pos = 1 + int(u * (len(s) - 2))
            subs = _SUBSTITUTES[s[pos]]
            candidate = s[:pos] + subs[int(v * len(subs))] + s[pos + 1:]
            if candidate not in taken and not grammar.check(candidate):
                taken.add(candidate)
                out.append(candidate)
                if len(out) == count:
                    break
            if attempts >= budget:
                break
    if len(out) < count:
        raise InputError(
            f"make_negatives found only {len(out)} distinct 'grammar' negatives in {budget} attempts, "
            f"{count} were asked for; give more (or longer) positives or ask for fewer negatives."
        )
    return out


def _foreign_negatives(bases: Sequence[str], count: int, taken: set[str],
                       rng: np.random.Generator) -> list[str]:
    out: list[str] = []
    budget = _attempt_budget(count)
    attempts = 0
    while len(out) < count and attempts < budget:
        picks = rng.integers(len(bases), size=_BLOCK).tolist()
        ks = rng.integers(1, 4, size=_BLOCK).tolist()
        where = rng.random((_BLOCK, 3)).tolist()
        letters = rng.integers(len(FOREIGN_LETTERS), size=(_BLOCK, 3)).tolist()
        for b, k, us, ls in zip(picks, ks, where, letters):
            attempts += 1
            chars = list(bases[b])
            for u, letter in zip(us[:k], ls[:k]):
                chars[1 + int(u * (len(chars) - 2))] = FOREIGN_LETTERS[letter]
            candidate = "".join(chars)
            if candidate not in taken:
                taken.add(candidate)
                out.append(candidate)
                if len(out) == count:
                    break
            if attempts >= budget:
                break
    if len(out) < count:
        raise InputError(
            f"make_negatives found only {len(out)} distinct 'foreign' negatives in {budget} attempts, "
            f"{count} were asked for; give more (or longer) positives or ask for fewer negatives."
        )
    return out


# The reference thesis's negatives (measured on its reber_sequences.csv): eight blocks of
# distinct random walks on the Reber automaton, each spelled with its own letters. Per
# block: its name, its number of strings out of the thesis's 12,500 negatives, and the
# letter of every transition (state, next state) -- states numbered as in _TRANSITIONS.
# R1-R4 use Reber letters only (one or two states' letters swapped), F1-F4 foreign ones.
_THESIS_BLOCKS: tuple[tuple[str, int, dict[tuple[int, int], str]], ...] = tuple(
    (name, count, dict(zip(((0, 1), (0, 5), (1, 1), (1, 2), (5, 5), (5, 4), (2, 5), (2, _END), (4, 2), (4, _END)),
                           letters)))
    for name, count, letters in (
        ("R1", 1500, "PTSXTVXSPV"),
        ("R2", 1500, "TPSXTVPVXS"),
        ("R3", 500, "TPXSVTXSPV"),
        ("R4", 2000, "TPTVSXXSPV"),
        ("F1", 2000, "ACDFJIHGLK"),
        ("F2", 2000, "MNOQWVURZY"),
        ("F3", 1500, "MNOQCAURFD"),
        ("F4", 1500, "QOMNCAURFD"),
    )
)


def _respell(s: str, letters: dict[tuple[int, int], str]) -> str:
    """Spell the Reber string ``s`` with ``letters`` along the same path of the automaton."""
    state, out = 0, ["B"]
    for symbol in s[1:-1]:
        nxt = _STEP[state][symbol]
        out.append(letters[(state, nxt)])
        state = nxt
    return "".join(out) + "E"


def _thesis_negatives(n: int, min_length: int, max_length: int | None, taken: set[str],
                      rng: np.random.Generator) -> list[str]:
    total = sum(count for _, count, _ in _THESIS_BLOCKS)
    shares = [n * count / total for _, count, _ in _THESIS_BLOCKS]
    counts = [int(share) for share in shares]  # largest remainders get the rest
    for i in sorted(range(len(shares)), key=lambda i: counts[i] - shares[i])[: n - sum(counts)]:
        counts[i] += 1
    out: list[str] = []
    for (name, _, letters), count in zip(_THESIS_BLOCKS, counts):
        walks = _generate("make_negatives", _REBER, 2 * count + 10, min_length, max_length, rng)
        block = []
        for walk in walks:  # the first new strings in walk order: the law of `count` walks
            candidate = _respell(walk, letters)
            if candidate not in taken:
                taken.add(candidate)
                block.append(candidate)
                if len(block) == count:
                    break
        if len(block) < count:
            raise InputError(f"make_negatives found only {len(block)} distinct 'thesis' negatives of block {name}, "
                             f"{count} were asked for; raise max_length or ask for fewer negatives.")
        out += block
    return out


def make_negatives(
    positives: Sequence[str],
    n: int,
    *,
    kind: str = "grammar",
    grammar: str = "reber",
    foreign_fraction: float = 0.5,
    min_length: int = 11,
    max_length: int | None = None,
    exclude: Collection[str] = (),
    seed: int | np.random.Generator,
) -> list[str]:
    """Make ``n`` distinct strings outside the grammar, by corrupting valid ones or as the
    reference thesis made them.

    Each ``grammar``, ``foreign`` or ``mixed`` negative starts from a string drawn
    uniformly (with replacement) from ``positives``, so negatives have the positives'
    length distribution and the length of a string says nothing about its label.

    Parameters
    ----------
    positives : sequence of str
        Valid strings of ``grammar``; they are the starting points and are never
        returned.
    n : int
        Number of negatives, ``>= 0``.
    kind : {"grammar", "foreign", "mixed", "thesis"}
        ``"grammar"``: substitute one interior symbol (any position but the first and
        the last) by another of ``T P S X V`` and keep the result only if the grammar
        rejects it. The string keeps the Reber alphabet, its leading ``B`` and trailing
        ``E``, so only the transitions give it away. In the embedded grammar the outer
        letters are interior too, which yields the hard ``B T ... P E`` negatives.
        ``"foreign"``: replace 1 to 3 interior symbols (the count uniform, the
        positions drawn with replacement, so at least one) by letters outside the Reber
        alphabet (:data:`FOREIGN_LETTERS`).
        ``"mixed"``: ``round(foreign_fraction * n)`` (halves up) foreign negatives and
        the rest grammar negatives, shuffled together.
        ``"thesis"`` (Reber grammar only): the reference thesis's negatives. They are
        not corruptions of positives but random walks of their own: eight blocks, each
        ``generate_reber(count, min_length=min_length, max_length=max_length)`` walks
        spelled with other letters along the same path -- four blocks with Reber
        letters (5,500 of the thesis's 12,500: one or two states' letters swapped, so
        the first illegal transition is early, at symbol 3 on average) and four with
        foreign letters (7,000; a copy of the automaton spelled with other letters).
        The block sizes scale with ``n`` (largest remainders). Walks shorter than the
        positives' typical length dominate, as in the thesis (its negatives have a
        median length of 18, its positives 23), so length alone separates the classes
        better than chance. Strings drawn twice (across blocks) are redrawn.
    grammar : {"reber", "embedded"}
        Which grammar ``positives`` belong to and negatives must break.
    foreign_fraction : float in [0, 1]
        Share of foreign negatives when ``kind="mixed"``; ignored otherwise.
    min_length, max_length : int, int or None
        The walks' length range when ``kind="thesis"``; ignored otherwise.
    exclude : collection of str
        Strings that must not be returned (e.g. negatives already in use).
    seed : int or numpy.random.Generator

    Returns
    -------
    list of str

    Raises
    ------
    InputError
        If a parameter is invalid, a positive is not in ``grammar``, or ``n`` distinct
        negatives are not found within ``1000 * n + 10000`` attempts per kind.

    Examples
    --------
    >>> positives = generate_reber(50, seed=0)
    >>> negatives = make_negatives(positives, 20, seed=1)
    >>> any(is_reber(s) for s in negatives), len(set(negatives)), set("".join(negatives)) <= set(REBER_ALPHABET)
    (False, 20, True)
    >>> foreign = make_negatives(positives, 5, kind="foreign", seed=1)
    >>> all(set(s) - set(REBER_ALPHABET) for s in foreign)
    True
    >>> thesis = make_negatives(positives, 25, kind="thesis", seed=1)
    >>> sum(bool(set(s) - set(REBER_ALPHABET)) for s in thesis), any(is_reber(s) for s in thesis)
    (14, False)
    """
    func = "make_negatives"
    n = check_int(n, "n", func, minimum=0)
    kind = check_choice(kind, "kind", func, _NEGATIVE_KINDS)
    grammar_name = check_choice(grammar, "grammar", func, _GRAMMARS)
    foreign_fraction = check_fraction(foreign_fraction, "foreign_fraction", func)
    if isinstance(positives, str):
        raise InputError(f"The 'positives' parameter of {func} must be a sequence of strings; got a single str.")
    positives = list(positives)
    rules = _EMBEDDED if grammar_name == "embedded" else _REBER
    if kind == "thesis" and rules is not _REBER:
        raise InputError(f"The 'kind' parameter of {func} is 'thesis', whose negatives exist for the Reber grammar "
                         "only; use 'grammar', 'foreign' or 'mixed' with the embedded grammar.")
    for i, s in enumerate(positives):
        if not isinstance(s, str) or not rules.check(s):
            raise InputError(
                f"The 'positives' parameter of {func} must hold {rules.label()} strings; positives[{i}] is {s!r}."
            )
    if isinstance(exclude, str):
        raise InputError(f"The 'exclude' parameter of {func} must be a collection of strings; got a single str.")
    rng = seeding.rng(seed, func)
    if n == 0:
        return []
    if not positives and kind != "thesis":
        raise InputError(f"The 'positives' parameter of {func} is empty; negatives are made from positives.")

    taken = set(positives) | set(exclude)
    if kind == "thesis":
        return _thesis_negatives(n, min_length, max_length, taken, rng)
    n_foreign = {"grammar": 0, "foreign": n, "mixed": round_half_up(foreign_fraction * n)}[kind]
    out = _grammar_negatives(rules, positives, n - n_foreign, taken, rng) if n > n_foreign else []
    if n_foreign:
        out += _foreign_negatives(positives, n_foreign, taken, rng)
    if kind == "mixed":
        out = [out[i] for i in rng.permutation(n).tolist()]
    return out


# --------------------------------------------------------------------------- datasets


def _dataset(func: str, name: str, grammar: _Grammar, *, num_strings, min_length, max_length, negatives,
             foreign_fraction, balance, test_fraction, validation_fraction, seed) -> DatasetSplits:
    num_strings = check_int(num_strings, "num_strings", func, minimum=2)
    min_length = check_int(min_length, "min_length", func, minimum=1)
    if max_length is not None:
        max_length = check_int(max_length, "max_length", func, minimum=min_length)
    negatives = check_choice(negatives, "negatives", func, _NEGATIVE_KINDS)
    foreign_fraction = check_fraction(foreign_fraction, "foreign_fraction", func)
    balance = check_fraction(balance, "balance", func, low_open=True, high_open=True)
    # Checked here too so that the message names this function, not stratified_split.
    test_fraction, validation_fraction = check_split_fractions(test_fraction, validation_fraction, func)
    seed = check_int(seed, "seed", func)
    n_pos = round_half_up(balance * num_strings)
    n_neg = num_strings - n_pos
    if n_pos < 1 or n_neg < 1:
        raise InputError(
            f"The 'balance' parameter of {func} must leave at least one string of each class; got "
            f"balance={balance} with num_strings={num_strings} ({n_pos} positive, {n_neg} negative)."
        )

    positives = _generate(func, grammar, n_pos, min_length, max_length, derive_seed(seed, "positives"))
    negative_strings = make_negatives(
        positives, n_neg, kind=negatives, grammar=grammar.name, foreign_fraction=foreign_fraction,
        min_length=min_length, max_length=max_length, seed=derive_seed(seed, "negatives"),
    )
    labels = np.concatenate([np.ones(n_pos, dtype=np.int64), np.zeros(n_neg, dtype=np.int64)])
    data = LabelledStrings(tuple(positives) + tuple(negative_strings), labels)
    train, test, validation = stratified_split(
        data, test_fraction=test_fraction, validation_fraction=validation_fraction,
        seed=derive_seed(seed, "split"),
    )
    return DatasetSplits(name, train, test, validation, ("invalid", "valid"))


def reber_dataset(
    num_strings: int = 25_000,
    *,
    min_length: int = 11,
    max_length: int | None = None,
    negatives: str = "grammar",
    foreign_fraction: float = 0.5,
    balance: float = 0.5,
    test_fraction: float = 0.25,
    validation_fraction: float = 0.0,
    seed: int,
) -> DatasetSplits:
    """The Reber classification task: tell Reber strings (label 1) from near misses (0).

    The defaults are the reference protocol: 25,000 distinct strings of length at least
    11, half of them valid, grammar negatives, a stratified 75/25 train/test split.

    Parameters
    ----------
    num_strings : int
        Strings in all splits together, ``>= 2``.
    min_length, max_length : int, int or None
        Length range of the positives (see :func:`generate_reber`); negatives are
        corruptions of positives and have the same lengths, except ``"thesis"``
        negatives, walks of their own in the same range.
    negatives : {"grammar", "foreign", "mixed", "thesis"}
        How negatives are made (see :func:`make_negatives`).
    foreign_fraction : float in [0, 1]
        Share of foreign negatives when ``negatives="mixed"``.
    balance : float in (0, 1)
        Fraction of positives: ``round(balance * num_strings)``, halves up; each class
        needs at least one string.
    test_fraction, validation_fraction : float
        Passed to :func:`~sparsernn.data.strings.stratified_split`; a validation
        fraction of 0 means no validation split.
    seed : int
        Positives, negatives and the split draw from
        ``derive_seed(seed, "positives")``, ``derive_seed(seed, "negatives")`` and
        ``derive_seed(seed, "split")``.

    Returns
    -------
    DatasetSplits
        Named ``"reber"``, classes ``("invalid", "valid")``. No string occurs twice, so
        no string is in two splits.

    Examples
    --------
    >>> data = reber_dataset(100, seed=0)
    >>> len(data.train), len(data.test), int(data.train.labels.sum()), int(data.test.labels.sum())
    (75, 25, 38, 12)
    >>> set(data.train.strings) & set(data.test.strings)
    set()
    """
    return _dataset(
        "reber_dataset", "reber", _REBER, num_strings=num_strings, min_length=min_length,
        max_length=max_length, negatives=negatives, foreign_fraction=foreign_fraction, balance=balance,
        test_fraction=test_fraction, validation_fraction=validation_fraction, seed=seed,
    )


def embedded_reber_dataset(
    num_strings: int = 25_000,
    *,
    min_length: int = 11,
    max_length: int | None = None,
    negatives: str = "grammar",
    foreign_fraction: float = 0.5,
    balance: float = 0.5,
    test_fraction: float = 0.25,
    validation_fraction: float = 0.0,
    seed: int,
) -> DatasetSplits:
    """The embedded Reber task: like :func:`reber_dataset` with the embedded grammar.

    Named ``"embedded-reber"``. Grammar negatives include ``B T <reber> P E`` strings,
    which only a model that remembers the second symbol can reject.

    Examples
    --------
    >>> data = embedded_reber_dataset(40, seed=0)
    >>> data.name, all(is_embedded_reber(s) for s, y in zip(data.train.strings, data.train.labels) if y)
    ('embedded-reber', True)
    """
    return _dataset(
        "embedded_reber_dataset", "embedded-reber", _EMBEDDED, num_strings=num_strings,
        min_length=min_length, max_length=max_length, negatives=negatives,
        foreign_fraction=foreign_fraction, balance=balance, test_fraction=test_fraction,
        validation_fraction=validation_fraction, seed=seed,
    )
