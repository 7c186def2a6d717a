"""Neural network building blocks: masked RNN/LSTM/GRU/Linear, the sequence classifier,
GraphRNN and its packed and stacked forms, stacks of classifiers, and helpers that enumerate
masked weights and count parameters."""

from .classifier import CELLS, SequenceClassifier
from .classifier_stack import ClassifierStack
from .graph_pack import GraphRNNPack
from .graph_rnn import GraphRNN, to_graph
from .graph_stack import GraphRNNStack
from .masked import MaskedGRU, MaskedLinear, MaskedLSTM, MaskedModule, MaskedRNN, mask_name
from .weights import (
    MaskedWeight,
    ParameterCount,
    count_parameters,
    effective_parameters,
    masked_weights,
    weight_histograms,
)

__all__ = [
    "CELLS",
    "ClassifierStack",
    "GraphRNN",
    "GraphRNNPack",
    "GraphRNNStack",
    "MaskedGRU",
    "MaskedLSTM",
    "MaskedLinear",
    "MaskedModule",
    "MaskedRNN",
    "MaskedWeight",
    "ParameterCount",
    "SequenceClassifier",
    "count_parameters",
    "effective_parameters",
    "mask_name",
    "masked_weights",
    "to_graph",
    "weight_histograms",
]
