"""Character-level language modelling on English text that ships with Python.

Every Python installation carries the help texts of its statements and special methods,
:data:`pydoc_data.topics.topics` (a dict from topic name to text). Concatenated in
sorted key order with one ``"\\n"`` between them (:func:`pydoc_text`) they make a
corpus of English prose and Python code that needs no download. Python 3.11.7 ships
465,048 characters, 103 distinct, from 79 topics, at an entropy of 4.69 bits per
character over the character frequencies (:func:`unigram_entropy_bits`, the loss a
model that ignores context cannot beat); other Python versions ship slightly
different texts.

:func:`pydoc_text_dataset` cuts the text into training, validation and test parts
and those into chunks with the next character as the target at every step: the task
``"language_model"``. The parts are contiguous pieces of the text, not random chunks,
so the test text is prose the model has not seen, rather than the other half of a
sentence it was trained on.

Examples
--------
>>> text = pydoc_text()
>>> text[:22]
'The "assert" statement'
>>> round(unigram_entropy_bits("abab"), 6), round(unigram_entropy_bits("abcd"), 6)
(1.0, 2.0)
>>> data = pydoc_text_dataset(seed=0)
>>> data.name, data.task, data.classes == tuple(sorted(set(text)))
('pydoc-topics', 'language_model', True)
>>> chunk, targets = data.train.strings[0], data.train.targets[0]
>>> len(chunk), "".join(targets) == text[1:101] and chunk == text[:100]
(100, True)
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from ..checks import check_int
from ..errors import InputError
from ..seeding import derive_seed
from .sequences import StepStrings
from .strings import DatasetSplits, check_split_fractions, round_half_up

__all__ = ["BLOCKS", "pydoc_text", "pydoc_text_dataset", "unigram_entropy_bits"]

#: The number of contiguous blocks the text is cut into; the splits are made of whole blocks.
BLOCKS = 20


def pydoc_text() -> str:
    """The help texts of :data:`pydoc_data.topics.topics`, in sorted key order, joined by ``"\\n"``.

    Examples
    --------
    >>> import pydoc_data.topics
    >>> pydoc_text() == "\\n".join(pydoc_data.topics.topics[k] for k in sorted(pydoc_data.topics.topics))
    True
    """
    from pydoc_data.topics import topics

    return "\n".join(topics[key] for key in sorted(topics))


def unigram_entropy_bits(text: str) -> float:
    """The entropy of the character frequencies of ``text``, in bits per character.

    :math:`H = -\\sum_c p_c \\log_2 p_c` with :math:`p_c = n_c / N`, :math:`n_c` the count
    of character :math:`c` and :math:`N` the length of the text: the cross-entropy that
    the best model ignoring all context reaches on ``text`` itself.

    Parameters
    ----------
    text : str
        Non-empty.

    Raises
    ------
    InputError
        If ``text`` is not a non-empty str.

    Examples
    --------
    >>> unigram_entropy_bits("aaaa"), unigram_entropy_bits("ab"), round(unigram_entropy_bits("aab"), 4)
    (0.0, 1.0, 0.9183)
    """
    if not isinstance(text, str) or not text:
        raise InputError(f"The 'text' parameter of unigram_entropy_bits must be a non-empty str; got {text!r:.40}.")
    counts = np.fromiter(Counter(text).values(), dtype=np.float64)
    p = counts / len(text)
    return max(0.0, float(-(p * np.log2(p)).sum()))


def _blocks(text: str) -> list[tuple[int, int]]:
    """``(start, stop)`` of the BLOCKS blocks: equal sizes, the last takes the remainder."""
    size = len(text) // BLOCKS
    return [(k * size, (k + 1) * size if k < BLOCKS - 1 else len(text)) for k in range(BLOCKS)]


def _chunks(piece: str, length: int) -> tuple[list[str], list[tuple[str, ...]]]:
    """Inputs ``piece[i*L:(i+1)*L]`` and targets ``piece[i*L+1:(i+1)*L+1]``; the last chunk
    ends one character before the piece does, so that its last target is the piece's end."""
    inputs, targets = [], []
    for start in range(0, len(piece) - 1, length):
        stop = min(start + length, len(piece) - 1)
        inputs.append(piece[start:stop])
        targets.append(tuple(piece[start + 1:stop + 1]))
    return inputs, targets


