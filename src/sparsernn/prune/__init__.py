"""Pruning: shrink the masks of models built from :mod:`sparsernn.nn` masked modules.

* criteria — :func:`magnitude`, :func:`random`, :func:`threshold`, and
  :func:`prune_to_sparsity` (reach a sparsity by exact counts);
* report — :func:`sparsity`, :func:`amount_for_sparsity`;
* schedules — :func:`cubic_sparsity`, :class:`GradualPruner`, :func:`iterative_sparsities`;
* rewind — :func:`rewind` (lottery-ticket reset of the weights, masks kept);
* dynamic — :class:`DynamicSparsity` (sparse training from scratch at a fixed budget: SET,
  RigL), :func:`cosine_drop_fraction`, :func:`dense_gradients`;
* interop — :func:`export_masks`, :func:`import_masks` (torch's ``<name>_mask`` convention).

``granularity`` says what one unit of removal is: ``"weight"`` (one matrix entry, the
default) or ``"connection"`` (a (unit, input) pair of a recurrent matrix: every gate's
weight for it at once, ranked by their L2 norm; for a :class:`~sparsernn.nn.GraphRNN`,
one edge of its graph).

``amount`` means one thing everywhere: a float in [0, 1], the fraction of the targeted
weights that are still unmasked to remove now, ``round(amount * remaining)`` of them per
group (see :mod:`sparsernn.prune.criteria`). Masks only shrink (except under
:class:`DynamicSparsity`, which regrows as many as it drops), weight values are never
changed (except by :func:`rewind`, and by :class:`DynamicSparsity`, which zeroes the
weights it regrows), and a call that fails leaves the model as it was.

Examples
--------
>>> from sparsernn.nn import SequenceClassifier
>>> model = SequenceClassifier("lstm", vocab_size=6, hidden_sizes=(4, 4), embedding_dim=3)
>>> _ = magnitude(model, 0.5)                       # each ih/hh matrix loses half
>>> _ = magnitude(model, 0.5)                       # half of what is left
>>> sparsity(model, targets="both")["overall"]
0.75
"""

from .criteria import CRITERIA, magnitude, prune_to_sparsity, random, threshold
from .dynamic import REGROWTH, DynamicSparsity, cosine_drop_fraction, dense_gradients
from .interop import export_masks, import_masks
from .report import amount_for_sparsity, sparsity
from .rewind import rewind
from .schedules import GradualPruner, cubic_sparsity, iterative_sparsities

__all__ = [
    "CRITERIA",
    "DynamicSparsity",
    "GradualPruner",
    "REGROWTH",
    "amount_for_sparsity",
    "cosine_drop_fraction",
    "cubic_sparsity",
    "dense_gradients",
    "export_masks",
    "import_masks",
    "iterative_sparsities",
    "magnitude",
    "prune_to_sparsity",
    "random",
    "rewind",
    "sparsity",
    "threshold",
]
