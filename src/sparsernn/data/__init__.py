"""Datasets of labelled strings: the Reber grammars, CSV files, encoding and batching.

A dataset is a :class:`DatasetSplits` of :class:`LabelledStrings`; build one by name with
:func:`load_dataset` (``"reber"``, ``"embedded-reber"`` or the path of a CSV file),
encode its strings with a :class:`Vocabulary` built from the training split, and feed
them to a model with :func:`iterate_batches`.

Example
-------
>>> import torch
>>> data = load_dataset("reber", seed=0, num_strings=100)
>>> vocab = Vocabulary.from_strings(data.train.strings)
>>> inputs, lengths = vocab.encode(data.train.strings)
>>> batch = next(iterate_batches(inputs, lengths, torch.as_tensor(data.train.labels), 32))
>>> batch.inputs.shape[0], int(batch.lengths.max()) == batch.inputs.shape[1]
(32, True)
"""

from .batches import Batch, iterate_batches, num_batches
from .csv_file import csv_dataset, load_csv
from .reber import (
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
from .registry import DatasetInfo, dataset_options, dataset_source, describe_dataset, list_datasets, load_dataset
from .sequences import LabelledSequences, StepStrings
from .strings import TASKS, DatasetSplits, LabelledStrings, stratified_split
from .vocab import Vocabulary

__all__ = [
    "Batch",
    "DatasetInfo",
    "DatasetSplits",
    "FOREIGN_LETTERS",
    "LabelledSequences",
    "LabelledStrings",
    "REBER_ALPHABET",
    "StepStrings",
    "TASKS",
    "Vocabulary",
    "count_reber",
    "csv_dataset",
    "embedded_reber_dataset",
    "generate_embedded_reber",
    "generate_reber",
    "is_embedded_reber",
    "is_reber",
    "iterate_batches",
    "dataset_options",
    "dataset_source",
    "describe_dataset",
    "list_datasets",
    "load_csv",
    "load_dataset",
    "make_negatives",
    "num_batches",
    "reber_dataset",
    "stratified_split",
]
