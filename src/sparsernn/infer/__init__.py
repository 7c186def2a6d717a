"""Sparse export and inference: a pruned model as a compact file, run with sparse kernels.

* :mod:`~sparsernn.infer.storage`: one masked matrix stored as CSR (int32 indices) or as
  a bitmask, with its float32 values, whichever is smaller.
* :mod:`~sparsernn.infer.model_file`: :func:`export` writes a model as a safetensors
  file (tensors and a JSON header: nothing that runs when read); :func:`load` checks
  and reads it; :func:`is_exported` tells it from a checkpoint.
* :mod:`~sparsernn.infer.engine`: :class:`SparseModel`, the model's logits computed with
  torch's CSR kernels (or, for a dense or small layer, torch's fused dense op), equal
  to the masked dense model's to float rounding.

``sparsernn export CHECKPOINT --out MODEL`` and ``sparsernn predict MODEL --input FILE``
do the same from the command line.
"""

from .engine import DENSE_ABOVE, KERNELS, SMALL, SparseModel
from .model_file import FORMAT, Exported, export, is_exported, load

__all__ = ["DENSE_ABOVE", "FORMAT", "KERNELS", "SMALL", "Exported", "SparseModel", "export", "is_exported", "load"]
