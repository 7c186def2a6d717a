"""A vocabulary of symbols, built from data, that turns strings into padded token tensors.

Token 0 is padding, token 1 stands for any symbol the vocabulary has not seen, and the
symbols themselves (single characters) are tokens 2, 3, ... in the vocabulary's order.

Example
-------
>>> vocab = Vocabulary.from_strings(["BTXSE", "BPVVE"])
>>> vocab.symbols, len(vocab)
(('B', 'E', 'P', 'S', 'T', 'V', 'X'), 9)
>>> tokens, lengths = vocab.encode(["BTE", "BA"])
>>> tokens.tolist(), lengths.tolist()
([[2, 6, 3], [2, 1, 0]], [3, 2])
>>> vocab.decode(tokens[0], 3)
'BTE'
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import torch

from ..checks import is_int
from ..errors import InputError

__all__ = ["Vocabulary"]


def _check_strings(strings: object, func: str) -> list[str]:
    if isinstance(strings, str):
        raise InputError(f"{func} expects a sequence of strings; got a single str (wrap it in a list).")
    try:
        strings = list(strings)
    except TypeError:
        raise InputError(f"{func} expects a sequence of strings; got {type(strings).__name__}.") from None
    for i, s in enumerate(strings):
        if not isinstance(s, str):
            raise InputError(f"{func}: strings[{i}] must be a str; got {s!r}.")
        if not s:
            raise InputError(f"{func}: strings[{i}] is empty; every string needs at least one symbol.")
    return strings


class Vocabulary:
    """Symbols (single characters) and their token ids.

    Build one with :meth:`from_strings` (from training data) or :meth:`from_list` (from
    a checkpoint's :meth:`to_list`).

    Attributes
    ----------
    symbols : tuple of str
        The known symbols; ``symbols[i]`` has token id ``i + 2``.
    PAD, UNK : int
        Token ids 0 (padding) and 1 (a symbol not in the vocabulary).
    """

    PAD = 0
    UNK = 1
    PAD_SYMBOL = "<pad>"
    UNK_SYMBOL = "<unk>"

    def __init__(self, symbols: Sequence[str]) -> None:
        if isinstance(symbols, str):
            raise InputError("Vocabulary expects a list of symbols; got a single str (use list('...')).")
        symbols = tuple(symbols)
        for i, s in enumerate(symbols):
            if not isinstance(s, str) or len(s) != 1:
                raise InputError(f"Vocabulary symbols must be single characters; symbols[{i}] is {s!r}.")
        if len(set(symbols)) != len(symbols):
            repeated = sorted({s for s in symbols if symbols.count(s) > 1})
            raise InputError(f"Vocabulary symbols must be distinct; {repeated[0]!r} occurs more than once.")
        self._symbols = symbols
        self._index = {s: i + 2 for i, s in enumerate(symbols)}
        # Sorted code points and their token ids, for vectorised encoding.
        codes = np.array([ord(s) for s in symbols], dtype=np.uint32)
        order = np.argsort(codes, kind="stable")
        self._codes = codes[order]
        self._code_tokens = (order + 2).astype(np.int64)

    @classmethod
    def from_strings(cls, strings: Iterable[str]) -> Vocabulary:
        """The vocabulary of every symbol in ``strings``, sorted by code point.

        >>> Vocabulary.from_strings(["ba", "ac"]).symbols
        ('a', 'b', 'c')
        """
        strings = _check_strings(strings, "Vocabulary.from_strings")
        if not strings:
            raise InputError("Vocabulary.from_strings needs at least one string.")
        return cls(sorted(set().union(*strings)))

    @classmethod
    def from_list(cls, symbols: Sequence[str]) -> Vocabulary:
        """Rebuild a vocabulary from :meth:`to_list`; the order of ``symbols`` is kept."""
        if not isinstance(symbols, (list, tuple)):
            raise InputError(f"Vocabulary.from_list expects a list of symbols; got {type(symbols).__name__}.")
        return cls(symbols)

    def to_list(self) -> list[str]:
        """The symbols as a plain list (JSON-able), in token order.

        >>> Vocabulary.from_list(Vocabulary(["x", "a"]).to_list()) == Vocabulary(["x", "a"])
        True
        """
        return list(self._symbols)

    @property
    def symbols(self) -> tuple[str, ...]:
        return self._symbols

    def __len__(self) -> int:
        """Number of token ids, padding and unknown included (the embedding's size)."""
        return len(self._symbols) + 2

    def __contains__(self, symbol: object) -> bool:
        return symbol in self._index

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Vocabulary):
            return NotImplemented
        return self._symbols == other._symbols

    def __hash__(self) -> int:
        return hash(self._symbols)

    def __repr__(self) -> str:
        return f"Vocabulary({''.join(self._symbols)!r})"

    def token(self, symbol: str) -> int:
        """Token id of ``symbol`` (``UNK`` for a symbol not in the vocabulary)."""
        return self._index.get(symbol, self.UNK)

    def encode(self, strings: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """Encode strings as a zero-padded token matrix and their lengths.

        Parameters
        ----------
        strings : sequence of str
            Each non-empty.

        Returns
        -------
        tokens : torch.LongTensor, shape (N, T_max)
            ``tokens[i, t]`` is the id of ``strings[i][t]`` (``UNK`` = 1 if unknown)
            for ``t < len(strings[i])`` and ``PAD`` = 0 after; ``T_max`` is the longest
            length (0 when ``strings`` is empty).
        lengths : torch.LongTensor, shape (N,)

        Raises
        ------
        InputError
            If ``strings`` is a single str or holds a non-str or an empty string.
        """
        strings = _check_strings(strings, "Vocabulary.encode")
        lengths = np.fromiter((len(s) for s in strings), dtype=np.int64, count=len(strings))
        t_max = int(lengths.max()) if len(strings) else 0
        codes = np.frombuffer("".join(strings).encode("utf-32-le"), dtype=np.uint32)
        ids = np.full(len(codes), self.UNK, dtype=np.int64)
        if len(self._codes):
            pos = np.minimum(np.searchsorted(self._codes, codes), len(self._codes) - 1)
            known = self._codes[pos] == codes
            ids[known] = self._code_tokens[pos[known]]
        tokens = np.zeros((len(strings), t_max), dtype=np.int64)  # (N, T_max)
        rows = np.repeat(np.arange(len(strings)), lengths)
        starts = np.cumsum(lengths) - lengths
        cols = np.arange(len(codes)) - np.repeat(starts, lengths)
        tokens[rows, cols] = ids
        return torch.from_numpy(tokens), torch.from_numpy(lengths)

    def first_unknown(self, strings: Sequence[str]) -> tuple[int, int, str] | None:
        """``(index, position, symbol)`` of the first symbol of ``strings`` (in order) that the
        vocabulary does not know, or None if it knows them all.

        >>> Vocabulary(["a", "b"]).first_unknown(["ab", "bca", "d"])
        (1, 1, 'c')
        """
        tokens, _ = self.encode(strings)
        hits = (tokens == self.UNK).nonzero()  # (k, 2), row-major: padding is never UNK
        if not len(hits):
            return None
        index, position = hits[0].tolist()
        return index, position, strings[index][position]

    def decode(self, tokens: torch.Tensor | Sequence[int], length: int | None = None) -> str:
        """The string of the first ``length`` tokens (all of them when ``None``).

        ``UNK`` decodes to U+FFFD (the replacement character), since the symbol it
        stood for is not known.

        Raises
        ------
        InputError
            If ``length`` is out of range, or a token within it is padding or not a
            token id of this vocabulary.

        Examples
        --------
        >>> vocab = Vocabulary(["a", "b"])
        >>> vocab.decode([2, 3, 1, 0, 0], 3)
        'ab\\ufffd'
        """
        ids = torch.as_tensor(tokens).reshape(-1).tolist()
        if length is None:
            length = len(ids)
        if isinstance(length, torch.Tensor):
            length = int(length.item())
        if not is_int(length) or not 0 <= length <= len(ids):
            raise InputError(f"Vocabulary.decode: length must be an int in [0, {len(ids)}]; got {length!r}.")
        chars = []
        for t, i in enumerate(ids[:length]):
            if i == self.UNK:
                chars.append("\ufffd")
            elif 2 <= i < len(self):
                chars.append(self._symbols[i - 2])
            else:
                what = "padding" if i == self.PAD else "not a token id of this vocabulary"
                raise InputError(f"Vocabulary.decode: token {i} at position {t} is {what}.")
        return "".join(chars)