def pydoc_text_dataset(
    *,
    seed: int,
    chunk_length: int = 100,
    validation_fraction: float = 0.05,
    test_fraction: float = 0.05,
) -> DatasetSplits:
    """Character-level language modelling on :func:`pydoc_text`, in contiguous splits.

    Parameters
    ----------
    seed : int
        Chooses the test and validation blocks, with ``derive_seed(seed, "blocks")``.
    chunk_length : int
        Steps per chunk, ``>= 2`` and at most ``len(text) // 20 - 1`` (a chunk and its
        last target must fit in one block, the smallest split's text).
    validation_fraction, test_fraction : float
        Each in [0, 1), summing to less than 1; a split gets
        ``round(fraction * 20)`` blocks (halves up), so a fraction that is not 0 must
        be at least 0.025 (one block), and the two together must leave a block for
        training. A validation fraction of 0 gives no validation split (``None``), a
        test fraction of 0 an empty test split.

    Returns
    -------
    DatasetSplits
        Named ``"pydoc-topics"``, task ``"language_model"``, classes
        ``tuple(sorted(set(text)))`` -- every character of the text, so that a test
        target is always one of the model's outputs. Each split is a
        :class:`~sparsernn.data.sequences.StepStrings` of chunks with the next
        character as the target at every step, in text order.

    Raises
    ------
    InputError
        If a parameter is out of range (see above).

    Notes
    -----
    The text is cut into 20 contiguous blocks of ``len(text) // 20`` characters, the
    last one taking the remainder. A seeded permutation of the blocks gives the first
    ``round(test_fraction * 20)`` to the test split and the next
    ``round(validation_fraction * 20)`` to the validation split; the other blocks are
    for training. With the defaults that is 18, 1 and 1 blocks.

    Each block is cut on its own into non-overlapping chunks: chunk ``i`` of a block
    ``b`` has inputs ``b[i*L:(i+1)*L]`` and targets ``b[i*L+1:(i+1)*L+1]``, the next
    character at every step, with ``L = chunk_length``. The last chunk of a block is
    shorter: its inputs stop one character before the block's end, so that its last
    target is the block's last character (a block whose remainder is a single
    character leaves no chunk for it). No chunk or target crosses a block boundary, so
    no split sees another split's text, and a block's chunks are the same whichever
    split it falls in. The inputs of a block's chunks, joined, followed by the last
    chunk's last target, give back the block.

    Training treats the chunks as independent sequences: truncated back-propagation
    through time over ``chunk_length`` characters, with the state reset at the start
    of each chunk (the state is not carried from one chunk to the next).

    Examples
    --------
    >>> data = pydoc_text_dataset(seed=0, chunk_length=1000, validation_fraction=0.0, test_fraction=0.1)
    >>> data.validation is None, len(data.train), len(data.test)
    (True, 432, 48)
    >>> pydoc_text_dataset(seed=0, chunk_length=1)
    Traceback (most recent call last):
    ...
    sparsernn.errors.InputError: The 'chunk_length' parameter of pydoc_text_dataset must be an int in [2, 23251]; got 1.
    """
    func = "pydoc_text_dataset"
    seed = check_int(seed, "seed", func)
    text = pydoc_text()
    blocks = _blocks(text)
    chunk_length = check_int(chunk_length, "chunk_length", func, minimum=2, maximum=len(text) // BLOCKS - 1)
    test_fraction, validation_fraction = check_split_fractions(test_fraction, validation_fraction, func)
    counts = {}
    for name, fraction in (("test", test_fraction), ("validation", validation_fraction)):
        counts[name] = round_half_up(fraction * BLOCKS)
        if fraction > 0 and counts[name] == 0:
            raise InputError(f"The '{name}_fraction' parameter of {func} must be 0 or at least {0.5 / BLOCKS} "
                             f"(one of {BLOCKS} blocks); got {fraction!r}.")
    if counts["test"] + counts["validation"] >= BLOCKS:
        raise InputError(
            f"The 'test_fraction' and 'validation_fraction' parameters of {func} leave no block for training: "
            f"{counts['test']} test and {counts['validation']} validation blocks of {BLOCKS}."
        )
    order = np.random.default_rng(derive_seed(seed, "blocks")).permutation(BLOCKS).tolist()
    n_test, n_val = counts["test"], counts["validation"]
    owner = {k: "test" for k in order[:n_test]} | {k: "validation" for k in order[n_test:n_test + n_val]}
    parts: dict[str, tuple[list[str], list[tuple[str, ...]]]] = {
        name: ([], []) for name in ("train", "test", "validation")
    }
    for k, (start, stop) in enumerate(blocks):
        inputs, targets = _chunks(text[start:stop], chunk_length)
        part = parts[owner.get(k, "train")]
        part[0].extend(inputs)
        part[1].extend(targets)
    splits = {name: StepStrings(tuple(inputs), tuple(targets)) for name, (inputs, targets) in parts.items()}
    return DatasetSplits(
        "pydoc-topics", splits["train"], splits["test"], splits["validation"] if n_val else None,
        tuple(sorted(set(text))), task="language_model",
    )
