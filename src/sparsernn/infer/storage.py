"""How one masked weight matrix is stored in a model file: CSR or bitmask, whichever is smaller.

A masked ``(rows, cols)`` weight keeps the ``nnz`` values under its True mask entries,
as float32 in row-major order, and one of two index structures:

* ``"csr"``: ``crow`` (int32, ``rows + 1``: where each row's values start) and ``col``
  (int32, ``nnz``: each value's column, increasing within a row) --
  :math:`4 (\\mathit{rows} + 1) + 8\\,\\mathit{nnz}` bytes with the values;
* ``"bitmask"``: ``bits`` (uint8, :math:`\\lceil \\mathit{rows} \\cdot \\mathit{cols} / 8 \\rceil`:
  the mask flattened row-major, bit ``i % 8`` of byte ``i // 8``, unused bits 0) --
  :math:`\\lceil \\mathit{rows} \\cdot \\mathit{cols} / 8 \\rceil + 4\\,\\mathit{nnz}` bytes.

:func:`choose` picks the smaller (CSR on a tie); a bitmask wins above a density of about
1/32, CSR below it. Dense fp32 takes :math:`4\\,\\mathit{rows} \\cdot \\mathit{cols}` bytes.
:func:`decode` checks every invariant of the tensors it is given (dtypes, lengths,
index ranges, monotone ``crow``, counts against values) before it builds the
torch CSR tensor (int32 indices) the inference kernels use.

Examples
--------
>>> import torch
>>> weight = torch.arange(1.0, 7.0).reshape(2, 3)
>>> mask = torch.tensor([[True, False, True], [False, False, True]])
>>> storage_bytes("csr", (2, 3), 3), storage_bytes("bitmask", (2, 3), 3)
(36, 13)
>>> encode(weight, mask)[0]
'bitmask'
>>> kind, parts = encode(weight, mask, kind="csr")
>>> kind, parts["crow"].tolist(), parts["col"].tolist(), parts["values"].tolist()
('csr', [0, 2, 3], [0, 2, 2], [1.0, 3.0, 6.0])
>>> decode(kind, (2, 3), parts, "m.weight").to_dense()
tensor([[1., 0., 3.],
        [0., 0., 6.]])
>>> decode("bitmask", (2, 3), encode(weight, mask, kind="bitmask")[1], "m.weight").to_dense()[1]
tensor([0., 0., 6.])
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import torch
from torch import Tensor

from ..checks import check_choice
from ..errors import InputError

__all__ = ["KINDS", "PARTS", "choose", "csr_from_mask", "decode", "encode", "storage_bytes"]

KINDS = ("csr", "bitmask")
PARTS = {"csr": {"crow": torch.int32, "col": torch.int32, "values": torch.float32},
         "bitmask": {"bits": torch.uint8, "values": torch.float32}}
"""Storage kind -> the tensors it is stored as, with their dtypes (all one-dimensional)."""

_INT32_MAX = 2**31 - 1


def storage_bytes(kind: str, shape: tuple[int, int], nnz: int) -> int:
    """Bytes a ``shape`` matrix with ``nnz`` stored values takes in storage ``kind`` (values included)."""
    rows, cols = shape
    if kind == "csr":
        return 4 * (rows + 1) + 8 * nnz
    return math.ceil(rows * cols / 8) + 4 * nnz


def choose(shape: tuple[int, int], nnz: int) -> str:
    """The smaller storage kind for a ``shape`` matrix with ``nnz`` stored values (CSR on a tie).

    >>> choose((100, 100), 200), choose((100, 100), 300)
    ('csr', 'bitmask')
    """
    return "csr" if storage_bytes("csr", shape, nnz) <= storage_bytes("bitmask", shape, nnz) else "bitmask"


def encode(weight: Tensor, mask: Tensor, *, kind: str | None = None) -> tuple[str, dict[str, Tensor]]:
    """``(kind, {part: tensor})``: the values of ``weight`` under ``mask`` and their index
    structure, in ``kind`` (default: :func:`choose`'s). Values are converted to float32."""
    rows, cols = weight.shape
    mask = mask.detach().cpu().bool()
    nnz = int(mask.sum())
    if nnz > _INT32_MAX or rows * cols > 2**40:
        raise InputError(f"a {rows}x{cols} matrix with {nnz} weights is too large for int32 CSR indices.")
    kind = choose((rows, cols), nnz) if kind is None else check_choice(kind, "kind", "encode", KINDS)
    values = weight.detach().cpu().float()[mask].contiguous()  # row-major order
    if kind == "csr":
        crow = torch.zeros(rows + 1, dtype=torch.int32)
        crow[1:] = mask.sum(dim=1).cumsum(0)
        return kind, {"crow": crow, "col": mask.nonzero()[:, 1].int().contiguous(), "values": values}
    bits = np.packbits(mask.flatten().numpy(), bitorder="little")
    return kind, {"bits": torch.from_numpy(bits), "values": values}


def csr_from_mask(weight: Tensor, mask: Tensor) -> Tensor:
    """The torch CSR tensor (int32 indices, float32 values) of ``weight`` under ``mask``."""
    _, parts = encode(weight, mask, kind="csr")
    return _csr(parts["crow"], parts["col"], parts["values"], tuple(weight.shape))


def decode(kind: str, shape: tuple[int, int], parts: dict[str, Tensor], name: str) -> Tensor:
    """The torch CSR tensor (int32 indices) that ``parts`` store in ``kind`` for a ``shape``
    matrix; InputError naming the matrix ``name`` unless every invariant holds."""
    expected = PARTS[kind]
    if set(parts) != set(expected):
        raise InputError(f"matrix {name!r} ({kind}) must have the tensors {sorted(expected)}; got {sorted(parts)}.")
    for part, dtype in expected.items():
        tensor = parts[part]
        if tensor.dtype != dtype or tensor.dim() != 1:
            raise InputError(f"matrix {name!r}: {part!r} must be a one-dimensional {dtype} tensor; "
                             f"got {tensor.dtype} of shape {list(tensor.shape)}.")
    if kind == "csr":
        crow, col = _checked_csr(parts["crow"], parts["col"], parts["values"], shape, name)
    else:
        crow, col = _csr_of_bits(parts["bits"], parts["values"], shape, name)
    return _csr(crow, col, parts["values"], shape)


def _checked_csr(crow: Tensor, col: Tensor, values: Tensor, shape: tuple[int, int],
                 name: str) -> tuple[Tensor, Tensor]:
    rows, cols = shape
    problem = None
    if len(crow) != rows + 1:
        problem = f"'crow' has {len(crow)} entries for {rows} rows (expected {rows + 1})"
    elif int(crow[0]) != 0 or bool((crow[1:] < crow[:-1]).any()):
        problem = "'crow' must start at 0 and never decrease"
    elif not int(crow[-1]) == len(col) == len(values):
        problem = f"'crow' ends at {int(crow[-1])} but there are {len(col)} columns and {len(values)} values"
    elif len(col) and (int(col.min()) < 0 or int(col.max()) >= cols):
        problem = f"a column index lies outside [0, {cols})"
    else:
        starts = torch.zeros(len(col), dtype=torch.bool)
        starts[crow[:-1][crow[:-1] < crow[1:]].long()] = True  # the first value of every non-empty row
        if bool(((col[1:] <= col[:-1]) & ~starts[1:]).any()):
            problem = "the column indices of a row must increase"
    if problem:
        raise InputError(f"matrix {name!r} (csr) is damaged: {problem}.")
    return crow, col


def _csr_of_bits(bits: Tensor, values: Tensor, shape: tuple[int, int], name: str) -> tuple[Tensor, Tensor]:
    rows, cols = shape
    size = rows * cols
    if len(bits) != math.ceil(size / 8):
        raise InputError(f"matrix {name!r} (bitmask) is damaged: 'bits' has {len(bits)} bytes for "
                         f"{rows}x{cols} entries (expected {math.ceil(size / 8)}).")
    flat = np.unpackbits(bits.numpy(), bitorder="little")
    if flat[size:].any():
        raise InputError(f"matrix {name!r} (bitmask) is damaged: bits past its {size} entries are set.")
    where = np.flatnonzero(flat[:size])
    if len(where) != len(values):
        raise InputError(f"matrix {name!r} (bitmask) is damaged: {len(where)} bits set but {len(values)} values.")
    crow = torch.zeros(rows + 1, dtype=torch.int32)
    crow[1:] = torch.from_numpy(np.bincount(where // cols, minlength=rows)).cumsum(0)
    return crow, torch.from_numpy((where % cols).astype(np.int32))


def _csr(crow: Tensor, col: Tensor, values: Tensor, shape: tuple[int, int]) -> Tensor:
    with warnings.catch_warnings():  # torch's note that CSR support is in beta
        warnings.simplefilter("ignore")
        return torch.sparse_csr_tensor(crow, col, values, shape, check_invariants=True)
