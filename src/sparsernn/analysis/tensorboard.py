"""Export stored trials to TensorBoard, so its dashboards show a study's runs.

Every trial becomes one TensorBoard run, ``LOGDIR/<study>/<run_id>``, holding its
per-epoch metrics as scalars tagged ``<phase>/<metric>`` (``train/test_acc``,
``retrain/train_loss``, ...) at step = epoch, and its settings (the flattened trial
config, with ``kind``, ``status`` and ``parent``) as hyperparameters with the final
test accuracy as their metric, so the HParams tab compares configurations. Needs the
``tensorboard`` package (``pip install 'sparsernn[tensorboard]'``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from ..errors import InputError
from ..ids import flatten

__all__ = ["METRICS", "write_tensorboard"]

METRICS = ("train_loss", "train_acc", "test_loss", "test_acc", "val_loss", "val_acc", "nonzero_params")


def _hparam(value):
    """A value TensorBoard's HParams accepts: numbers, strings and booleans as they are,
    anything else (lists, None) as JSON text."""
    return value if isinstance(value, bool | int | float | str) else json.dumps(value)


def write_tensorboard(runs: pd.DataFrame, epochs: pd.DataFrame, logdir: str | Path) -> int:
    """Write every trial of ``runs`` (:meth:`~sparsernn.store.Store.runs`) with its rows
    of ``epochs`` (:meth:`~sparsernn.store.Store.epochs`) under ``logdir``; return the
    number of trials written."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise InputError("--tensorboard needs tensorboard: pip install 'sparsernn[tensorboard]'.") from None
    by_run = dict(tuple(epochs.groupby("run_id", sort=False)))
    for run in runs.itertuples(index=False):
        rows = by_run.get(run.run_id, epochs.iloc[:0])
        with SummaryWriter(log_dir=str(Path(logdir) / run.study / run.run_id)) as writer:
            for row in rows.itertuples(index=False):
                for metric in METRICS:
                    value = getattr(row, metric)
                    if pd.notna(value):
                        writer.add_scalar(f"{row.phase}/{metric}", float(value), int(row.epoch))
            settings = {"kind": run.kind, "status": run.status, "parent": run.parent or "",
                        **flatten(json.loads(run.config))}
            final = rows["test_acc"].dropna()
            writer.add_hparams({k: _hparam(v) for k, v in settings.items()},
                               {"final/test_acc": float(final.iloc[-1]) if len(final) else float("nan")},
                               run_name=".")
    return len(runs)
